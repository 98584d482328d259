"""The student page's portrait upload; the student's own fields are courses.forms.StudentForm."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField


class PhotoForm(FlaskForm):
    photos = MultipleFileField("Portrait photos (1 to 5)", validators=[FileRequired("Choose at least one photo.")])
