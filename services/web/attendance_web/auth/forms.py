from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from .passwords import password_problem


class GuessablePasswordRefused:
    """The password policy (auth.passwords) as a form validator. `personal` names the form's fields a guesser would
    try first (the teacher's name, email); the signed-in teacher's own name and email are always among them."""

    def __init__(self, *personal: str) -> None:
        self.personal = personal

    def __call__(self, form: BaseForm, field: Field) -> None:
        known = [str(form[name].data or "") for name in self.personal if name in form]
        if current_user and current_user.is_authenticated:
            known += [current_user.name, current_user.email]
        problem = password_problem(field.data or "", known)
        if problem:
            raise ValidationError(problem)


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("School email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), GuessablePasswordRefused("name", "email")])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )
    school_name = StringField("Your school (you can invite its other teachers next)", validators=[Length(max=120)])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this device for 30 days")


class CodeForm(FlaskForm):
    """The 6-digit code of an authenticator app (auth.two_step)."""

    code = StringField(
        "Code from your authenticator app", validators=[DataRequired("Type the 6-digit code."), Length(max=20)]
    )
