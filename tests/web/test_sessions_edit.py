"""Undo a mistake on a session: change its date and label, delete it, remove one of its photos."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    AuditEvent,
    DetectedFace,
    FaceEmbedding,
    Job,
    JobKind,
    JobState,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
)
from tests.factories import Seeded, add_photo_with_face, db_url, seed_session


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


@pytest.fixture()
def seeded(app, teacher) -> Seeded:
    return seed_session(app, teacher)


def _store(app):
    return app.extensions["attendance.store"]


def _count(app, model, *where) -> int:
    with session_scope(db_url(app)) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _record(app, seeded: Seeded, name: str) -> AttendanceRecord:
    with session_scope(db_url(app)) as s:
        return s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == seeded.session_id, AttendanceRecord.student_id == seeded.students[name]
            )
        )


def _succeeded_job(app, seeded: Seeded) -> None:
    """The session's first run has recorded it (records.recorded_before)."""
    with session_scope(db_url(app)) as s:
        s.add(
            Job(
                teacher_id=seeded.teacher_id,
                kind=JobKind.ATTENDANCE,
                subject_id=seeded.session_id,
                state=JobState.SUCCEEDED,
                created_at=dt.datetime(2100, 1, 1),
            )
        )


# --- date and label -------------------------------------------------------------------------------------------------


def test_the_review_page_links_to_editing_and_removing(teacher, seeded):
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert f'href="/sessions/{seeded.session_id}/edit"' in html
    assert f'href="/session-photos/{seeded.photo_id}/remove"' in html
    page = text(teacher.client.get(f"/sessions/{seeded.session_id}/edit").get_data(as_text=True))
    assert "Edit the session of 2026-11-24 · P1" in page and "Delete this session" in page


def test_change_the_date_and_label(app, teacher, seeded):
    r = teacher.client.post(f"/sessions/{seeded.session_id}/edit", data={"date": "2026-11-25", "label": " Period 2 "})
    assert r.status_code == 303 and r.location.endswith(f"/sessions/{seeded.session_id}")
    page = text(teacher.client.get(r.location).get_data(as_text=True))
    assert "Saved: the session of 2026-11-24 · P1 is now the session of 2026-11-25 · Period 2." in page
    with session_scope(db_url(app)) as s:
        att = s.get(AttendanceSession, seeded.session_id)
        assert (att.date, att.label) == (dt.date(2026, 11, 25), "Period 2")
    # Its marks stay.
    assert _record(app, seeded, "Ann").status == AttendanceStatus.PRESENT


def test_a_date_and_label_taken_by_another_session_is_refused_in_words(app, teacher, seeded):
    with session_scope(db_url(app)) as s:
        s.add(AttendanceSession(course_id=seeded.course_id, date=dt.date(2026, 11, 25), label="P1"))
    r = teacher.client.post(f"/sessions/{seeded.session_id}/edit", data={"date": "2026-11-25", "label": "P1"})
    assert r.status_code == 400
    page = text(r.get_data(as_text=True))
    assert "This course already has a session of 2026-11-25 · P1. Choose another label" in page
    r = teacher.client.post(f"/sessions/{seeded.session_id}/edit", data={"date": "", "label": "P1"})
    assert r.status_code == 400 and "Choose the date of the lesson." in r.get_data(as_text=True)
    with session_scope(db_url(app)) as s:
        assert s.get(AttendanceSession, seeded.session_id).date == dt.date(2026, 11, 24)


# --- delete a session -----------------------------------------------------------------------------------------------


def test_deleting_a_session_says_what_goes_then_removes_it_everywhere(app, teacher, seeded):
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")  # Ben's face joins his gallery; a history row
    _succeeded_job(app, seeded)
    with session_scope(db_url(app)) as s:
        key = s.get(SessionPhoto, seeded.photo_id).storage_key
        record_ids = list(
            s.scalars(select(AttendanceRecord.id).where(AttendanceRecord.session_id == seeded.session_id))
        )
    assert _store(app).exists(key) and _count(app, AttendanceChange, AttendanceChange.record_id.in_(record_ids)) == 1
    page = text(teacher.client.get(f"/sessions/{seeded.session_id}/delete").get_data(as_text=True))
    assert (
        "This deletes the session of 2026-11-24 · P1: 1 photo, 4 faces and the marks of 3 students." in page
        and "1 face that was learned from these photos will no longer help recognise the students." in page
        and "Reports will no longer count it." in page
    )
    assert _count(app, AttendanceSession, AttendanceSession.id == seeded.session_id) == 1  # a GET removes nothing
    report = text(teacher.client.get(f"/reports/courses/{seeded.course_id}").get_data(as_text=True))
    assert "1 session(s)" in report

    r = teacher.client.post(f"/sessions/{seeded.session_id}/delete")
    assert r.status_code == 303 and r.location.endswith(f"/courses/{seeded.course_id}")
    page = text(teacher.client.get(r.location).get_data(as_text=True))
    assert "The session of 2026-11-24 · P1 was deleted: 1 photo, 4 faces and the marks of 3 students." in page
    assert _count(app, AttendanceSession, AttendanceSession.id == seeded.session_id) == 0
    assert _count(app, SessionPhoto, SessionPhoto.session_id == seeded.session_id) == 0
    assert _count(app, DetectedFace, DetectedFace.id.in_(seeded.faces.values())) == 0
    assert _count(app, AttendanceRecord, AttendanceRecord.session_id == seeded.session_id) == 0
    assert _count(app, AttendanceChange, AttendanceChange.record_id.in_(record_ids)) == 0
    assert _count(app, FaceEmbedding, FaceEmbedding.student_id == seeded.students["Ben"]) == 0
    assert _count(app, Job, Job.kind == JobKind.ATTENDANCE, Job.subject_id == seeded.session_id) == 0
    assert not _store(app).exists(key)
    with session_scope(db_url(app)) as s:
        [event] = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "session_deleted", AuditEvent.teacher_id == seeded.teacher_id)
        ).all()
        assert f"session_id={seeded.session_id} course_id={seeded.course_id}" in event.detail
    # No rate counts it any more.
    report = text(teacher.client.get(f"/reports/courses/{seeded.course_id}").get_data(as_text=True))
    assert "0 session(s)" in report
    assert teacher.client.get(f"/sessions/{seeded.session_id}").status_code == 404


def test_a_session_in_recognition_is_not_deleted(app, teacher, seeded):
    with session_scope(db_url(app)) as s:
        s.get(SessionPhoto, seeded.photo_id).status = SessionPhotoStatus.MATCHING
    for url in (f"/sessions/{seeded.session_id}/delete", f"/session-photos/{seeded.photo_id}/remove"):
        r = teacher.client.post(url)
        assert r.status_code == 303
        page = text(teacher.client.get(r.location).get_data(as_text=True))
        assert "Recognition is still running on this session's photos. Wait until it has finished" in page
    assert _count(app, SessionPhoto, SessionPhoto.id == seeded.photo_id) == 1


def test_another_teachers_session_and_photo_are_404(app, teacher, teacher_factory, seeded):
    other = teacher_factory("Bob")
    for url in (
        f"/sessions/{seeded.session_id}/edit",
        f"/sessions/{seeded.session_id}/delete",
        f"/session-photos/{seeded.photo_id}/remove",
    ):
        assert other.client.get(url).status_code == 404
        assert other.client.post(url, data={"date": "2026-11-25"}).status_code == 404
    assert _count(app, SessionPhoto, SessionPhoto.id == seeded.photo_id) == 1


# --- remove one photo -----------------------------------------------------------------------------------------------


def test_removing_a_photo_merges_the_attendance_again_and_keeps_every_hand_mark(app, teacher, seeded):
    """Photo 1: Ann recognised (0.80), Ben confirmed by the teacher, Cat marked excused by hand. Photo 2: Ann (0.70).
    Without photo 1, Ann stays present from photo 2, Ben has no face left (automatic absent, as on a first run),
    Cat stays excused."""
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{seeded.students['Cat']}/mark", data={"status": "excused"}
    )
    later_face, later_key = add_photo_with_face(app, seeded, "Ann")
    _succeeded_job(app, seeded)
    with session_scope(db_url(app)) as s:
        key = s.get(SessionPhoto, seeded.photo_id).storage_key

    page = text(teacher.client.get(f"/session-photos/{seeded.photo_id}/remove").get_data(as_text=True))
    assert "This removes room.jpg and its 4 faces from the session." in page
    assert "The 2 marks found on it will be decided again from the photos that remain." in page
    assert "Marks you made by hand stay as they are." in page

    r = teacher.client.post(f"/session-photos/{seeded.photo_id}/remove")
    assert r.status_code == 303 and r.location.endswith(f"/sessions/{seeded.session_id}")
    page = text(teacher.client.get(r.location).get_data(as_text=True))
    assert "room.jpg was removed from the session with its 4 faces." in page
    assert "Attendance merged again from the photos that remain: Ben: present → absent." in page

    ann, ben, cat = (_record(app, seeded, n) for n in ("Ann", "Ben", "Cat"))
    assert (ann.status, ann.source, ann.detected_face_id) == (AttendanceStatus.PRESENT, RecordSource.AUTO, later_face)
    assert (ben.status, ben.source, ben.detected_face_id) == (AttendanceStatus.ABSENT, RecordSource.AUTO, None)
    assert (cat.status, cat.source) == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)
    with session_scope(db_url(app)) as s:
        notes = s.scalars(select(AttendanceChange.note).where(AttendanceChange.record_id == ben.id)).all()
    assert notes[-1] == "room.jpg removed from the session"
    assert _count(app, SessionPhoto, SessionPhoto.id == seeded.photo_id) == 0
    assert _count(app, DetectedFace, DetectedFace.id.in_(seeded.faces.values())) == 0
    assert _count(app, FaceEmbedding, FaceEmbedding.student_id == seeded.students["Ben"]) == 0
    assert not _store(app).exists(key) and _store(app).exists(later_key)
    assert (
        _count(
            app, AuditEvent, AuditEvent.action == "session_photo_deleted", AuditEvent.teacher_id == seeded.teacher_id
        )
        == 1
    )


def test_removing_the_photo_of_a_session_never_recorded_leaves_a_faceless_mark_absent(app, teacher, seeded):
    """No run has succeeded yet (its job failed): Ann's automatic present stood on a face of the removed photo."""
    r = teacher.client.post(f"/session-photos/{seeded.photo_id}/remove")
    assert r.status_code == 303
    ann = _record(app, seeded, "Ann")
    assert (ann.status, ann.source, ann.detected_face_id) == (AttendanceStatus.ABSENT, RecordSource.AUTO, None)
    assert _record(app, seeded, "Ben").status == AttendanceStatus.ABSENT
