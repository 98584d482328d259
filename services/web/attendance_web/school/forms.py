from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from attendance_shared.models import TeacherRole

from ..auth.forms import GuessablePasswordRefused


class InviteForm(FlaskForm):
    email = EmailField(
        "Teacher's school email",
        validators=[DataRequired("Enter the teacher's email."), Email(check_deliverability=False), Length(max=254)],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice(TeacherRole.TEACHER.value, "Teacher"),
            SelectChoice(TeacherRole.ADMIN.value, "Admin (also manages teachers)"),
        ],
        default=TeacherRole.TEACHER.value,
    )


class JoinForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), GuessablePasswordRefused("name")])
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), GuessablePasswordRefused()])
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )
