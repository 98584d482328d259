"""Taking attendance: the form without JavaScript, the XHR answers session.js relies on, live status,
the dashboard; and one end-to-end run through a real worker, then corrections."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceEmbedding,
    FaceReview,
    Job,
    JobKind,
    PhotoStatus,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
    StudentPhoto,
)
from attendance_shared.settings import get_settings
from tests.conftest import require_facedata, wait_for, worker_log

JSON = {"Accept": "application/json"}


def _jpeg(colour=(120, 90, 60), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def _post(tc, course_id: int, files, *, date: str = "2026-11-24", label: str = "Period 1", headers=None, **extra):
    data = {"date": date, "label": label, "photos": [(io.BytesIO(b), name) for b, name in files], **extra}
    return tc.client.post(
        f"/courses/{course_id}/sessions", data=data, content_type="multipart/form-data", headers=headers or {}
    )


def _photos(session_id: int) -> list[SessionPhoto]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return list(s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id)))


def test_take_attendance_page(teacher):
    course = teacher.create_course("Physics")
    page = teacher.client.get(f"/courses/{course}/sessions/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-take-attendance" in html and "session.js" in html
    assert f'action="/courses/{course}/sessions"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="photos"' in html and "multiple" in html and 'for="photos"' in html
    assert "has no students yet" in html


def test_xhr_upload_answers_json_with_a_refusal_per_file(teacher):
    course = teacher.create_course("Physics")
    r = _post(teacher, course, [(_jpeg(), "room.jpg"), (b"just some notes", "notes.jpg")], headers=JSON)
    assert r.status_code == 201
    body = r.get_json()
    session_id, job_id = body["session_id"], body["job_id"]
    assert isinstance(session_id, int) and job_id
    assert body["status_url"] == f"/sessions/{session_id}/status.json"
    assert body["review_url"] == f"/sessions/{session_id}"
    assert body["job_url"] == f"/jobs/{job_id}"
    assert body["added"] == ["room.jpg"] and body["duplicates"] == []
    [refusal] = body["errors"]
    assert refusal["filename"] == "notes.jpg" and refusal["code"] == "image_rejected"
    assert refusal["message"].startswith("notes.jpg is not a photo we can read")
    assert [p.original_filename for p in _photos(session_id)] == ["room.jpg"]
    # The same photo again: reported as a duplicate, not stored twice.
    again = _post(teacher, course, [(_jpeg(), "room-again.jpg")], headers=JSON).get_json()
    assert again["session_id"] == session_id and again["duplicates"] == ["room-again.jpg"] and again["added"] == []
    assert len(_photos(session_id)) == 1


def test_xhr_upload_with_only_refused_files(teacher):
    course = teacher.create_course("Physics")
    r = _post(teacher, course, [(b"", "empty.jpg"), (b"GIF89a", "anim.gif")], headers=JSON)
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"]["code"] == "no_usable_photos" and body["session_id"] is None
    assert [e["filename"] for e in body["errors"]] == ["empty.jpg", "anim.gif"]
    assert "empty" in body["errors"][0]["message"]
    r = _post(teacher, course, [(_jpeg(), "room.jpg")], date="", headers=JSON)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_form"


def test_form_without_javascript_still_redirects_to_the_job(teacher):
    course = teacher.create_course("Physics")
    r = _post(teacher, course, [(_jpeg(), "room.jpg"), (b"nope", "notes.jpg")])
    assert r.status_code == 303 and re.search(r"/jobs/[0-9a-f]+$", r.location)
    page = teacher.client.get(r.location)
    assert "notes.jpg is not a photo we can read" in page.get_data(as_text=True)
    r = _post(teacher, course, [(b"nope", "notes.jpg")])
    assert r.status_code == 303 and f"/courses/{course}/sessions/new?" in r.location


def test_a_refused_form_comes_back_with_the_teachers_date_and_label(teacher):
    """Otherwise the retry with a good photo is filed under today's date, with no label, and nobody notices."""
    course = teacher.create_course("Physics")
    r = _post(teacher, course, [(b"nope", "notes.jpg")], date="2026-11-20", label="Friday lab")
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "notes.jpg is not a photo we can read" in page
    assert 'value="2026-11-20"' in page and 'value="Friday lab"' in page


def test_held_batches_share_one_session_and_one_job(app, teacher):
    """session.js splits many photos over several requests; only the last one starts recognition."""
    course = teacher.create_course("Physics")
    first = _post(teacher, course, [(_jpeg((1, 2, 3)), "a.jpg")], headers=JSON, hold="y").get_json()
    assert first["job_id"] is None
    # Later batches name the session the first one made (a new upload never merges by date and label).
    second = _post(
        teacher, course, [(_jpeg((4, 5, 6)), "b.jpg")], headers=JSON, session_id=first["session_id"]
    ).get_json()
    assert second["session_id"] == first["session_id"] and second["job_id"]
    assert sorted(p.original_filename for p in _photos(first["session_id"])) == ["a.jpg", "b.jpg"]
    with session_scope(get_settings().sqlalchemy_url) as s:
        # Attendance jobs only: an enrollment job's subject is a portrait, whose id may equal this session's.
        jobs = list(s.scalars(select(Job).where(Job.kind == JobKind.ATTENDANCE, Job.subject_id == first["session_id"])))
    assert [j.id for j in jobs] == [second["job_id"]]
    # If the last batch fails in the browser, session.js starts recognition with start_url.
    r = teacher.client.post(first["start_url"], headers=JSON)
    assert r.status_code == 202 and r.get_json()["job_id"] not in (None, second["job_id"])


def test_status_json_while_queued(teacher):
    course = teacher.create_course("Physics")
    body = _post(teacher, course, [(_jpeg(), "room.jpg")], headers=JSON).get_json()
    data = teacher.client.get(body["status_url"]).get_json()
    [photo] = data["photos"]
    assert photo["filename"] == "room.jpg" and photo["face_count"] is None and photo["error"] is None
    assert photo["status"] in {s.value for s in SessionPhotoStatus}
    assert data["job"]["id"] == body["job_id"]
    assert set(data["job"]) == {"id", "state", "progress", "message", "error", "done", "url"}
    assert data["done"] is data["job"]["done"]


def test_add_more_photos_names_the_session_it_adds_to(teacher):
    """The "Add more photos" page carries the session id and shows the session; its date and label are not editable."""
    course = teacher.create_course("Physics")
    body = _post(teacher, course, [(_jpeg(), "room.jpg")], label="Period 4", headers=JSON).get_json()
    html = teacher.client.get(f"/courses/{course}/sessions/new?session={body['session_id']}").get_data(as_text=True)
    assert "Add photos to a session" in html and "2026-11-24 · Period 4" in html
    assert "(<span data-photo-count>1</span> photo(s) so far)" in html
    assert f'name="session_id" type="hidden" value="{body["session_id"]}"' in html
    assert 'name="date"' not in html and 'name="label"' not in html
    review = teacher.client.get(body["review_url"]).get_data(as_text=True)
    assert f"/courses/{course}/sessions/new?session={body['session_id']}" in review
    # The upload from that page adds to this session, whatever date and label are sent with it.
    target = body["session_id"]
    more = _post(teacher, course, [(_jpeg((1, 1, 1)), "more.jpg")], date="", label="", headers=JSON, session_id=target)
    more = more.get_json()
    assert more["session_id"] == body["session_id"] and more["added"] == ["more.jpg"] and more["notice"] is None
    assert sorted(p.original_filename for p in _photos(body["session_id"])) == ["more.jpg", "room.jpg"]
    # Without JavaScript too; a refusal returns to the same "add photos" page.
    r = _post(teacher, course, [(_jpeg((2, 2, 2)), "third.jpg")], date="", session_id=body["session_id"])
    assert r.status_code == 303 and "/jobs/" in r.location
    assert len(_photos(body["session_id"])) == 3
    r = _post(teacher, course, [(b"nope", "notes.jpg")], session_id=body["session_id"])
    assert r.status_code == 303 and r.location.endswith(f"/sessions/new?session={body['session_id']}")
    other = teacher.create_course("Maths")
    assert teacher.client.get(f"/courses/{other}/sessions/new?session={body['session_id']}").status_code == 404
    r = _post(teacher, other, [(_jpeg((3, 3, 3)), "x.jpg")], headers=JSON, session_id=body["session_id"])
    assert r.status_code == 404 and len(_photos(body["session_id"])) == 3


def test_a_second_upload_with_the_same_date_and_label_is_a_new_session(teacher):
    """Two lessons on one day with the same (or no) label: two attendance lists, never one merged list."""
    course = teacher.create_course("Physics")
    first = _post(teacher, course, [(_jpeg((1, 2, 3)), "lesson1.jpg")], label="", headers=JSON).get_json()
    assert first["label"] == "" and first["notice"] is None
    second = _post(teacher, course, [(_jpeg((4, 5, 6)), "lesson2.jpg")], label="  ", headers=JSON).get_json()
    assert second["session_id"] != first["session_id"] and second["label"] == "2"
    assert second["notice"].startswith("A session on 2026-11-24 without a label already existed, so this one was saved")
    assert 'saved as "2"' in second["notice"] and "Add more photos to this session" in second["notice"]
    assert [p.original_filename for p in _photos(first["session_id"])] == ["lesson1.jpg"]
    assert [p.original_filename for p in _photos(second["session_id"])] == ["lesson2.jpg"]
    third = _post(teacher, course, [(_jpeg((7, 8, 9)), "lesson3.jpg")], label="", headers=JSON).get_json()
    assert third["label"] == "3"

    # With a label, and without JavaScript: the teacher is told on the page they land on.
    _post(teacher, course, [(_jpeg((10, 10, 10)), "p3.jpg")], label="Period 3", headers=JSON)
    r = _post(teacher, course, [(_jpeg((20, 20, 20)), "p3-again.jpg")], label="Period 3")
    assert r.status_code == 303
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "labelled &#34;Period 3&#34; already existed, so this one was saved as &#34;Period 3 (2)&#34;" in page
    with session_scope(get_settings().sqlalchemy_url) as s:
        labels = s.scalars(
            select(AttendanceSession.label).where(AttendanceSession.course_id == course).order_by(AttendanceSession.id)
        ).all()
    assert labels == ["", "2", "3", "Period 3", "Period 3 (2)"]


def test_a_long_label_keeps_its_number_within_the_limit(teacher):
    course = teacher.create_course("Physics")
    label = "L" * 80
    _post(teacher, course, [(_jpeg((1, 2, 3)), "a.jpg")], label=label, headers=JSON)
    body = _post(teacher, course, [(_jpeg((4, 5, 6)), "b.jpg")], label=label, headers=JSON).get_json()
    assert body["label"] == "L" * 76 + " (2)"


def test_the_same_upload_sent_again_is_not_a_second_session(teacher):
    """A double click or a browser retry sends the very same photos again: no copy of the session."""
    course = teacher.create_course("Physics")
    first = _post(teacher, course, [(_jpeg(), "room.jpg")], headers=JSON).get_json()
    again = _post(teacher, course, [(_jpeg(), "room.jpg")], headers=JSON).get_json()
    assert again["session_id"] == first["session_id"] and again["duplicates"] == ["room.jpg"]
    assert again["added"] == [] and again["notice"] is None
    with session_scope(get_settings().sqlalchemy_url) as s:
        sessions = s.scalars(select(AttendanceSession.id).where(AttendanceSession.course_id == course)).all()
    assert sessions == [first["session_id"]]


def test_dashboard_shows_courses_todays_sessions_and_jobs(app, teacher):
    course = teacher.create_course("Physics")
    student = teacher.add_student(course, "Ann", "1")
    teacher.add_student(course, "Ben", "2")
    today = dt.date.today().isoformat()
    body = _post(teacher, course, [(_jpeg(), "room.jpg")], date=today, label="Period 2", headers=JSON).get_json()
    _post(teacher, course, [(_jpeg((9, 9, 9)), "old.jpg")], date="2020-01-06", label="Old", headers=JSON)
    with session_scope(get_settings().sqlalchemy_url) as s:
        # A hand mark: a worker left running by an earlier test may process this session, and only a manual
        # record is certain to survive that.
        s.add(
            AttendanceRecord(
                session_id=body["session_id"],
                student_id=student,
                status=AttendanceStatus.PRESENT,
                source=RecordSource.MANUAL,
            )
        )
    html = teacher.client.get("/").get_data(as_text=True)
    assert "Physics" in html and "2 students" in html and "2 sessions" in html
    assert f'href="/courses/{course}/sessions/new"' in html
    today_section = html[html.index('id="today-title"') : html.index('id="jobs-title"')]
    assert "Period 2" in today_section and "1 of 2 present" in today_section and "Old" not in today_section
    jobs_section = html[html.index('id="jobs-title"') :]
    assert f"/jobs/{body['job_id']}" in jobs_section and "Attendance: Physics" in jobs_section


# --- end to end: a real worker, real photos, then corrections ------------------------------------------


@pytest.mark.slow
@pytest.mark.facedata
def test_take_attendance_with_a_worker_then_correct(teacher, celery_worker_process):
    data = require_facedata()
    group = data / "groups" / "obama_biden"
    url = get_settings().sqlalchemy_url
    course = teacher.create_course("Civics")
    obama = teacher.add_student(course, "Barack Obama", "1001")
    biden = teacher.add_student(course, "Joe Biden", "1002")
    brody = teacher.add_student(course, "Adrien Brody", "1003")
    teacher.upload_portraits(obama, *sorted((group / "enroll" / "Barack_Obama").glob("*.jpg")))
    teacher.upload_portraits(biden, *sorted((group / "enroll" / "Joe_Biden").glob("*.jpg")))

    def portraits_checked():
        with session_scope(url) as s:
            states = list(s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id.in_([obama, biden]))))
        return PhotoStatus.PENDING not in states and states

    wait_for(portraits_checked, 240, 0.5, "portraits checked\n" + worker_log()[-2000:])

    photo = group / "class" / "obama_and_biden.jpg"
    body = _post(teacher, course, [(photo.read_bytes(), photo.name)], headers=JSON).get_json()
    status = wait_for(
        lambda: (d := teacher.client.get(body["status_url"]).get_json())["done"] and d,
        240,
        0.5,
        "recognition\n" + worker_log()[-3000:],
    )
    assert status["job"]["state"] == "succeeded", (status, worker_log()[-3000:])
    [p] = status["photos"]
    assert p["status"] == "done" and p["face_count"] >= 2
    session_id = body["session_id"]

    page = teacher.client.get(body["review_url"]).get_data(as_text=True)
    assert "Barack Obama" in page and 'class="face face--' in page

    with session_scope(url) as s:
        biden_face = s.scalar(
            select(DetectedFace)
            .join(SessionPhoto)
            .where(SessionPhoto.session_id == session_id, DetectedFace.student_id == biden)
        )
        assert biden_face is not None, "Biden was not recognised"
        face_id = biden_face.id
    # A wrong match rejected: Biden is no longer present; then assigned back by hand.
    teacher.client.post(f"/faces/{face_id}/reject")
    with session_scope(url) as s:
        rec = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == biden
            )
        )
        # An automatic absent, not a hand mark: a face recognised later can still mark Biden present.
        assert rec.status == AttendanceStatus.ABSENT and rec.source == RecordSource.AUTO
    teacher.client.post(f"/faces/{face_id}/assign", data={"student_id": biden})
    teacher.client.post(f"/sessions/{session_id}/students/{brody}/mark", data={"status": "excused", "note": "Trip"})
    with session_scope(url) as s:
        assert s.get(DetectedFace, face_id).review == FaceReview.ASSIGNED
        emb = s.scalar(select(FaceEmbedding).where(FaceEmbedding.detected_face_id == face_id))
        assert emb is not None and emb.student_id == biden and emb.model_id == s.get(DetectedFace, face_id).model_id

    # Recognition again: the corrections by hand stay exactly as they are.
    rerun = teacher.client.post(f"/sessions/{session_id}/rerun", headers=JSON).get_json()
    teacher.wait_job(rerun["job_id"])
    with session_scope(url) as s:
        records = {
            r.student_id: (r.status, r.source)
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id))
        }
        assert s.get(AttendanceSession, session_id) is not None
    assert records[biden] == (AttendanceStatus.PRESENT, RecordSource.MANUAL)
    assert records[brody] == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)
    assert records[obama][0] == AttendanceStatus.PRESENT
    history = teacher.client.get(body["review_url"]).get_data(as_text=True)
    assert "Trip" in history and "Assigned face" in history


def _session_jobs(session_id: int) -> list[str]:
    """The session's attendance jobs, sorted (an enrollment job's subject is a photo id, which may equal it)."""
    with session_scope(get_settings().sqlalchemy_url) as s:
        query = select(Job.id).where(Job.kind == JobKind.ATTENDANCE, Job.subject_id == session_id)
        return sorted(s.scalars(query))


def _recognised(session_id: int) -> None:
    """What the worker leaves (no worker runs here): every photo of the session done."""
    with session_scope(get_settings().sqlalchemy_url) as s:
        for photo in s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id)):
            photo.status = SessionPhotoStatus.DONE


def test_photos_already_in_the_session_start_nothing_and_say_where_they_are(teacher):
    """Add more photos with a photo the session already holds: no job (session.js used to start a re-run of the
    whole session), and the answer names the session in words, with its link; without JavaScript the same."""
    course = teacher.create_course("Physics")
    first = _post(teacher, course, [(_jpeg(), "room.jpg")], label="Period 1", headers=JSON).get_json()
    sid = first["session_id"]
    _recognised(sid)
    jobs = _session_jobs(sid)
    again = _post(teacher, course, [(_jpeg(), "room-again.jpg")], headers=JSON, session_id=sid)
    assert again.status_code == 200
    body = again.get_json()
    assert body["job_id"] is None and body["added"] == [] and body["duplicates"] == ["room-again.jpg"]
    assert body["already_in"] == {
        "message": "room-again.jpg is already in the session of 2026-11-24 · Period 1: nothing was added "
        "and recognition was not started again.",
        "session_id": sid,
        "title": "2026-11-24 · Period 1",
        "review_url": f"/sessions/{sid}",
    }
    # Not every file already there: a normal answer, no such sentence.
    mixed = _post(teacher, course, [(_jpeg(), "a.jpg"), (_jpeg((9, 9, 9)), "b.jpg")], headers=JSON, session_id=sid)
    assert mixed.get_json()["already_in"] is None and mixed.get_json()["job_id"]
    _recognised(sid)
    jobs = _session_jobs(sid)
    # Without JavaScript: back to the same "add photos" form, told in words with a link; no job.
    r = _post(teacher, course, [(_jpeg(), "room.jpg"), (_jpeg((9, 9, 9)), "b.jpg")], session_id=sid)
    assert r.status_code == 303 and r.location.endswith(f"/courses/{course}/sessions/new?session={sid}")
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "These 2 photos are already in the session of 2026-11-24 · Period 1: nothing was added" in page
    assert f'<a href="/sessions/{sid}">Open that session</a>' in page
    assert _session_jobs(sid) == jobs and len(_photos(sid)) == 2


def test_a_new_session_with_photos_already_in_an_earlier_one_says_so(teacher):
    """Take attendance with today's label again and a photo that lesson already holds: the double-click guard
    answers with the earlier session (no copy), and the teacher is told these photos are already in it, never
    shown it as if a new session had been made; no recognition starts."""
    course = teacher.create_course("Physics")
    first = _post(teacher, course, [(_jpeg(), "room.jpg")], label="Period 3", headers=JSON).get_json()
    sid = first["session_id"]
    _recognised(sid)
    jobs = _session_jobs(sid)
    body = _post(teacher, course, [(_jpeg(), "room.jpg")], label="Period 3", headers=JSON).get_json()
    assert body["session_id"] == sid and body["job_id"] is None and body["notice"] is None
    assert body["already_in"]["message"].startswith("room.jpg is already in the session of 2026-11-24 · Period 3")
    # A label was taken, and the same photos land in the earlier session: no 'saved as "Period 3 (2)"' notice.
    _recognised(
        _post(teacher, course, [(_jpeg((5, 5, 5)), "other.jpg")], label="Period 3", headers=JSON).get_json()[
            "session_id"
        ]
    )
    body = _post(teacher, course, [(_jpeg((5, 5, 5)), "other.jpg")], label="Period 3", headers=JSON).get_json()
    assert body["label"] == "Period 3 (2)" and body["notice"] is None
    assert body["already_in"]["title"] == "2026-11-24 · Period 3 (2)"
    # Without JavaScript: back to the take-attendance form with the teacher's date and label, told where they are.
    r = _post(teacher, course, [(_jpeg(), "room.jpg")], label="Period 3")
    assert r.status_code == 303 and f"/courses/{course}/sessions/new?" in r.location
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "room.jpg is already in the session of 2026-11-24 · Period 3: nothing was added" in page
    assert f'<a href="/sessions/{sid}">Open that session</a>' in page
    assert 'value="Period 3"' in page and "Take attendance" in page
    assert _session_jobs(sid) == jobs
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert len(s.scalars(select(AttendanceSession.id).where(AttendanceSession.course_id == course)).all()) == 2
