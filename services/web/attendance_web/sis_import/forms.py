from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField
from wtforms.validators import DataRequired, ValidationError

MAX_EXPORT_DAYS = 400


class SisUploadForm(FlaskForm):
    roster_zip = FileField(
        "OneRoster file set (ZIP)", validators=[FileRequired("Choose the OneRoster ZIP exported from your SIS.")]
    )


class SisActionForm(FlaskForm):
    """Only the CSRF token: for the Confirm and Cancel buttons."""


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET download that changes nothing

    start = DateField("From", validators=[DataRequired("Enter the first day.")])
    end = DateField("To (inclusive)", validators=[DataRequired("Enter the last day.")])

    def validate_end(self, field: DateField) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError("The last day comes before the first.")
        if self.start.data and field.data and field.data - self.start.data > dt.timedelta(days=MAX_EXPORT_DAYS):
            raise ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at a time.")
