from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from attendance_shared.models import AttendanceStatus

from ..ids import MAX_ID


class SessionForm(FlaskForm):
    """A new session (date and label), or more photos for an existing one (`session_id`, then the date
    and label are not used). Without `session_id` a new session is always made, never merged into one."""

    date = DateField("Date", default=dt.date.today, validators=[Optional()], render_kw={"required": True})
    label = StringField("Label (e.g. Period 3)", validators=[Optional(), Length(max=80)])
    photos = MultipleFileField("Classroom photos", validators=[FileRequired("Choose at least one classroom photo.")])
    # Sent by session.js for every batch but the last when many photos are split over several
    # requests: the photos are stored now, recognition starts with the last batch (one job, not many).
    hold = BooleanField("Wait for more photos", default=False)
    session_id = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(1, MAX_ID)])

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        """The date is needed only for a new session."""
        ok = super().validate(extra_validators)
        if self.session_id.data is None and self.date.data is None and not self.date.errors:
            self.date.errors = [*self.date.errors, "Choose the date of the lesson."]
            return False
        return ok


class ActionForm(FlaskForm):
    """Only the CSRF token: confirm or reject a face."""


class AssignFaceForm(FlaskForm):
    student_id = IntegerField(
        "Who is this?",
        validators=[InputRequired("Choose the student this face belongs to."), NumberRange(1, MAX_ID)],
    )


class MarkForm(FlaskForm):
    status = RadioField(
        "Attendance",
        choices=[s.value for s in AttendanceStatus],
        validators=[InputRequired("Choose present, late, absent or excused.")],
    )
    note = StringField("Note (optional)", validators=[Optional(), Length(max=200)])
