"""The school report: each course's rate equals its course report's, the chronic absence list (threshold
adjustable), CSV / XLSX / PDF, the API, and who sees it (the school's admin only)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import event, select, update

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    RecordSource,
    Teacher,
    TeacherRole,
)
from attendance_web.reports.queries import DateRange, course_matrix
from attendance_web.reports.school import school_report
from tests.factories import seed_api_token

P, L, A, E = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED
DATES = [dt.date(2026, 10, d) for d in (1, 8, 15, 22, 29)]
# Biology (Ada's): one mark per date; None = no record.
BIOLOGY = {
    "Amy": [P, P, P, P, P],  # missed 0%
    "Ben": [P, L, P, P, A],  # 1 of 5 missed: 20%
    "Cat": [P, P, E, E, None],  # 0 of 2 missed: excused and unmarked not counted
}
# History (Bo's, a teacher of Ada's school): two dates
HISTORY = {"Dan": [A, A], "Eve": [P, P]}


def _db(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def _seed(app, course_id: int, ids: dict[str, int], marks: dict[str, list], dates: list[dt.date]) -> None:
    with session_scope(_db(app)) as s:
        for i, date in enumerate(dates):
            att = AttendanceSession(course_id=course_id, date=date, label="")
            s.add(att)
            s.flush()
            for key, row in marks.items():
                if row[i] is not None:
                    s.add(
                        AttendanceRecord(
                            session_id=att.id, student_id=ids[key], status=row[i], source=RecordSource.MANUAL
                        )
                    )


def _make_teacher_of(app, admin, teacher) -> None:
    """`teacher` joins `admin`'s school as a plain teacher (what an accepted invitation does)."""
    with session_scope(_db(app)) as s:
        school_id = s.scalar(select(Teacher.school_id).where(Teacher.email == admin.email))
        s.execute(
            update(Teacher).where(Teacher.email == teacher.email).values(school_id=school_id, role=TeacherRole.TEACHER)
        )


@pytest.fixture()
def school(app, teacher_factory):
    ada = teacher_factory("Ada")
    bo = teacher_factory("Bo")
    _make_teacher_of(app, ada, bo)
    biology = ada.create_course("Biology")
    ids = {name: ada.add_student(biology, f"{name} Adams", f"B-{i}") for i, name in enumerate(BIOLOGY)}
    _seed(app, biology, ids, BIOLOGY, DATES)
    history = bo.create_course("History")
    hids = {name: bo.add_student(history, f"{name} Baker", f"H-{i}") for i, name in enumerate(HISTORY)}
    _seed(app, history, hids, HISTORY, DATES[:2])
    return ada, bo, biology, history


def _report(app, ada, period: DateRange | None = None, threshold: float = 0.1):
    with session_scope(_db(app)) as s:
        admin = s.scalar(select(Teacher).where(Teacher.email == ada.email))
        return school_report(s, admin.school_id, admin.school.name, period, threshold)


def test_each_course_counts_as_its_course_report_and_the_school_as_their_sum(app, school):
    ada, _bo, biology, history = school
    r = _report(app, ada)
    by_name = {c.name: c for c in r.courses}
    assert list(by_name) == ["Biology", "History"]
    assert (by_name["Biology"].owner, by_name["Biology"].sessions, by_name["Biology"].students) == ("Ada", 5, 3)
    assert (by_name["History"].owner, by_name["History"].sessions, by_name["History"].students) == ("Bo", 2, 2)
    assert by_name["Biology"].rate == pytest.approx(11 / 12)  # late attended; excused and unmarked left out
    assert by_name["History"].rate == 0.5
    assert r.tally.rate == pytest.approx(13 / 16)
    with session_scope(_db(app)) as s:
        for course_id, line in ((biology, by_name["Biology"]), (history, by_name["History"])):
            assert line.rate == course_matrix(s, s.get(Course, course_id)).tally.rate
        period = DateRange(dt.date(2026, 10, 8), dt.date(2026, 10, 22))
        ranged = {c.course_id: c for c in _report(app, ada, period).courses}
        for course_id in (biology, history):
            assert ranged[course_id].rate == course_matrix(s, s.get(Course, course_id), period).tally.rate
    assert ranged[biology].rate == 1.0 and ranged[biology].sessions == 3 and ranged[history].rate == 0.5


def test_the_chronic_list_holds_who_missed_the_threshold_or_more(app, school):
    ada, *_ = school
    r = _report(app, ada)
    assert [(a.student.name, a.tally.absent, a.counted, a.missed) for a in r.chronic] == [
        ("Dan Baker", 2, 2, 1.0),
        ("Ben Adams", 1, 5, 0.2),
    ]
    assert r.chronic[0].owner == "Bo" and r.chronic[0].courses == ("History",)
    assert [a.student.name for a in _report(app, ada, threshold=0.2).chronic] == ["Dan Baker", "Ben Adams"]
    assert [a.student.name for a in _report(app, ada, threshold=0.25).chronic] == ["Dan Baker"]
    ranged = _report(app, ada, DateRange(dt.date(2026, 10, 8), dt.date(2026, 10, 22)))
    assert [a.student.name for a in ranged.chronic] == ["Dan Baker"]


def test_the_page_shows_the_courses_rates_and_the_chronic_list(app, school):
    ada, *_ = school
    page = ada.client.get("/school/report")
    assert page.status_code == 200
    html = page.data.decode()
    for text in ("Biology", "History", "91.7%", "50.0%", "81.2%", "Dan Baker", "Ben Adams", "missed 20.0%"):
        assert text in html, text
    assert "Amy Adams" not in html.split('id="chronic"')[1]
    narrower = ada.client.get("/school/report?from=2026-10-08&to=2026-10-22&threshold=25").data.decode()
    assert "Dan Baker" in narrower and "Ben Adams" not in narrower and "100.0%" in narrower
    assert 'href="/school/report"' in ada.client.get("/school").data.decode()


def test_bad_dates_and_threshold_are_explained_not_an_error(app, school):
    ada, *_ = school
    page = ada.client.get("/school/report?from=yesterday&to=2026-13-01&threshold=500")
    assert page.status_code == 200
    html = page.data.decode()
    assert "is not a date like 2026-09-01" in html and "percentage from 0 to 100; 10% was used" in html
    assert "Dan Baker" in html and "Ben Adams" in html  # every session, 10%


def test_csv_xlsx_and_pdf_hold_the_same_figures(app, school):
    ada, *_ = school
    r = ada.client.get("/school/report/export?format=csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="school-ada-s-school-all.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0] == ["Course", "Teacher", "Sessions", "Students", "Present", "Late", "Absent", "Excused", "Rate %"]
    assert rows[1:] == [
        ["Biology", "Ada", "5", "3", "10", "1", "1", "2", "91.7"],
        ["History", "Bo", "2", "2", "2", "0", "2", "0", "50.0"],
        ["All courses", "", "7", "", "12", "1", "3", "2", "81.2"],
    ]
    chronic = ada.client.get("/school/report/export?format=csv&list=chronic&threshold=20")
    assert "chronic-absence" in chronic.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(chronic.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Student", "Number"] and rows[0][-1] == "Missed %"
    assert [row[0] for row in rows[1:]] == ["Dan Baker", "Ben Adams"]
    assert rows[2][4:] == ["5", "4", "1", "0", "20.0"]

    xlsx = ada.client.get("/school/report/export?format=xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    cells = [[c.value for c in row] for ws in book.worksheets for row in ws.iter_rows()]
    assert any(row[:3] == ["Biology", "Ada", 5] and 91.7 in row for row in cells)
    assert any(row[:1] == ["Dan Baker"] and 100.0 in row for row in cells)

    pdf = ada.client.get("/school/report/export?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for word in ("School attendance report", "Biology", "91.7", "Dan Baker", "Ben Adams", "Chronic absence"):
        assert word in text, word
    assert ada.client.get("/school/report/export?format=doc").status_code == 400


def test_the_api_answers_the_admin_with_the_same_figures(app, school):
    ada, bo, biology, _history = school
    with session_scope(_db(app)) as s:
        ada_id = s.scalar(select(Teacher.id).where(Teacher.email == ada.email))
        bo_id = s.scalar(select(Teacher.id).where(Teacher.email == bo.email))
    client = app.test_client()
    token = seed_api_token(app, ada_id)
    r = client.get("/api/v1/school/report?threshold=20", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.data[:300]
    body = r.get_json()
    courses = {c["name"]: c for c in body["courses"]}
    assert courses["Biology"]["id"] == biology and courses["Biology"]["rate"] == round(11 / 12, 4)
    assert courses["Biology"]["teacher"] == "Ada" and courses["Biology"]["sessions"] == 5
    assert body["overall"]["rate"] == round(13 / 16, 4) and body["threshold_pct"] == 20
    assert [(a["name"], a["absent"], a["counted"], a["missed"]) for a in body["chronic_absence"]] == [
        ("Dan Baker", 2, 2, 1.0),
        ("Ben Adams", 1, 5, 0.2),
    ]
    ranged = client.get(
        "/api/v1/school/report?from=2026-10-08&to=2026-10-22", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert [a["name"] for a in ranged["chronic_absence"]] == ["Dan Baker"] and ranged["from"] == "2026-10-08"
    bad = client.get(
        "/api/v1/school/report?from=2026-10-30&to=2026-10-01", headers={"Authorization": f"Bearer {token}"}
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_date_range"
    worse = client.get("/api/v1/school/report?threshold=x", headers={"Authorization": f"Bearer {token}"})
    assert worse.status_code == 400 and worse.get_json()["error"]["code"] == "invalid_threshold"
    # a teacher's token: 404, as for anything not theirs
    teacher_token = seed_api_token(app, bo_id)
    nope = client.get("/api/v1/school/report", headers={"Authorization": f"Bearer {teacher_token}"})
    assert nope.status_code == 404 and nope.get_json()["error"]["code"] == "not_found"


def test_a_teacher_gets_404_and_another_schools_admin_sees_none_of_it(app, school, teacher_factory):
    ada, bo, *_ = school
    for path in ("/school/report", "/school/report/export?format=csv", "/school/report/export?format=pdf"):
        assert bo.client.get(path).status_code == 404, path
    other = teacher_factory("Olga")
    own = other.create_course("Olga's own")
    page = other.client.get("/school/report").data.decode()
    assert "Olga&#39;s own" in page or "Olga's own" in page
    for name in ("Biology", "History", "Dan Baker", "Ben Adams"):
        assert name not in page, name
    exported = other.client.get("/school/report/export?format=csv&list=chronic").data.decode("utf-8-sig")
    assert "Dan Baker" not in exported
    assert own
    assert "Olga" not in ada.client.get("/school/report").data.decode()


def test_the_report_costs_one_query_plus_the_course_reports_four_per_course(app, school):
    ada, *_ = school
    with session_scope(_db(app)) as s:
        admin = s.scalar(select(Teacher).where(Teacher.email == ada.email))
        school_id, name = admin.school_id, admin.school.name
        statements: list[str] = []
        engine = s.get_bind()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            r = school_report(s, school_id, name)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(r.courses) == 2 and len(statements) == 1 + 4 * 2, statements
