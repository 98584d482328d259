from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from attendance_shared.models import AttendanceStatus


class SessionForm(FlaskForm):
    date = DateField("Date", default=dt.date.today, validators=[DataRequired()])
    label = StringField("Label (e.g. Period 3)", validators=[Optional(), Length(max=80)])
    photos = MultipleFileField("Classroom photos", validators=[FileRequired("Choose at least one classroom photo.")])
    # Sent by session.js for every batch but the last when many photos are split over several
    # requests: the photos are stored now, recognition starts with the last batch (one job, not many).
    hold = BooleanField("Wait for more photos", default=False)


class ActionForm(FlaskForm):
    """Only the CSRF token: confirm or reject a face."""


class AssignFaceForm(FlaskForm):
    student_id = IntegerField("Who is this?", validators=[InputRequired("Choose the student this face belongs to.")])


class MarkForm(FlaskForm):
    status = RadioField(
        "Attendance",
        choices=[s.value for s in AttendanceStatus],
        validators=[InputRequired("Choose present, absent or excused.")],
    )
    note = StringField("Note (optional)", validators=[Optional(), Length(max=200)])
