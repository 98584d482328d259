"""The JSON API: bearer tokens only, JSON errors with stable codes, 404 for other teachers' ids, and an
OpenAPI description that matches the routes and the responses."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    ApiToken,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    FaceDecision,
    FaceReview,
    Job,
    JobKind,
    JobState,
    RecordSource,
    SessionPhoto,
    Teacher,
    utcnow,
)
from attendance_web.api.openapi import openapi_spec

TOKEN_RE = re.compile(r'value="(att_[A-Za-z0-9_-]+)"')


def _jpeg(color=(120, 90, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buf, "JPEG")
    return buf.getvalue()


def _db(app):
    return session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url)


class Api:
    """A script holding a token: it sends the token and nothing else (no session cookie)."""

    def __init__(self, app, token: str) -> None:
        self.client = app.test_client(use_cookies=False)
        self.token = token

    def open(self, url, method="GET", **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self.open(url, "GET", **kwargs)

    def post_photos(self, course_id, files, date="2026-11-24", label="Period 1"):
        data = {"date": date, "label": label, "photos": [(io.BytesIO(b), name) for b, name in files]}
        return self.open(f"/api/v1/courses/{course_id}/sessions", "POST", data=data, content_type="multipart/form-data")


def make_token(teacher, name="script") -> str:
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"', teacher.client.get("/settings").get_data(as_text=True))
    assert nonce, "the create form carries its one-time nonce"
    r = teacher.client.post("/settings/tokens", data={"name": name, "nonce": nonce.group(1)})
    assert r.status_code == 200, r.data[:300]
    match = TOKEN_RE.search(r.get_data(as_text=True))
    assert match, "the new token is shown on the page"
    return match.group(1)


@pytest.fixture()
def api(app, teacher):
    return Api(app, make_token(teacher))


# --- checking responses against the description ------------------------------------------------------

SPEC = openapi_spec()
_REGISTRY = Registry().with_resource("urn:spec", Resource.from_contents(SPEC, default_specification=DRAFT202012))


def assert_matches(body, schema_name: str) -> None:
    schema = {"$ref": f"urn:spec#/components/schemas/{schema_name}"}
    errors = list(Draft202012Validator(schema, registry=_REGISTRY).iter_errors(body))
    assert not errors, f"{schema_name}: " + "; ".join(e.message for e in errors[:5])


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data[:300]
    assert response.is_json
    body = response.get_json()
    assert_matches(body, "Error")
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


# --- data --------------------------------------------------------------------------------------------


@pytest.fixture()
def classroom(app, teacher, api, jobs_not_sent):
    """A course with three students, one session through the API, and a recognition result written in."""
    course = teacher.create_course("Geography")
    ann = teacher.add_student(course, "Ann Archer", "G-1")
    ben = teacher.add_student(course, "Ben Brook", "G-2")
    cat = teacher.add_student(course, "Cat Cole", "G-3")
    r = api.post_photos(course, [(_jpeg(), "room.jpg")])
    assert r.status_code == 202, r.data[:300]
    created = r.get_json()
    session_id = created["session"]["id"]
    with _db(app) as s:
        photo = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))

        def face(i, decision, student=None, candidate=None):
            return DetectedFace(
                session_photo_id=photo.id,
                face_index=i,
                box=[10 * i, 10, 10 * i + 40, 50],
                detection_score=0.9,
                decision=decision,
                student_id=student,
                candidate_student_id=candidate,
                similarity=0.5,
                model_id="test-model",
            )

        s.add_all([face(0, FaceDecision.PRESENT, ann, ann), face(1, FaceDecision.CONFIRM, None, ben)])
        s.add(face(2, FaceDecision.UNKNOWN))
        s.add(AttendanceRecord(session_id=session_id, student_id=ann, status=AttendanceStatus.PRESENT, similarity=0.7))
        s.add(AttendanceRecord(session_id=session_id, student_id=ben, status=AttendanceStatus.ABSENT))
    return {
        "course_id": course,
        "session_id": session_id,
        "job_id": created["job"]["id"],
        "students": {"ann": ann, "ben": ben, "cat": cat},
    }


# --- authentication ----------------------------------------------------------------------------------


def test_missing_token_is_401_json(app, teacher):
    teacher.create_course()
    r = app.test_client().get("/api/v1/courses")
    assert_error(r, 401, "token_missing")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Basic dXNlcjpwYXNz", "token_malformed"),
        ("Bearer", "token_malformed"),
        ("Bearer att_not-a-real-token", "token_invalid"),
        ("Bearer something-else", "token_invalid"),
    ],
)
def test_bad_tokens_are_401_with_a_stable_code(client, header, code):
    assert_error(client.get("/api/v1/courses", headers={"Authorization": header}), 401, code)


def test_revoked_token_is_refused(app, teacher, api):
    assert api.get("/api/v1/courses").status_code == 200
    with _db(app) as s:
        token = s.scalar(select(ApiToken).join(Teacher).where(Teacher.email == teacher.email))
        token_id = token.id
    assert teacher.client.post("/settings/tokens/revoke", data={"token_id": token_id}).status_code == 303
    assert_error(api.get("/api/v1/courses"), 401, "token_revoked")


def test_the_session_cookie_is_not_accepted(teacher):
    """A logged-in browser gets nothing from the API without a token: no cookie-riding, so no CSRF."""
    course = teacher.create_course()
    assert_error(teacher.client.get("/api/v1/courses"), 401, "token_missing")
    r = teacher.client.post(
        f"/api/v1/courses/{course}/sessions",
        data={"date": "2026-11-24", "photos": [(io.BytesIO(_jpeg()), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert_error(r, 401, "token_missing")


def test_api_is_exempt_from_csrf_but_still_needs_the_token(teacher):
    """With CSRF on (as in production), a token-authenticated upload works and a tokenless one does not."""
    from attendance_web import create_app

    csrf_app = create_app(TESTING=True)
    assert csrf_app.config.get("WTF_CSRF_ENABLED", True)
    course = teacher.create_course()
    script = Api(csrf_app, make_token(teacher))
    assert script.post_photos(course, [(_jpeg(), "a.jpg")]).status_code == 202
    anonymous = csrf_app.test_client().post(
        f"/api/v1/courses/{course}/sessions", data={"date": "2026-11-24"}, content_type="multipart/form-data"
    )
    assert_error(anonymous, 401, "token_missing")


@pytest.mark.postgres  # compares with an aware utcnow(): SQLite gives naive datetimes back
def test_last_used_is_recorded_at_most_once_a_minute(app, teacher, api):
    def last_used():
        with _db(app) as s:
            return s.scalar(select(ApiToken.last_used_at).join(Teacher).where(Teacher.email == teacher.email))

    assert last_used() is None
    api.get("/api/v1/courses")
    first = last_used()
    assert first is not None and utcnow() - first < dt.timedelta(minutes=1)
    api.get("/api/v1/courses")
    assert last_used() == first


# --- endpoints ---------------------------------------------------------------------------------------


def test_list_courses(teacher, api, teacher_factory):
    course = teacher.create_course("Music")
    teacher.add_student(course, "Dan Dale", "M-1")
    teacher_factory("Other").create_course("Not mine")
    r = api.get("/api/v1/courses")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in r.headers  # a token request never starts a browser session
    body = r.get_json()
    assert_matches(body, "CourseList")
    assert [(c["id"], c["name"], c["student_count"], c["session_count"]) for c in body["courses"]] == [
        (course, "Music", 1, 0)
    ]


def test_one_course(classroom, api, teacher):
    """GET /courses/{id}: the same row as the list's, for a script that keeps a course id."""
    course = classroom["course_id"]
    teacher.create_course("Another")
    r = api.get(f"/api/v1/courses/{course}")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert_matches(body, "Course")
    listed = next(c for c in api.get("/api/v1/courses").get_json()["courses"] if c["id"] == course)
    assert body == listed
    assert (body["name"], body["student_count"], body["session_count"]) == ("Geography", 3, 1)
    assert body["created_at"].endswith("Z")
    assert_error(api.get("/api/v1/courses/999999"), 404, "not_found")


def test_list_students_and_sessions(classroom, api):
    course = classroom["course_id"]
    students = api.get(f"/api/v1/courses/{course}/students").get_json()
    assert_matches(students, "StudentList")
    assert [(s["name"], s["student_number"]) for s in students["students"]] == [
        ("Ann Archer", "G-1"),
        ("Ben Brook", "G-2"),
        ("Cat Cole", "G-3"),
    ]
    sessions = api.get(f"/api/v1/courses/{course}/sessions").get_json()
    assert_matches(sessions, "SessionList")
    assert [(s["id"], s["date"], s["label"], s["photo_count"]) for s in sessions["sessions"]] == [
        (classroom["session_id"], "2026-11-24", "Period 1", 1)
    ]
    assert sessions["sessions"][0]["url"] == f"/api/v1/sessions/{classroom['session_id']}"


def test_session_result(classroom, api):
    r = api.get(f"/api/v1/sessions/{classroom['session_id']}")
    assert r.status_code == 200
    body = r.get_json()
    assert_matches(body, "SessionDetail")
    records = {rec["name"]: (rec["status"], rec["source"]) for rec in body["records"]}
    assert records == {
        "Ann Archer": ("present", "auto"),
        "Ben Brook": ("unconfirmed", "auto"),  # his face waits in "please confirm": not absent until the teacher says
        "Cat Cole": (None, None),
    }
    ben = next(rec for rec in body["records"] if rec["name"] == "Ben Brook")
    assert ben["confirm_url"].startswith(f"http://localhost/sessions/{classroom['session_id']}#confirm-")
    assert {rec["name"]: rec["decided_by"] for rec in body["records"]}["Ann Archer"] == "recognition"
    assert body["faces"] == {"total": 3, "matched": 1, "to_confirm": 1, "unknown": 1}
    assert body["unknown_count"] == 1
    assert [p["status"] for p in body["photos"]] == ["queued"]


def test_job_status(classroom, api):
    r = api.get(f"/api/v1/jobs/{classroom['job_id']}")
    assert r.status_code == 200
    body = r.get_json()
    assert_matches(body, "Job")
    assert body["kind"] == "attendance"
    assert body["state"] == "queued"
    assert body["done"] is False
    assert body["session_url"] == f"/api/v1/sessions/{classroom['session_id']}"
    # One RFC 3339 UTC form everywhere (it was "+00:00" on PostgreSQL and no offset at all on SQLite).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"]), body["created_at"]


def test_create_session_stores_good_photos_and_refuses_the_rest(app, teacher, api):
    course = teacher.create_course("Physics")
    r = api.post_photos(course, [(_jpeg(), "class.jpg"), (b"just some notes\n", "notes.txt")], label="Period 3")
    assert r.status_code == 202, r.data[:300]
    body = r.get_json()
    assert_matches(body, "SessionCreated")
    assert [(e["code"], e["file"]) for e in body["errors"]] == [("image_rejected", "notes.txt")]
    assert body["poll_url"] == f"/api/v1/jobs/{body['job']['id']}"
    assert r.headers["Location"] == body["poll_url"]
    assert body["job"]["created_at"].endswith("Z") and body["session"]["created_at"].endswith("Z")
    store = app.extensions["attendance.store"]
    with _db(app) as s:
        job = s.get(Job, body["job"]["id"])
        assert job is not None
        assert (job.kind, job.state, job.subject_id) == (JobKind.ATTENDANCE, JobState.QUEUED, body["session"]["id"])
        session = s.get(AttendanceSession, body["session"]["id"])
        assert (session.course_id, session.label) == (course, "Period 3")
        photos = s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session.id)).all()
        assert [p.original_filename for p in photos] == ["class.jpg"]
        assert store.exists(photos[0].storage_key)
    polled = api.get(body["poll_url"])
    assert polled.status_code == 200
    assert polled.get_json()["id"] == body["job"]["id"]


def test_create_session_reports_duplicates_and_reuses_the_session(teacher, api):
    """A client adds photos to a session by naming it (`session_id`); a photo already there is reported."""
    course = teacher.create_course("Art")
    first = api.post_photos(course, [(_jpeg(), "a.jpg")]).get_json()
    data = {
        "session_id": str(first["session"]["id"]),
        "photos": [(io.BytesIO(_jpeg()), "a-again.jpg"), (io.BytesIO(_jpeg((10, 200, 10))), "b.jpg")],
    }
    again = api.open(f"/api/v1/courses/{course}/sessions", "POST", data=data, content_type="multipart/form-data")
    assert again.status_code == 202
    body = again.get_json()
    assert_matches(body, "SessionCreated")
    assert body["session"]["id"] == first["session"]["id"]
    assert body["session"]["photo_count"] == 2
    assert [(e["code"], e["file"]) for e in body["errors"]] == [("duplicate_photo", "a-again.jpg")]
    # The very same photo sent again with its date and label (a client retrying) answers the same session.
    retry = api.post_photos(course, [(_jpeg(), "a.jpg")]).get_json()
    assert retry["session"]["id"] == first["session"]["id"] and retry["session"]["photo_count"] == 2
    assert [(e["code"], e["file"]) for e in retry["errors"]] == [("duplicate_photo", "a.jpg")]


def test_create_session_with_the_same_date_and_label_adds_to_that_session(app, teacher, api):
    """v1's rule: a script names its lesson by date and label, and may split its photos over requests."""
    course = teacher.create_course("Art")
    first = api.post_photos(course, [(_jpeg(), "a.jpg")], label="Period 3").get_json()
    r = api.post_photos(course, [(_jpeg((10, 200, 10)), "b.jpg")], label="Period 3")
    assert r.status_code == 202
    body = r.get_json()
    assert_matches(body, "SessionCreated")
    assert body["session"]["id"] == first["session"]["id"] and body["session"]["label"] == "Period 3"
    assert body["session"]["photo_count"] == 2
    other = api.post_photos(course, [(_jpeg((200, 10, 10)), "c.jpg")], label="Period 4").get_json()
    assert other["session"]["id"] != first["session"]["id"]


@pytest.mark.parametrize(("value", "status", "code"), [("abc", 400, "invalid_session_id"), ("other", 404, "not_found")])
def test_create_session_with_a_session_of_another_course_is_refused(teacher, api, value, status, code):
    course = teacher.create_course("Art")
    other = teacher.create_course("Music")
    if value == "other":
        value = str(api.post_photos(other, [(_jpeg(), "a.jpg")]).get_json()["session"]["id"])
    data = {"session_id": value, "photos": [(io.BytesIO(_jpeg((1, 2, 3))), "b.jpg")]}
    r = api.open(f"/api/v1/courses/{course}/sessions", "POST", data=data, content_type="multipart/form-data")
    assert_error(r, status, code)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"label": "x"}, "invalid_date"),
        ({"date": "24/11/2026"}, "invalid_date"),
        ({"date": "20261124"}, "invalid_date"),  # ISO's basic form: not the documented YYYY-MM-DD
        ({"date": "2026-W48-2"}, "invalid_date"),
        ({"date": ""}, "invalid_date"),
        ({"date": "2026-11-24", "label": "L" * 81}, "invalid_label"),
        ({"date": "2026-11-24"}, "photos_required"),
    ],
)
def test_create_session_bad_fields_are_400(teacher, api, data, code):
    course = teacher.create_course()
    if code != "photos_required":
        data = {**data, "photos": [(io.BytesIO(_jpeg()), "a.jpg")]}
    r = api.open(f"/api/v1/courses/{course}/sessions", "POST", data=data, content_type="multipart/form-data")
    assert_error(r, 400, code)


def test_create_session_with_no_usable_photo_is_422_with_details(app, teacher, api):
    course = teacher.create_course()
    r = api.post_photos(course, [(b"", "empty.jpg"), (b"hello", "renamed.jpg")])
    body = assert_error(r, 422, "no_usable_photos")
    assert [(d["code"], d["file"]) for d in body["error"]["details"]] == [
        ("image_rejected", "empty.jpg"),
        ("image_rejected", "renamed.jpg"),
    ]
    with _db(app) as s:
        assert s.scalar(select(AttendanceSession).where(AttendanceSession.course_id == course)) is None


def test_php_style_field_name_is_accepted(teacher, api):
    course = teacher.create_course()
    data = {"date": "2026-11-24", "photos[]": [(io.BytesIO(_jpeg()), "a.jpg"), (io.BytesIO(_jpeg((1, 2, 3))), "b.jpg")]}
    r = api.open(f"/api/v1/courses/{course}/sessions", "POST", data=data, content_type="multipart/form-data")
    assert r.status_code == 202
    assert r.get_json()["session"]["photo_count"] == 2


def test_oversized_upload_is_413_json(app, teacher, api):
    course = teacher.create_course()
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    r = api.post_photos(course, [(b"x" * 20_000, "big.jpg")])
    assert_error(r, 413, "payload_too_large")


def test_course_report(app, teacher, api):
    course = teacher.create_course("History")
    ann = teacher.add_student(course, "Ann", "H-1")
    ben = teacher.add_student(course, "Ben", "H-2")
    p, a, e = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED
    plan = {"2026-09-01": {ann: p, ben: a}, "2026-09-08": {ann: p, ben: e}, "2026-10-01": {ann: a}}
    with _db(app) as s:
        for day, statuses in plan.items():
            session = AttendanceSession(course_id=course, date=dt.date.fromisoformat(day), label="")
            s.add(session)
            s.flush()
            for student, status in statuses.items():
                s.add(AttendanceRecord(session_id=session.id, student_id=student, status=status))
    r = api.get(f"/api/v1/courses/{course}/report")
    assert r.status_code == 200
    body = r.get_json()
    assert_matches(body, "CourseReport")
    assert [x["date"] for x in body["sessions"]] == list(plan)
    rows = {row["name"]: row for row in body["students"]}
    assert rows["Ann"]["attendance"] == ["present", "present", "absent"]
    assert (rows["Ann"]["present"], rows["Ann"]["absent"], rows["Ann"]["rate"]) == (2, 1, 0.6667)
    assert rows["Ben"]["attendance"] == ["absent", "excused", None]
    assert (rows["Ben"]["excused"], rows["Ben"]["not_taken"], rows["Ben"]["rate"]) == (1, 1, 0.0)

    ranged = api.get(f"/api/v1/courses/{course}/report?from=2026-09-02&to=2026-09-30").get_json()
    assert (ranged["from"], ranged["to"]) == ("2026-09-02", "2026-09-30")
    assert [x["date"] for x in ranged["sessions"]] == ["2026-09-08"]
    rows = {row["name"]: row for row in ranged["students"]}
    assert (rows["Ann"]["rate"], rows["Ben"]["rate"]) == (1.0, None)

    assert_error(api.get(f"/api/v1/courses/{course}/report?from=2026-10-01&to=2026-09-01"), 400, "invalid_date_range")
    assert_error(api.get(f"/api/v1/courses/{course}/report?from=yesterday"), 400, "invalid_date")


@pytest.mark.parametrize("query", ["from=20260901", "to=20261001", "from=2026-W36-1", "to=2026-9-1"])
def test_course_report_refuses_dates_not_as_documented(teacher, api, query):
    """Only YYYY-MM-DD, as the document says: date.fromisoformat alone read 20260901 and week dates too."""
    course = teacher.create_course("History")
    body = assert_error(api.get(f"/api/v1/courses/{course}/report?{query}"), 400, "invalid_date")
    assert "YYYY-MM-DD" in body["error"]["message"]


def test_course_report_empty_bounds_mean_no_bound(teacher, api):
    """`from=&to=` (a script's unset variables) is the whole course, as documented."""
    course = teacher.create_course("History")
    r = api.get(f"/api/v1/courses/{course}/report?from=&to=")
    assert r.status_code == 200
    body = r.get_json()
    assert_matches(body, "CourseReport")
    assert (body["from"], body["to"]) == (None, None)


def test_openapi_documents_what_create_session_requires():
    """date unless session_id, and at least one photo: the request schema says what the view refuses."""
    schema = openapi_spec()["paths"]["/api/v1/courses/{course_id}/sessions"]["post"]["requestBody"]["content"]
    form = schema["multipart/form-data"]["schema"]
    validator = Draft202012Validator(form)
    assert not list(validator.iter_errors({"date": "2026-11-24", "photos": ["x"]}))
    assert not list(validator.iter_errors({"session_id": 7, "photos": ["x"]}))
    assert list(validator.iter_errors({"label": "Period 1", "photos": ["x"]}))  # neither date nor session_id
    assert list(validator.iter_errors({"date": "2026-11-24", "photos": []}))
    assert list(validator.iter_errors({"date": "20261124", "photos": ["x"]}))


def test_unknown_ids_are_404_json(api):
    assert_error(api.get("/api/v1/courses/999999/students"), 404, "not_found")
    assert_error(api.get("/api/v1/jobs/nope"), 404, "not_found")


# --- isolation ---------------------------------------------------------------------------------------


def _api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]


@pytest.mark.parametrize("who", ["another school's teacher", "a teacher of the same school, not shared"])
def test_every_api_route_with_an_id_is_404_for_another_teacher(app, classroom, api, teacher, teacher_factory, who):
    from tests.web.test_isolation import _colleague_of

    other = teacher_factory("Bob") if who.startswith("another") else _colleague_of(app, teacher)
    bob = Api(app, make_token(other))
    ids = {k: classroom[k] for k in ("course_id", "session_id", "job_id")} | {
        "student_id": classroom["students"]["ann"]
    }
    checked = set()
    for rule in _api_rules(app):
        if not rule.arguments:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{arg}>", str(ids[arg]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"date": "2026-11-25", "photos": [(io.BytesIO(_jpeg()), "x.jpg")]} if method == "POST" else None
            r = bob.open(url, method, data=data, content_type="multipart/form-data" if data else None)
            assert_error(r, 404, "not_found")
            if method == "GET":
                assert api.open(url, method).status_code == 200, url
            checked.add(f"{method} {rule.endpoint}")
    assert checked == {
        "GET api.course",
        "GET api.course_students",
        "GET api.student_export",
        "GET api.course_sessions",
        "POST api.create_session",
        "GET api.course_report",
        "GET api.job",
        "GET api.session",
    }
    with _db(app) as s:  # Bob's POST created nothing in Alice's course
        created = select(AttendanceSession).where(
            AttendanceSession.course_id == classroom["course_id"], AttendanceSession.date == dt.date(2026, 11, 25)
        )
        assert s.scalar(created) is None
    assert bob.get("/api/v1/courses").get_json() == {"courses": []}


# --- OpenAPI -----------------------------------------------------------------------------------------


def _flask_operations(app) -> set[tuple[str, str]]:
    ops = set()
    for rule in _api_rules(app):
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        ops |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return ops


def _spec_operations(spec) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "patch", "delete"}
    return {(path, m) for path, item in spec["paths"].items() for m in item if m in methods}


def test_openapi_is_served_without_a_token_and_is_valid(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert "Error" in spec["components"]["schemas"]


def test_openapi_paths_and_methods_match_the_routes(app):
    assert _spec_operations(openapi_spec()) == _flask_operations(app)


def test_openapi_path_parameters_match_the_routes(app):
    spec = openapi_spec()
    for path, item in spec["paths"].items():
        declared = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == declared, path


def test_every_protected_operation_documents_401(app):
    for path, item in openapi_spec()["paths"].items():
        for method, operation in item.items():
            if operation.get("security") == []:
                continue
            assert "401" in operation["responses"], f"{method} {path}"
            if "{" in path:
                assert "404" in operation["responses"], f"{method} {path}"


def test_course_row_counts_are_per_course(app, teacher, api):
    first = teacher.create_course("A course")
    teacher.create_course("B course")
    teacher.add_student(first, "Eve", "A-1")
    api.post_photos(first, [(_jpeg(), "a.jpg")])
    with _db(app) as s:
        assert s.scalar(select(Course).where(Course.id == first)) is not None
    counts = {
        c["name"]: (c["student_count"], c["session_count"]) for c in api.get("/api/v1/courses").get_json()["courses"]
    }
    assert counts == {"A course": (1, 1), "B course": (0, 0)}


def test_manual_records_show_their_source(app, classroom, api):
    with _db(app) as s:
        record = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == classroom["session_id"],
                AttendanceRecord.student_id == classroom["students"]["ben"],
            )
        )
        record.status = AttendanceStatus.EXCUSED
        record.source = RecordSource.MANUAL
        face = s.scalar(
            select(DetectedFace)
            .join(SessionPhoto)
            .where(SessionPhoto.session_id == classroom["session_id"], DetectedFace.decision == FaceDecision.UNKNOWN)
        )
        face.review = FaceReview.ASSIGNED
        face.student_id = classroom["students"]["cat"]
    body = api.get(f"/api/v1/sessions/{classroom['session_id']}").get_json()
    records = {rec["name"]: (rec["status"], rec["source"]) for rec in body["records"]}
    assert records["Ben Brook"] == ("excused", "manual")
    assert body["faces"] == {"total": 3, "matched": 2, "to_confirm": 1, "unknown": 0}


def test_a_student_waiting_for_confirmation_is_unconfirmed_in_the_api(app, teacher, api):
    """Ben's and Cat's faces wait in "please confirm" (tests/factories.seed_session): "unconfirmed" with the face's
    page, in the session's records and the course report (not absent, not in the rate), until the teacher answers."""
    from tests.factories import seed_session

    seeded = seed_session(app, teacher)
    body = api.get(f"/api/v1/sessions/{seeded.session_id}").get_json()
    assert_matches(body, "SessionDetail")
    ben = next(rec for rec in body["records"] if rec["name"] == "Ben")
    assert ben["status"] == "unconfirmed"
    assert ben["confirm_url"].endswith(f"/sessions/{seeded.session_id}#confirm-{seeded.faces['ben']}")
    report = api.get(f"/api/v1/courses/{seeded.course_id}/report").get_json()
    assert_matches(report, "CourseReport")
    rows = {row["name"]: row for row in report["students"]}
    assert rows["Ben"]["attendance"] == ["unconfirmed"]
    assert (rows["Ben"]["absent"], rows["Ben"]["unconfirmed"], rows["Ben"]["rate"]) == (0, 1, None)
    teacher.client.post(f"/faces/{seeded.faces['ben']}/reject")  # "No, not Ben": now absent, the teacher's decision
    ben = next(r for r in api.get(f"/api/v1/sessions/{seeded.session_id}").get_json()["records"] if r["name"] == "Ben")
    assert (ben["status"], ben["decided_by"], ben["confirm_url"]) == ("absent", "teacher", None)
    assert ben["decision"] == "Rejected face 2 in room.jpg (not Ben)" and ben["decided_at"].endswith("Z")
