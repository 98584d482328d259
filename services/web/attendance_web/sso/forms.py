from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, URLField
from wtforms.validators import URL, DataRequired, Email, Length, Optional


class SchoolEmailForm(FlaskForm):
    """The login page's second form: the address picks the school (by its domain), then its provider."""

    school_email = EmailField(
        "School email",
        validators=[DataRequired("Enter your school email."), Email(check_deliverability=False), Length(max=254)],
    )


class SsoSettingsForm(FlaskForm):
    issuer = URLField(
        "Issuer URL",
        validators=[Optional(), URL(require_tld=False, message="Enter the provider's issuer URL."), Length(max=300)],
    )
    client_id = StringField("Client ID", validators=[Optional(), Length(max=300)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=2000)])
    domains = StringField("Allowed e-mail domains (separated by spaces or commas)", validators=[Length(max=1000)])
    password_sign_in_off = BooleanField(
        "Password sign-in off: this school's teachers sign in only with the school account"
    )
