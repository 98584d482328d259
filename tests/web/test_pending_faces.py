"""Never miss a pending face, and say who decided (issue 17).

A student whose face waits in "please confirm" reads "waiting for your confirmation" (with a link to the face) on
the review page, the course page and the dashboard, and "unconfirmed" in the reports and exports, never
"absent" until the teacher answers. Every record says who gave it its status: recognition ("automatic") or the
teacher (what they did, when), including a rejected face that left a student absent. Every bar of the course chart
has its label. (The API: tests/web/test_api.py.)

The seeded session (tests/factories.seed_session): Ann recognised present; Ben (0.40) and Cat (0.45) waiting in
"please confirm"; one unknown face.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceChange, AttendanceSession
from tests.factories import db_url, seed_session


@pytest.fixture()
def seeded(app, teacher):
    return seed_session(app, teacher)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _csv(client, url: str) -> list[list[str]]:
    r = client.get(url)
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_the_course_page_names_who_waits_for_confirmation_with_a_link_to_the_face(teacher, seeded):
    html = teacher.client.get(f"/courses/{seeded.course_id}").get_data(as_text=True)
    assert "waiting for your confirmation" in html
    for name in ("Ben", "Cat"):
        assert f'href="/sessions/{seeded.session_id}#confirm-{seeded.faces[name.lower()]}">{name}<' in html
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    teacher.client.post(f"/faces/{seeded.faces['cat']}/reject")
    html = teacher.client.get(f"/courses/{seeded.course_id}").get_data(as_text=True)
    assert "waiting for your confirmation" not in html  # answered: nobody waits any more


def test_the_dashboard_lists_sessions_with_faces_to_confirm_first_with_the_count(app, teacher, seeded):
    """The seeded session is from another day: it is listed all the same, first, before today's session."""
    with session_scope(db_url(app)) as s:
        s.add(AttendanceSession(course_id=seeded.course_id, date=dt.date.today(), label="Today"))
    html = teacher.client.get("/").get_data(as_text=True)
    today_list = html[html.index('class="today-list"') :]
    today_list = today_list[: today_list.index("</ul>")]
    assert today_list.index(f"/sessions/{seeded.session_id}") < today_list.index("Biology · Today")
    assert f'href="/sessions/{seeded.session_id}#confirm">2 faces to confirm' in today_list
    assert "2 students are waiting for your confirmation" in _text(today_list)
    assert "and faces to confirm" in html


def test_the_session_report_and_exports_say_unconfirmed_not_absent(teacher, seeded):
    page = teacher.client.get(f"/reports/sessions/{seeded.session_id}").get_data(as_text=True)
    assert "Unconfirmed: waiting for your confirmation (2)" in page and "Absent (0)" in page
    assert f'#confirm-{seeded.faces["ben"]}">confirm their face</a>' in page
    rows = _csv(teacher.client, f"/reports/sessions/{seeded.session_id}/export?format=csv")
    status = {row[0]: row[2] for row in rows[1:] if row and row[0] in ("Ann", "Ben", "Cat")}
    assert status == {"Ann": "present", "Ben": "unconfirmed", "Cat": "unconfirmed"}
    course = _csv(teacher.client, f"/reports/courses/{seeded.course_id}/export?format=csv")
    marks = {row[0]: row[-1] for row in course[1:] if row and row[0] in ("Ann", "Ben", "Cat")}
    assert marks == {"Ann": "P", "Ben": "?", "Cat": "?"}
    matrix = teacher.client.get(f"/reports/courses/{seeded.course_id}").get_data(as_text=True)
    assert matrix.count('<td class="m unconfirmed">?</td>') == 2 and "? = unconfirmed" in matrix
    history = teacher.client.get(f"/reports/students/{seeded.students['Ben']}").get_data(as_text=True)
    assert f'#confirm-{seeded.faces["ben"]}">waiting for your confirmation</a>' in history
    rows = _csv(teacher.client, f"/reports/students/{seeded.students['Ben']}/export?format=csv")
    assert rows[1][rows[0].index("Status")] == "unconfirmed"


def test_a_rejection_that_left_a_student_absent_is_the_teachers_decision_everywhere(app, teacher, seeded):
    """Ann was recognised present; "Not Ann" leaves her absent. Her record stays automatic (a photo added later may
    still mark her present), but the review page and every export say the teacher decided, what and when."""
    r = teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    assert r.status_code == 303
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    row = html[html.index(f'id="student-{seeded.students["Ann"]}"') :]
    row = _text(row[: row.index("</li>")])
    assert "decided by the teacher: Rejected face 1 in room.jpg" in row and " UTC )" in row  # <time> in it
    assert "not seen in the photos" not in row

    rows = _csv(teacher.client, f"/reports/sessions/{seeded.session_id}/export?format=csv")
    header, ann = rows[0], next(row for row in rows if row[0] == "Ann")
    assert ann[header.index("Status")] == "absent"
    assert ann[header.index("How")].startswith("decided by the teacher: Rejected face 1 in room.jpg")
    xlsx = teacher.client.get(f"/reports/sessions/{seeded.session_id}/export?format=xlsx")
    ws = load_workbook(io.BytesIO(xlsx.data)).worksheets[0]
    cells = [str(c.value or "") for row in ws.iter_rows() for c in row]
    assert any(c.startswith("decided by the teacher: Rejected face 1 in room.jpg") for c in cells)
    history = _csv(teacher.client, f"/reports/students/{seeded.students['Ann']}/export?format=csv")
    assert history[1][history[0].index("How")].startswith("decided by the teacher: Rejected face 1 in room.jpg")
    pdf = teacher.client.get(f"/reports/sessions/{seeded.session_id}/export?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from pypdf import PdfReader

    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "decided by the teacher" in text


def test_rejecting_the_face_a_student_waited_on_is_the_teachers_absent(app, teacher, seeded):
    """Ben waited for confirmation; "No, not Ben" makes him absent by the teacher's answer (history: unconfirmed ->
    absent), no longer waiting."""
    teacher.client.post(f"/faces/{seeded.faces['ben']}/reject")
    html = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    row = html[html.index(f'id="student-{seeded.students["Ben"]}"') :]
    row = _text(row[: row.index("</li>")])
    assert "waiting for your confirmation" not in row and "absent" in row
    assert "decided by the teacher: Rejected face 2 in room.jpg (not Ben)" in row
    with session_scope(db_url(app)) as s:
        change = s.scalars(select(AttendanceChange).order_by(AttendanceChange.id.desc())).first()
        assert change is not None and (change.from_status, change.to_status) == ("unconfirmed", "absent")


def test_every_bar_of_the_course_chart_has_its_label(app, teacher, seeded):
    with session_scope(db_url(app)) as s:
        for day in range(1, 41):
            s.add(AttendanceSession(course_id=seeded.course_id, date=dt.date(2026, 9, 1) + dt.timedelta(days=day)))
    html = teacher.client.get(f"/reports/courses/{seeded.course_id}").get_data(as_text=True)
    svg = html[html.index("<svg") : html.index("</svg>")]
    bars = re.findall(r'<rect [^>]*class="bar', svg)
    labels = re.findall(r'<text [^>]*transform="rotate\(-90[^>]*>([^<]+)</text>', svg)
    assert len(bars) == 41 and len(labels) == 41  # 40 + the seeded session, each named under its bar
    assert labels[0] == "2026-09-02" and labels[-1] == "2026-11-24"
    assert 'class="chart chart--wide"' in html and 'tabindex="0"' in html  # wider than the page: it scrolls
