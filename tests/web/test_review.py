"""Review and correction of a session, on faces seeded straight into the database (no worker needed)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from attendance_shared import records
from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    FaceReview,
    PhotoStatus,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
    Student,
    StudentPhoto,
    Teacher,
)
from tests.factories import DIM, MODEL, Seeded, add_photo_with_face, db_url, face_vector, seed_session


def text(html: str) -> str:
    """What a reader sees: tags removed, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.fixture()
def seeded(app, teacher):
    return seed_session(app, teacher)


def record(app, seeded: Seeded, name: str) -> AttendanceRecord:
    with session_scope(db_url(app)) as s:
        return s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == seeded.session_id,
                AttendanceRecord.student_id == seeded.students[name],
            )
        )


def face_row(app, face_id: int) -> DetectedFace:
    with session_scope(db_url(app)) as s:
        return s.get(DetectedFace, face_id)


def changes(app, seeded: Seeded, name: str) -> list[AttendanceChange]:
    with session_scope(db_url(app)) as s:
        return list(
            s.scalars(
                select(AttendanceChange)
                .join(AttendanceRecord, AttendanceRecord.id == AttendanceChange.record_id)
                .where(
                    AttendanceRecord.session_id == seeded.session_id,
                    AttendanceRecord.student_id == seeded.students[name],
                )
                .order_by(AttendanceChange.id)
            )
        )


def gallery(app, face_id: int) -> list[FaceEmbedding]:
    with session_scope(db_url(app)) as s:
        return list(s.scalars(select(FaceEmbedding).where(FaceEmbedding.detected_face_id == face_id)))


# --- the page ----------------------------------------------------------------------------------------


def test_review_page_shows_faces_to_confirm_first_then_photos_and_roster(teacher, seeded):
    page = teacher.client.get(f"/sessions/{seeded.session_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    confirm_at, photos_at, roster_at = (
        html.index('id="confirm"'),
        html.index('id="photos-title"'),
        html.index('id="roster-title"'),
    )
    assert confirm_at < photos_at < roster_at
    confirm_section = html[confirm_at:photos_at]
    # Most likely first: Cat (0.45) before Ben (0.40); one click each to confirm or reject.
    assert confirm_section.index("Is this <strong>Cat</strong>") < confirm_section.index("Is this <strong>Ben</strong>")
    assert f'action="/faces/{seeded.faces["cat"]}/confirm"' in confirm_section
    assert f'action="/faces/{seeded.faces["ben"]}/reject"' in confirm_section
    # Boxes drawn over the photo in its own pixels, with a distinct look per kind and names + scores.
    assert 'viewBox="0 0 640 480"' in html
    assert 'class="face face--matched"' in html and "Ann 0.80" in html
    assert html.count('class="face face--confirm"') == 2
    assert 'class="face face--unknown"' in html
    assert f'href="#face-{seeded.faces["stranger"]}"' in html
    assert 'aria-label="Classroom photo 1: room.jpg"' in html
    # Unconfirmed students are not present, nor absent: they wait for the teacher, with a link to their face.
    assert "1 present" in html and "0 absent" in html
    for name in ("ben", "cat"):
        link = f'href="/sessions/{seeded.session_id}#confirm-{seeded.faces[name]}">'
        assert link + "waiting for your confirmation" in html
    assert "review.css" in html and "review.js" in html and "<script>" not in html


def test_students_without_a_usable_portrait_are_named_not_silently_absent(app, teacher, seeded):
    """Nobody in the seeded course has an accepted portrait: Ben and Cat are "absent" only because recognition
    could not look for them, and the page says so; a portrait makes that note go."""
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    note = html[html.index('id="unrecognisable"') :]
    note = note[: note.index("</p>")]
    assert "2 students cannot be recognised yet" in note and ">Ben</a>" in note and ">Cat</a>" in note
    assert ">Ann</a>" not in note  # present: a face was matched to her
    # Ben and Cat each have a face waiting in "please confirm": their rows say so (not "no usable portrait")
    assert html.count("waiting for your confirmation</a>") == 2
    with session_scope(db_url(app)) as s:
        s.add(
            StudentPhoto(
                student_id=seeded.students["Ben"],
                storage_key=f"student_photos/ben-{seeded.session_id}.jpg",
                original_filename="ben.jpg",
                content_type="image/jpeg",
                width=100,
                height=100,
                status=PhotoStatus.ACCEPTED,
            )
        )
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "1 student cannot be recognised yet" in html and ">Ben</a>" not in html


def test_a_photo_without_faces_says_so(app, teacher, seeded):
    with session_scope(db_url(app)) as s:
        s.get(SessionPhoto, seeded.photo_id).face_count = 0
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "no faces found: is the class in the picture, and well lit?" in html and "0 faces" not in html


def test_the_teachers_note_reaches_the_reports(app, teacher, seeded):
    import csv

    ben = seeded.students["Ben"]
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{ben}/mark", data={"status": "excused", "note": "Dentist"}
    )
    r = teacher.client.get(f"/reports/sessions/{seeded.session_id}/export?format=csv")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    header = rows[0]
    ben_row = next(row for row in rows if row[0] == "Ben")
    assert header[header.index("How")] == "How" and ben_row[header.index("How")].startswith("decided by the teacher")
    assert ben_row[header.index("Note")] == "Dentist"
    assert "Dentist" in teacher.client.get(f"/reports/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "Dentist" in teacher.client.get(f"/reports/students/{ben}").get_data(as_text=True)
    long_note = "Arrived ten minutes late after the school bus broke down near the station; no need to call home"
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{ben}/mark", data={"status": "present", "note": long_note}
    )
    pdf = teacher.client.get(f"/reports/sessions/{seeded.session_id}/export?format=pdf").data
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "no need to call home" in text  # wrapped in its cell, not cut


def test_the_report_counts_unknown_faces_as_the_review_page_does(app, teacher, seeded):
    """A rejected match is not an unknown face (records.FaceKind): one unknown face on the review page, in the
    session report, the status JSON and the API alike, after Ben's proposed face is rejected."""
    teacher.client.post(f"/faces/{seeded.faces['ben']}/reject")
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    report = teacher.client.get(f"/reports/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "1 unknown face<" in page and "2 unknown faces" not in page and "Unknown faces (1)" in report
    status = teacher.client.get(f"/sessions/{seeded.session_id}/status.json").get_json()
    assert status["unknown"] == 1 and status["to_confirm"] == 1


def test_page_escapes_names(app, teacher):
    seeded = seed_session(app, teacher)
    with session_scope(db_url(app)) as s:
        s.get(Student, seeded.students["Ann"]).name = "<script>alert(1)</script>"
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- confirm and reject ------------------------------------------------------------------------------


def test_confirm_makes_the_student_present_and_adds_the_face_to_the_gallery(app, teacher, seeded):
    assert record(app, seeded, "Ben").status == AttendanceStatus.ABSENT  # not present until confirmed
    r = teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    assert r.status_code == 303
    assert r.location.endswith(f"/sessions/{seeded.session_id}#face-{seeded.faces['ben']}")
    rec = record(app, seeded, "Ben")
    assert rec.status == AttendanceStatus.PRESENT and rec.source == RecordSource.MANUAL
    assert rec.updated_by_id == seeded.teacher_id and rec.detected_face_id == seeded.faces["ben"]
    face = face_row(app, seeded.faces["ben"])
    assert face.review == FaceReview.CONFIRMED and face.student_id == seeded.students["Ben"]
    [emb] = gallery(app, seeded.faces["ben"])
    assert (emb.student_id, emb.model_id, emb.dim, emb.vector) == (seeded.students["Ben"], MODEL, DIM, face_vector(1.0))
    [change] = changes(app, seeded, "Ben")
    assert (change.from_status, change.to_status, change.changed_by_id) == ("absent", "present", seeded.teacher_id)
    assert "Confirmed face 2 in room.jpg" in change.note
    # A second click changes nothing more.
    assert teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm").status_code == 303
    assert len(changes(app, seeded, "Ben")) == 1 and len(gallery(app, seeded.faces["ben"])) == 1
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "Is this <strong>Ben</strong>" not in html and "Is this <strong>Cat</strong>" in html


def test_reject_a_confirm_face_keeps_the_student_absent_and_automatic(app, teacher, seeded):
    r = teacher.client.post(f"/faces/{seeded.faces['cat']}/reject", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json()["message"] == "Noted: that face is not Cat."
    face = face_row(app, seeded.faces["cat"])
    assert face.review == FaceReview.REJECTED and face.student_id is None
    rec = record(app, seeded, "Cat")
    assert rec.status == AttendanceStatus.ABSENT and rec.source == RecordSource.AUTO
    # Cat was waiting for this answer: "unconfirmed -> absent" is the teacher's decision (not "absent -> absent")
    [change] = changes(app, seeded, "Cat")
    assert (change.from_status, change.to_status) == ("unconfirmed", "absent")
    assert change.note == "Rejected face 3 in room.jpg (not Cat)"
    assert gallery(app, seeded.faces["cat"]) == []


def test_reject_a_match_takes_the_present_mark_away(app, teacher, seeded):
    teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    rec = record(app, seeded, "Ann")
    # "That face isn't Ann" is not "Ann is absent": the absent mark is the photos' own, not a hand mark.
    assert rec.status == AttendanceStatus.ABSENT and rec.source == RecordSource.AUTO
    assert rec.detected_face_id is None
    face = face_row(app, seeded.faces["ann"])
    assert face.review == FaceReview.REJECTED and face.student_id is None
    [change] = changes(app, seeded, "Ann")
    assert (change.from_status, change.to_status) == ("present", "absent")


def test_reject_a_match_keeps_present_when_another_face_supports_it(app, teacher, seeded):
    with session_scope(db_url(app)) as s:
        other = DetectedFace(
            session_photo_id=seeded.photo_id,
            face_index=4,
            box=[10, 300, 90, 380],
            detection_score=0.9,
            decision=FaceDecision.PRESENT,
            student_id=seeded.students["Ann"],
            candidate_student_id=seeded.students["Ann"],
            similarity=0.7,
            model_id=MODEL,
        )
        s.add(other)
        s.flush()
        other_id = other.id
    r = teacher.client.post(f"/faces/{seeded.faces['ann']}/reject", headers={"Accept": "application/json"})
    assert r.get_json()["message"] == "Ann stays present (another face supports it)."
    rec = record(app, seeded, "Ann")
    assert rec.status == AttendanceStatus.PRESENT and rec.detected_face_id == other_id
    assert rec.source == RecordSource.AUTO  # still from the photos, not "marked by hand"
    assert changes(app, seeded, "Ann") == []  # "present -> present" changes nothing: no history row


def test_after_a_rejection_a_later_photo_can_still_mark_the_student_present(app, teacher, seeded):
    """The teacher's walkthrough: "Not Ann" on a wrong match, then a photo added where Ann is recognised."""
    teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    later, _ = add_photo_with_face(app, seeded, "Ann", 0.81)
    with session_scope(db_url(app)) as s:  # the worker's merge after the added photo
        records.merge_records(s, s.get(AttendanceSession, seeded.session_id))
    rec = record(app, seeded, "Ann")
    assert rec.status == AttendanceStatus.PRESENT and rec.source == RecordSource.AUTO
    assert rec.detected_face_id == later
    # The rejected face stays rejected and supports nobody.
    face = face_row(app, seeded.faces["ann"])
    assert face.review == FaceReview.REJECTED and face.student_id is None
    html = text(teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True))
    assert "your mark stays" not in html


@pytest.mark.parametrize("status", ["absent", "excused", "present"])
def test_rejection_keeps_a_mark_given_by_hand(app, teacher, seeded, status):
    """A mark from the Present / Absent / Excused buttons is the teacher's: no rejection or photo changes it."""
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{seeded.students['Ann']}/mark",
        data={"status": status, "note": "checked at the door"},  # a note makes even "present" a hand mark
    )
    teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    rec = record(app, seeded, "Ann")
    assert rec.status == AttendanceStatus(status) and rec.source == RecordSource.MANUAL
    add_photo_with_face(app, seeded, "Ann", 0.81)
    with session_scope(db_url(app)) as s:
        records.merge_records(s, s.get(AttendanceSession, seeded.session_id))
    rec = record(app, seeded, "Ann")
    assert rec.status == AttendanceStatus(status) and rec.source == RecordSource.MANUAL


@pytest.mark.parametrize("action", ["reject", "assign"])
def test_taking_a_face_from_a_student_without_a_record_creates_none(app, teacher, seeded, action):
    """The first job has written Ann's face but not yet the records when the teacher says "Not Ann" (or gives the
    face to Ben): only the face changes; the job's merge writes her record from the faces as they are then."""
    with session_scope(db_url(app)) as s:
        s.delete(s.scalar(select(AttendanceRecord).where(AttendanceRecord.student_id == seeded.students["Ann"])))
    url = f"/faces/{seeded.faces['ann']}/{action}"
    form = {"student_id": seeded.students["Ben"]} if action == "assign" else {}
    r = teacher.client.post(url, data=form, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert record(app, seeded, "Ann") is None
    assert changes(app, seeded, "Ann") == []
    face = face_row(app, seeded.faces["ann"])
    if action == "reject":
        assert r.get_json()["message"] == "Noted: that face is not Ann (Ann has no mark in this session yet)."
        assert face.review == FaceReview.REJECTED and face.student_id is None
        assert gallery(app, seeded.faces["ann"]) == []
    else:
        assert face.review == FaceReview.ASSIGNED and face.student_id == seeded.students["Ben"]
        assert record(app, seeded, "Ben").status == AttendanceStatus.PRESENT


def test_rejecting_a_confirmed_face_returns_the_record_to_automatic(app, teacher, seeded):
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    assert record(app, seeded, "Ben").source == RecordSource.MANUAL
    teacher.client.post(f"/faces/{seeded.faces['ben']}/reject")
    rec = record(app, seeded, "Ben")
    assert rec.status == AttendanceStatus.ABSENT and rec.source == RecordSource.AUTO
    assert [(c.from_status, c.to_status) for c in changes(app, seeded, "Ben")] == [
        ("absent", "present"),
        ("present", "absent"),
    ]


def test_rejecting_a_confirmed_face_removes_it_from_the_gallery(app, teacher, seeded):
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    assert len(gallery(app, seeded.faces["ben"])) == 1
    teacher.client.post(f"/faces/{seeded.faces['ben']}/reject")
    assert gallery(app, seeded.faces["ben"]) == []
    assert record(app, seeded, "Ben").status == AttendanceStatus.ABSENT
    assert [(c.from_status, c.to_status) for c in changes(app, seeded, "Ben")] == [
        ("absent", "present"),
        ("present", "absent"),
    ]


# --- assign -------------------------------------------------------------------------------------------


def test_assign_an_unknown_face(app, teacher, seeded):
    stranger = seeded.faces["stranger"]
    r = teacher.client.post(f"/faces/{stranger}/assign", data={"student_id": seeded.students["Cat"]})
    assert r.status_code == 303
    rec = record(app, seeded, "Cat")
    assert rec.status == AttendanceStatus.PRESENT and rec.source == RecordSource.MANUAL
    assert rec.detected_face_id == stranger and rec.updated_by_id == seeded.teacher_id
    face = face_row(app, stranger)
    assert face.review == FaceReview.ASSIGNED and face.student_id == seeded.students["Cat"]
    [emb] = gallery(app, stranger)
    assert emb.student_id == seeded.students["Cat"] and emb.model_id == MODEL and emb.student_photo_id is None
    assert emb.vector == face_vector(3.0)
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    history = text(html[html.index('id="history"') :])
    assert "Cat: absent → present" in history and "Assigned face 4 in room.jpg" in history
    assert "Alice" in history  # who


def test_assign_a_matched_face_to_someone_else_moves_the_present_mark(app, teacher, seeded):
    teacher.client.post(f"/faces/{seeded.faces['ann']}/assign", data={"student_id": seeded.students["Ben"]})
    assert record(app, seeded, "Ann").status == AttendanceStatus.ABSENT
    assert record(app, seeded, "Ben").status == AttendanceStatus.PRESENT
    [emb] = gallery(app, seeded.faces["ann"])
    assert emb.student_id == seeded.students["Ben"]


def test_assign_refuses_students_outside_the_course(app, teacher, teacher_factory, seeded):
    other_course = teacher.create_course("Chemistry")
    outsider = teacher.add_student(other_course, "Olga", "N-O")
    r = teacher.client.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": outsider})
    assert r.status_code == 404
    bob = teacher_factory("Bob")
    bobs = bob.add_student(bob.create_course("Bob's"), "Bea", "N-B")
    r = teacher.client.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": bobs})
    assert r.status_code == 404
    r = teacher.client.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": ""})
    assert r.status_code == 303  # back to the page with a message
    assert face_row(app, seeded.faces["stranger"]).review == FaceReview.NONE


# --- marks by hand ---------------------------------------------------------------------------------------


def test_manual_marks_write_history(app, teacher, seeded):
    url = f"/sessions/{seeded.session_id}/students/{seeded.students['Ben']}/mark"
    r = teacher.client.post(url, data={"status": "excused", "note": "Dentist"})
    assert r.status_code == 303 and r.location.endswith(f"#student-{seeded.students['Ben']}")
    rec = record(app, seeded, "Ben")
    assert rec.status == AttendanceStatus.EXCUSED and rec.source == RecordSource.MANUAL
    assert rec.updated_by_id == seeded.teacher_id
    teacher.client.post(url, data={"status": "excused"})  # same mark again: nothing new to record
    teacher.client.post(url, data={"status": "present"})
    rows = changes(app, seeded, "Ben")
    assert [(c.from_status, c.to_status, c.note) for c in rows] == [
        ("absent", "excused", "Dentist"),
        ("excused", "present", "Marked by hand"),
    ]
    assert all(c.changed_by_id == seeded.teacher_id and c.changed_at for c in rows)
    assert teacher.client.post(url, data={"status": "asleep"}).status_code == 303
    assert record(app, seeded, "Ben").status == AttendanceStatus.PRESENT
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "Dentist" in html and "Ben: excused → present" in text(html)
    # The mark a student already has, without a note: nothing changes, nothing is logged.
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{seeded.students['Ann']}/mark", data={"status": "present"}
    )
    assert record(app, seeded, "Ann").source == RecordSource.AUTO and changes(app, seeded, "Ann") == []


def test_actions_answer_json_to_scripts(app, teacher, seeded):
    headers = {"Accept": "application/json"}
    url = f"/sessions/{seeded.session_id}/students/{seeded.students['Cat']}/mark"
    r = teacher.client.post(url, data={"status": "present"}, headers=headers)
    assert r.status_code == 200
    assert r.get_json() == {
        "ok": True,
        "message": "Cat is now marked present.",
        "student_id": seeded.students["Cat"],
        "status": "present",
    }
    r = teacher.client.post(f"/faces/{seeded.faces['stranger']}/confirm", headers=headers)
    assert r.status_code == 409 and r.get_json()["ok"] is False
    assert r.get_json()["error"]["message"] == "This face is not waiting for a confirmation."


def test_manual_records_survive_a_rerun_of_recognition(app, teacher, seeded):
    """The worker's merge never overwrites a manual record (checked here on the seeded faces)."""
    url = f"/sessions/{seeded.session_id}/students/{seeded.students['Ann']}/mark"
    teacher.client.post(url, data={"status": "absent"})  # Ann: absent by hand
    teacher.client.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": seeded.students["Cat"]})
    with session_scope(db_url(app)) as s:
        # A re-run recreates the faces: Ann matched again, Cat's face unknown again.
        s.get(DetectedFace, seeded.faces["ann"]).review = FaceReview.NONE
        s.get(DetectedFace, seeded.faces["ann"]).student_id = seeded.students["Ann"]
        s.get(DetectedFace, seeded.faces["stranger"]).student_id = None
        records.merge_records(s, s.get(AttendanceSession, seeded.session_id))
    assert record(app, seeded, "Ann").status == AttendanceStatus.ABSENT
    assert record(app, seeded, "Cat").status == AttendanceStatus.PRESENT
    assert record(app, seeded, "Ben").source == RecordSource.AUTO
    # The page says that a face matches Ann although the teacher marked her absent.
    html = text(teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True))
    assert "a face in the photos matches Ann; your mark stays" in html


# --- status.json and the display copy ---------------------------------------------------------------


def test_status_json_shape(app, teacher, seeded):
    r = teacher.client.get(f"/sessions/{seeded.session_id}/status.json")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    data = r.get_json()
    assert set(data) >= {"session_id", "photos", "job", "done", "present", "to_confirm", "review_url"}
    assert data["session_id"] == seeded.session_id and data["review_url"] == f"/sessions/{seeded.session_id}"
    assert data["photos"] == [
        {
            "id": seeded.photo_id,
            "filename": "room.jpg",
            "status": "done",
            "status_text": "Done",
            "error": None,
            "face_count": 4,
        }
    ]
    assert data["job"] is None and data["done"] is True
    assert (data["present"], data["to_confirm"]) == (1, 2)
    with session_scope(db_url(app)) as s:
        photo = s.get(SessionPhoto, seeded.photo_id)
        photo.status, photo.error = SessionPhotoStatus.FAILED, "room.jpg is damaged or incomplete."
    data = teacher.client.get(f"/sessions/{seeded.session_id}/status.json").get_json()
    assert data["photos"][0]["status"] == "failed" and data["photos"][0]["error"].startswith("room.jpg is damaged")


def test_display_copy_is_upright_jpeg(app, teacher):
    # Stored 640x480 with EXIF "rotate 90": the boxes were measured on the upright 480x640 photo.
    seeded = seed_session(app, teacher, orientation=6)
    r = teacher.client.get(f"/session-photos/{seeded.photo_id}/view")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(r.data)).size == (480, 640)
    again = teacher.client.get(f"/session-photos/{seeded.photo_id}/view", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


# --- isolation --------------------------------------------------------------------------------------------


def test_every_new_route_is_404_for_another_teacher(app, teacher, teacher_factory, seeded):
    bob = teacher_factory("Bob")
    bob_course = bob.create_course("Bob's")
    bob_student = bob.add_student(bob_course, "Bea", "N-B")
    sid, f = seeded.session_id, seeded.faces
    posts = [
        (f"/faces/{f['ben']}/confirm", {}),
        (f"/faces/{f['ann']}/reject", {}),
        (f"/faces/{f['stranger']}/assign", {"student_id": seeded.students["Cat"]}),
        (f"/faces/{f['stranger']}/assign", {"student_id": bob_student}),
        (f"/sessions/{sid}/students/{seeded.students['Ben']}/mark", {"status": "present"}),
        (f"/sessions/{sid}/students/{bob_student}/mark", {"status": "present"}),
        (f"/sessions/{sid}/rerun", {}),
        (f"/courses/{seeded.course_id}/sessions", {"date": "2026-11-24"}),
    ]
    for url, data in posts:
        assert bob.client.post(url, data=data).status_code == 404, url
        assert bob.client.post(url, data=data, headers={"Accept": "application/json"}).status_code == 404, url
    gets = [
        f"/sessions/{sid}",
        f"/sessions/{sid}/status.json",
        f"/session-photos/{seeded.photo_id}/view",
        f"/courses/{seeded.course_id}/sessions/new",
        f"/courses/{bob_course}/sessions/new?session={sid}",
    ]
    for url in gets:
        assert bob.client.get(url).status_code == 404, url
    # Nothing of Alice's moved.
    with session_scope(db_url(app)) as s:
        assert s.scalar(select(func.count()).select_from(AttendanceChange)) == 0 or all(
            c.changed_by_id != s.scalar(select(Teacher.id).where(Teacher.email == bob.email))
            for c in s.scalars(select(AttendanceChange))
        )
    assert record(app, seeded, "Ben").status == AttendanceStatus.ABSENT
    assert face_row(app, f["ann"]).review == FaceReview.NONE
    assert gallery(app, f["stranger"]) == []


def test_a_student_without_a_record_is_not_marked_in_the_same_words_as_the_reports(app, teacher, seeded):
    """The review page and the reports say the same thing of a student with no mark: "not marked"."""
    dan = teacher.add_student(seeded.course_id, "Dan", "N-Dan")  # joined after the session: no record yet
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert '<span class="badge not-marked">not marked</span>' in html
    assert "not taken" not in html
    report = text(teacher.client.get(f"/reports/students/{dan}").get_data(as_text=True))
    assert "not marked 1" in report and "not taken" not in report


def test_face_tags_stay_inside_the_photo_shorten_and_step_aside():
    from types import SimpleNamespace

    from attendance_web.sessions.review_page import place_tags

    def fv(box, label):
        return SimpleNamespace(box=box, label=label)

    size = 10.0
    edge, wide, left, right = place_tags(
        [
            fv((560, 100, 70, 80), "Annemarie Wolfeschlegelsteinhausen 0.81"),  # at the right edge
            fv((10, 300, 60, 60), "W" * 200),  # longer than the photo is wide
            fv((100, 40, 100, 100), "Ben? 0.40"),
            fv((130, 45, 100, 100), "Cat? 0.45"),  # its label above would cover Ben's
        ],
        640,
        480,
        size,
    )
    assert edge.x + edge.width == pytest.approx(630)  # anchored to the face box's right edge
    assert wide.x == 0 and wide.width <= 640 and wide.text.endswith("…")
    assert left.y + left.height <= 40  # above Ben's box
    assert right.y >= 145  # below Cat's box, not on Ben's label
    for tag in (edge, wide, left, right):
        assert 0 <= tag.x and tag.x + tag.width <= 640 and 0 <= tag.y and tag.y + tag.height <= 480


def test_a_student_removed_from_the_course_keeps_their_past_record_everywhere(app, teacher, seeded):
    """One rule for a past session's list, on the review page and in both reports: who was recorded in it plus
    the students in the course now without a record. Ann (recognised present) is removed from the course
    afterwards; Dan joins it afterwards (no record): the session lists four students, one present, everywhere."""
    ann = seeded.students["Ann"]
    dan = teacher.add_student(seeded.course_id, "Dan", "N-Dan")
    r = teacher.client.post(f"/courses/{seeded.course_id}/students/{ann}/remove")
    assert r.status_code == 302
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    summary = text(html[html.index('class="summary"') : html.index('class="jump"')])
    assert "1 present" in summary and "0 absent" in summary and "of 4 students" in summary  # Ben, Cat: waiting
    assert "Students (4)" in html
    row = html[html.index(f'id="student-{ann}"') :]
    row = row[: row.index("</li>")]
    assert "no longer in this course" in row and "recognised (0.80)" in row
    assert "the mark is kept as recorded here and in the reports" in row
    assert f"/students/{ann}/mark" not in html  # her mark is history: the mark route refuses her (404)
    assert f'id="student-{dan}"' in html and f"/students/{dan}/mark" in html
    # her face still carries her name, and says she has left; she is not offered for assigning faces
    assert "Face 1 in photo 1: Ann, recognised (match score 0.80), no longer in this course" in html
    assert f'<option value="{ann}">' not in html
    # the session report and the course report count the same four students and the same one present
    report = teacher.client.get(f"/reports/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "<dt>Present</dt><dd>1</dd>" in report and "<dt>Absent</dt><dd>0</dd>" in report
    assert "<dt>Unconfirmed</dt><dd>2</dd>" in report  # Ben and Cat: their faces wait in "please confirm"
    assert "<dt>Not marked</dt><dd>1</dd>" in report and "left the course" in report
    course_report = text(teacher.client.get(f"/reports/courses/{seeded.course_id}").get_data(as_text=True))
    assert "1 session(s), 4 student(s)" in course_report
    status = teacher.client.get(f"/sessions/{seeded.session_id}/status.json").get_json()
    assert status["present"] == 1
    from attendance_web.reports.queries import course_matrix, session_report

    with session_scope(db_url(app)) as s:
        att = s.get(AttendanceSession, seeded.session_id)
        tally = session_report(s, att).tally
        totals = course_matrix(s, att.course).totals[0].tally
    assert (tally.present, tally.absent, tally.not_recorded, tally.unconfirmed) == (1, 0, 1, 2)
    assert (totals.present, totals.absent, totals.not_recorded, totals.unconfirmed) == (1, 0, 1, 2)


@pytest.mark.parametrize("action", ["reject", "assign"])
def test_a_face_action_leaves_the_record_of_a_student_removed_from_the_course_as_recorded(app, teacher, seeded, action):
    """Ann, recognised present, is removed from the course; her mark "is kept as recorded here and in the reports".
    "Not Ann", or giving her face to Ben, detaches the face but leaves her record exactly as it was."""
    ann = seeded.students["Ann"]
    before = record(app, seeded, "Ann")
    assert teacher.client.post(f"/courses/{seeded.course_id}/students/{ann}/remove").status_code == 302
    url = f"/faces/{seeded.faces['ann']}/{action}"
    form = {"student_id": seeded.students["Ben"]} if action == "assign" else {}
    r = teacher.client.post(url, data=form, headers={"Accept": "application/json"})
    assert r.status_code == 200
    after = record(app, seeded, "Ann")
    fields = ("status", "source", "detected_face_id", "similarity", "updated_by_id", "updated_at")
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]
    assert after.status == AttendanceStatus.PRESENT and after.source == RecordSource.AUTO
    assert changes(app, seeded, "Ann") == []  # her mark did not change: no history row (the answer says why)
    face = face_row(app, seeded.faces["ann"])
    assert [e.student_id for e in gallery(app, seeded.faces["ann"])] == (
        [seeded.students["Ben"]] if action == "assign" else []
    )
    if action == "reject":
        assert r.get_json()["message"] == "Ann is no longer in this course; their mark stays present as recorded."
        assert face.review == FaceReview.REJECTED and face.student_id is None
    else:
        assert face.review == FaceReview.ASSIGNED and face.student_id == seeded.students["Ben"]
        assert record(app, seeded, "Ben").status == AttendanceStatus.PRESENT
    html = text(teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True))
    assert "the mark is kept as recorded here and in the reports" in html
    status = teacher.client.get(f"/sessions/{seeded.session_id}/status.json").get_json()
    assert status["present"] == (2 if action == "assign" else 1)


def test_a_rejection_note_is_not_reported_once_a_later_photo_marks_the_student_present(app, teacher):
    """'Rejected face 1 ...; no other face of Ann' explained an absence; when a photo added later marks Ann present
    (the worker writes no history), the report must not show that note beside 'present'."""
    from attendance_web.reports.queries import session_report

    seeded = seed_session(app, teacher)
    r = teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    assert r.status_code in (200, 302, 303)
    with session_scope(db_url(app)) as s:
        att = s.get(AttendanceSession, seeded.session_id)
        line = next(x for x in session_report(s, att).lines if x.student.name == "Ann")
        assert line.status == AttendanceStatus.ABSENT and line.note and "Rejected" in line.note
        record = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == seeded.session_id,
                AttendanceRecord.student_id == seeded.students["Ann"],
            )
        )
        record.status = AttendanceStatus.PRESENT  # as the worker's merge does for a face in a later photo
    with session_scope(db_url(app)) as s:
        att = s.get(AttendanceSession, seeded.session_id)
        line = next(x for x in session_report(s, att).lines if x.student.name == "Ann")
        assert line.status == AttendanceStatus.PRESENT and line.note is None
