from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional


class CourseForm(FlaskForm):
    name = StringField("Course name", validators=[DataRequired(), Length(max=120)])
    code = StringField("Code (optional)", validators=[Optional(), Length(max=40)])


class DeleteForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
