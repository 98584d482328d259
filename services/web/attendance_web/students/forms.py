from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional


class StudentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    student_number = StringField("Student number", validators=[DataRequired(), Length(max=40)])
    email = EmailField("Email (optional)", validators=[Optional(), Email(check_deliverability=False), Length(max=254)])


class PhotoForm(FlaskForm):
    photos = MultipleFileField("Portrait photos (1 to 5)", validators=[FileRequired("Choose at least one photo.")])
