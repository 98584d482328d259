from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional


class SessionForm(FlaskForm):
    date = DateField("Date", default=dt.date.today, validators=[DataRequired()])
    label = StringField("Label (e.g. Period 3)", validators=[Optional(), Length(max=80)])
    photos = MultipleFileField("Classroom photos", validators=[FileRequired("Choose at least one classroom photo.")])
