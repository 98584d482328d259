from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ImportForm(FlaskForm):
    roster_csv = FileField(
        "Student list (CSV file)", validators=[FileRequired("Choose the CSV file with your students.")]
    )
    photos_zip = FileField("Portraits (ZIP file, optional)")


class ImportActionForm(FlaskForm):
    """Only the CSRF token: for the Confirm and Cancel buttons."""
