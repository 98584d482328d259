"""Every moment on a page is a <time datetime="...Z"> element with its UTC text (correct without script;
static/times.js turns it into the reader's local time); a session's date is a day, never a moment."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    ApiToken,
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Job,
    JobKind,
    JobState,
    RecordSource,
    RosterImport,
    Teacher,
)
from attendance_web.times import utc_iso, utc_time

MOMENT = dt.datetime(2026, 12, 7, 7, 50, 12, 345678, tzinfo=dt.UTC)
TIME_TAG = '<time datetime="2026-12-07T07:50:12Z">2026-12-07 07:50 UTC</time>'


def _url(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def seed_moments(app, tc, moment: dt.datetime = MOMENT) -> tuple[int, int]:
    """A course with one session (7 Dec 2026) whose history, job, roster import and API token all happened at
    `moment`: (course id, session id)."""
    course_id = tc.create_course("Chemistry")
    student_id = tc.add_student(course_id, "Dora", "N-1")
    with session_scope(_url(app)) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == tc.email))
        att = AttendanceSession(course_id=course_id, date=dt.date(2026, 12, 7), label="P1")
        s.add(att)
        s.flush()
        record = AttendanceRecord(
            session_id=att.id, student_id=student_id, status=AttendanceStatus.PRESENT, source=RecordSource.MANUAL
        )
        s.add(record)
        s.flush()
        s.add(
            AttendanceChange(
                record_id=record.id,
                changed_by_id=teacher_id,
                changed_at=moment,
                from_status="absent",
                to_status="present",
                note="Marked by hand",
            )
        )
        s.add(
            Job(
                teacher_id=teacher_id,
                kind=JobKind.ATTENDANCE,
                subject_id=att.id,
                state=JobState.SUCCEEDED,
                progress=100,
                created_at=moment,
            )
        )
        s.add(RosterImport(teacher_id=teacher_id, course_id=course_id, csv_key="x.csv", created_at=moment))
        s.add(
            ApiToken(
                teacher_id=teacher_id,
                name="LMS",
                token_hash=uuid.uuid4().hex * 2,
                prefix="att_ffff",
                created_at=moment,
                last_used_at=moment,
            )
        )
        return course_id, att.id


def test_the_filter_writes_utc_iso_and_utc_text():
    assert str(utc_time(MOMENT)) == TIME_TAG
    naive = MOMENT.replace(tzinfo=None)  # as SQLite gives it back: UTC without a zone
    assert str(utc_time(naive)) == TIME_TAG
    paris = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert str(utc_time(paris)) == TIME_TAG and utc_iso(paris) == "2026-12-07T07:50:12Z"
    assert str(utc_time(None, "never")) == "never" and str(utc_time(None, "<b>")) == "&lt;b&gt;"


def test_every_page_with_moments_writes_time_elements(app, teacher):
    course_id, session_id = seed_moments(app, teacher)
    pages = {
        "review history": f"/sessions/{session_id}",
        "dashboard jobs": "/",
        "api tokens": "/settings",
        "roster imports": f"/courses/{course_id}/roster",
    }
    for what, url in pages.items():
        r = teacher.client.get(url)
        assert r.status_code == 200, what
        html = r.get_data(as_text=True)
        assert TIME_TAG in html, what
        # Every UTC text is inside a <time> with an ISO 8601 UTC datetime, and the page loads times.js.
        assert html.count(" UTC</time>") == html.count(" UTC"), what
        for iso in re.findall(r'<time datetime="([^"]+)"', html):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", iso), (what, iso)
        assert '<script src="/static/times.js"></script>' in html, what
    # A session's date is a day: shown as it is, not as a moment to shift.
    review = teacher.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "<h1>2026-12-07 · P1</h1>" in review
