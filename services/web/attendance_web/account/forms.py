from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange

from ..auth.forms import GuessablePasswordRefused

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 3650


class TokenForm(FlaskForm):
    name = StringField(
        "Token name (what will use it, e.g. “Moodle sync”)",
        validators=[DataRequired("Give the token a name."), Length(max=80)],
    )
    #: a one-time nonce (account.views): a reload of the answer resends it, spent, and creates nothing
    nonce = HiddenField()


class RevokeTokenForm(FlaskForm):
    """The token id travels in the form; the query filters by owner, so a forged id finds nothing."""

    token_id = HiddenField(validators=[DataRequired()])


class RetentionForm(FlaskForm):
    photo_retention_days = IntegerField(
        "Keep classroom photos for (days)",
        validators=[
            InputRequired("Enter a number of days."),
            NumberRange(
                MIN_RETENTION_DAYS,
                MAX_RETENTION_DAYS,
                f"Choose between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS} days.",
            ),
        ],
    )


class PasswordForm(FlaskForm):
    """The same policy as signing up (auth.passwords)."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), GuessablePasswordRefused()],
    )
    repeat = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")]
    )


class TwoStepConfirmForm(FlaskForm):
    """A current code proves the authenticator app holds the new secret (auth.two_step)."""

    code = StringField(
        "The 6-digit code your app shows now", validators=[DataRequired("Type the 6-digit code."), Length(max=20)]
    )


class TwoStepOffForm(FlaskForm):
    """Turning two-step sign-in off needs both: a session left open is not enough, nor is a password alone."""

    password = PasswordField("Your password", validators=[DataRequired("Enter your password."), Length(max=200)])
    code = StringField(
        "A code from your authenticator app", validators=[DataRequired("Type the 6-digit code."), Length(max=20)]
    )
