"""Bad input on every photo upload path: each gets a clear sentence, nothing half-stored, the app keeps working."""

from __future__ import annotations

import html
import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import SessionPhoto, StudentPhoto
from attendance_shared.settings import get_settings


def _img(fmt: str, mode: str = "RGB", size=(320, 240), **kw) -> bytes:
    buf = io.BytesIO()
    if mode == "I;16":
        Image.fromarray(np.linspace(0, 65535, size[0] * size[1]).reshape(size[1], size[0]).astype(np.uint16)).save(
            buf, fmt
        )
    else:
        Image.new(mode, size).save(buf, fmt, **kw)
    return buf.getvalue()


def _bomb_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    )


def _gif() -> bytes:
    frames = [Image.new("P", (20, 20), i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _photo(**kw) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _exif_thumbnail_then_cut() -> bytes:
    """A photo whose APP1 holds a complete thumbnail (its own EOI), with the main image cut off."""
    thumb = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(thumb, "JPEG")
    body = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + b"\x00" * 6 + thumb.getvalue()
    main = _photo()
    data = main[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + main[2:]
    return data[: len(data) * 2 // 3]


REFUSED = [
    ("empty.jpg", b"", "is empty"),
    ("notes.jpg", b"this is a text file renamed to .jpg\n", "not a photo we can read"),
    ("cut.jpg", _img("JPEG", size=(800, 600), quality=95)[:3000], "incomplete"),
    ("cut-progressive.jpg", _photo(progressive=True)[:-300], "incomplete"),
    ("cut-with-thumbnail.jpg", _exif_thumbnail_then_cut(), "incomplete"),
    ("bomb.png", _bomb_png(), "too large"),
    ("anim.gif", _gif(), "GIF"),
    ("doc.pdf", b"%PDF-1.7\n1 0 obj <<>> endobj\n", "not a photo we can read"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not a photo we can read"),
]

ACCEPTED = [
    ("alpha.png", _img("PNG", "RGBA")),
    ("deep.png", _img("PNG", "I;16")),
    ("cmyk.jpg", _img("JPEG", "CMYK")),
    ("grey.jpg", _img("JPEG", "L")),
    ("photo.webp", _img("WEBP")),
    ("progressive.jpg", _photo(progressive=True)),
    ("samsung-trailer.jpg", _photo() + b"SEFH" + b"\x00trailer" * 200),
]


def _count(model, teacher_email: str | None = None) -> int:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("name", "data", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_classroom_upload_refusals(teacher, name, data, words):
    course = teacher.create_course(f"C {name}")
    before = _count(SessionPhoto)
    r = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "label": "P1", "photos": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = r.data.decode()
    assert r.status_code == 200
    assert name in page and re.search(words, page), page[:2000]
    assert _count(SessionPhoto) == before  # nothing stored
    assert teacher.client.get("/").status_code == 200  # and the app keeps working


@pytest.mark.parametrize(("name", "data", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_portrait_upload_refusals(teacher, name, data, words):
    course = teacher.create_course(f"P {name}")
    student = teacher.add_student(course, "Eve", "1")
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert name in r.data.decode() and re.search(words, r.data.decode())
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == student)) == 0


@pytest.mark.parametrize(("name", "data"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_unusual_but_valid_photos_are_accepted(teacher, name, data):
    course = teacher.create_course(f"A {name}")
    job = teacher.take_attendance(course, (data, name))
    assert job is not None


def test_good_photos_survive_a_bad_one_in_the_same_upload(teacher):
    course = teacher.create_course("Mixed")
    r = teacher.client.post(
        f"/courses/{course}/sessions",
        data={
            "date": "2026-11-24",
            "label": "P2",
            "photos": [(io.BytesIO(_img("JPEG")), "good.jpg"), (io.BytesIO(b"junk"), "bad.jpg")],
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "bad.jpg is not a photo" in r.data.decode()
    with session_scope(get_settings().sqlalchemy_url) as s:
        names = s.scalars(
            select(SessionPhoto.original_filename)
            .join(SessionPhoto.session)
            .where(SessionPhoto.original_filename.in_(["good.jpg", "bad.jpg"]))
        )
        assert "good.jpg" in list(names)


def test_oversized_request_is_refused_in_words(app, teacher):
    app.config["MAX_CONTENT_LENGTH"] = 200_000
    course = teacher.create_course("Huge")
    r = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "photos": [(io.BytesIO(b"\xff" * 300_000), "huge.jpg")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and b"too large" in r.data


def test_too_large_roster_and_portrait_uploads_say_what_to_do_instead(app, teacher):
    """Nothing of a refused request is kept, so the page says how to send the same thing in parts."""
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    course = teacher.create_course("Big class")
    student = teacher.add_student(course, "Ann", "1")
    big = io.BytesIO(b"\0" * (2 * 1024 * 1024))
    r = teacher.client.post(
        f"/courses/{course}/roster/imports",
        data={"roster_csv": (io.BytesIO(b"1,Ann\n"), "r.csv"), "photos_zip": (big, "p.zip")},
        content_type="multipart/form-data",
    )
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 413 and "the limit is 1 MB per upload" in page
    assert "import the same CSV with each one" in page
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(b"\0" * (2 * 1024 * 1024)), "a.jpg")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413
    assert "upload the portraits one or two at a time" in html.unescape(r.get_data(as_text=True))
    form = html.unescape(teacher.client.get(f"/courses/{course}/roster").get_data(as_text=True))
    assert 'data-max-upload-mb="1"' in form and "can be at most\n        1 MB" in form


def test_oversized_form_fields_are_refused(teacher):
    course = teacher.create_course("Fields")
    r = teacher.client.post(
        f"/courses/{course}/students", data={"name": "x" * 5000, "student_number": "1"}, follow_redirects=True
    )
    assert r.status_code == 200 and "Field cannot be longer than 120 characters" in r.data.decode()
    r = teacher.client.post("/courses", data={"name": "y" * 2_000_000})
    assert r.status_code in (302, 413)


def test_html_in_names_is_escaped(teacher):
    course = teacher.create_course("<script>alert('c')</script>")
    teacher.add_student(course, "<img src=x onerror=alert(1)>", "<b>9</b>")
    page = teacher.client.get(f"/courses/{course}").data.decode()
    assert "<script>alert('c')</script>" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_unicode_names_roundtrip(teacher):
    course = teacher.create_course("Français für Анна")
    student = teacher.add_student(course, "Zoë Ńowak 李小龍", "ü-1")
    assert "Zoë Ńowak 李小龍" in teacher.client.get(f"/students/{student}").data.decode()


def test_the_same_photo_twice_is_stored_once_and_starts_no_second_job(teacher):
    from attendance_shared.models import AttendanceSession, Job, SessionPhotoStatus

    course = teacher.create_course("Twice")
    photo = (_img("JPEG"), "room.jpg")
    assert teacher.take_attendance(course, photo, label="P9") is not None
    with session_scope(get_settings().sqlalchemy_url) as s:
        jobs_before = s.scalar(select(func.count()).select_from(Job))
        stored = s.scalar(select(SessionPhoto).join(AttendanceSession).where(AttendanceSession.course_id == course))
        stored.status = SessionPhotoStatus.DONE  # the worker has been through it
    r = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "label": "P9", "photos": [(io.BytesIO(photo[0]), "again.jpg")]},
        content_type="multipart/form-data",
    )
    # Nothing was added: the teacher is sent back to the form (date and label kept) and told which session has it.
    assert r.status_code == 303 and f"/courses/{course}/sessions/new" in r.location and "label=P9" in r.location
    page = teacher.client.get(r.location).data.decode()
    assert "again.jpg is already in the session of 2026-11-24 · P9" in page
    assert "recognition was not started again" in page
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == jobs_before
