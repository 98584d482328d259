"""The accessibility gate: axe-core (WCAG 2.0 / 2.1, levels A and AA) on every page a teacher can reach, with
realistic content, at 1280 px and at 375 px, in real Chromium. Any violation fails.

Realistic means: a session with recognised, to-confirm, rejected and unknown faces and a history, another still
being recognised, a roster import in preview with problems and one being imported, a job, every disclosure open,
and each form sent back with its errors. The pages run under the app's own Content-Security-Policy
(script-src 'self'): axe is served by the test from the page's own origin (a route of this browser context only),
so the policy is never loosened, for users or here. A new page joins the gate by adding a Visit to `teacher_pages`
(or `signed_out_pages`).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    RecordSource,
    Teacher,
)
from tests.browser.in_process import forward_to
from tests.conftest import ROOT
from tests.factories import (
    DIM,
    MODEL,
    Seeded,
    db_url,
    face_vector,
    finish_attendance_job,
    plain_jpeg,
    seed_session,
)
from tests.oneroster_files import school_set

pytestmark = [pytest.mark.browser]

ORIGIN = "http://a11y.test"
AXE_PATH = "/__tests__/axe.min.js"
AXE = Path(os.environ.get("AXE_CORE", ROOT / "tools" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"))
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Open every disclosure, so that what it holds is checked too (a teacher opens them).
OPEN_DISCLOSURES = "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    // WCAG 2.5.3 (level A), still marked experimental in axe: a control's name must contain its visible text.
    rules: {"label-content-name-mismatch": {enabled: true}},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""
# Send a form as the browser would, past its own `required` checks, so that the server's errors come back.
SEND_FORM = """(selector) => { const f = document.querySelector(selector); f.noValidate = true; f.requestSubmit(); }"""


def axe_source() -> bytes:
    """axe-core from the npm registry (`make axe`); a missing copy fails in CI, as a missing Chromium does."""
    if not AXE.is_file():
        reason = f"axe-core not found at {AXE} (run `make axe`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true makes this a failure")
        pytest.skip(reason)
    return AXE.read_bytes()


@dataclass
class Visit:
    name: str
    path: str
    then: Callable[[Any], None] | None = None  # what the teacher does on the page before it is checked


def send(selector: str, *, shown_in: str | None = None, **fields: str) -> Callable[[Any], None]:
    """Fill the form's fields (by name) and send it: the page that comes back is the one checked, or, for a form
    its script sends in the background, the page once the answer is shown in `shown_in`."""

    def act(page: Any) -> None:
        for name, value in fields.items():
            page.locator(f"{selector} [name='{name}']").fill(value)
        if shown_in:
            page.evaluate(SEND_FORM, selector)
            page.locator(shown_in).first.wait_for()
            return
        with page.expect_navigation():
            page.evaluate(SEND_FORM, selector)

    return act


def check(page: Any, visits: list[Visit], width: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for visit in visits:
        page.goto(visit.path)
        if visit.then:
            visit.then(page)
        page.evaluate(OPEN_DISCLOSURES)
        page.add_script_tag(url=AXE_PATH)
        found[f"{visit.name} @ {width}"] = page.evaluate(RUN_AXE, WCAG_AA)
    return {where: items for where, items in found.items() if items}


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"    {n['target']}: {n['summary'].splitlines()[-1].strip()}" for n in v["nodes"])
    return "\n".join(lines)


def context_for(chromium: Any, client: Any, width: str) -> Any:
    source = axe_source()
    context = chromium.new_context(base_url=ORIGIN, viewport=WIDTHS[width])
    # A form sent with errors may answer with a redirect (to the page, with a message): followed in-process, since
    # Chromium does not follow a routed one.
    context.route(f"{ORIGIN}/**", forward_to(client, follow_post_redirects=True))
    context.route(f"{ORIGIN}{AXE_PATH}", lambda route: route.fulfill(body=source, content_type="text/javascript"))
    return context


def import_roster(teacher: Any, course_id: int, csv: bytes, photos_zip: bytes | None = None) -> str:
    data: dict[str, Any] = {"roster_csv": (io.BytesIO(csv), "roster.csv")}
    if photos_zip is not None:
        data["photos_zip"] = (io.BytesIO(photos_zip), "portraits.zip")
    r = teacher.client.post(
        f"/courses/{course_id}/roster/imports",
        data=data,
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, r.data[:300]
    return str(r.location)


def portraits_zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, plain_jpeg())
    return buf.getvalue()


@pytest.fixture()
def workspace(app, teacher, jobs_not_sent) -> dict[str, Any]:
    """What a teacher's pages show after a few days of use (no worker: the jobs stay queued)."""
    seeded = seed_session(app, teacher)
    c, s = teacher.client, seeded
    assert c.post(f"/faces/{s.faces['ben']}/reject").status_code == 303  # a rejected match
    mark = {"status": "excused", "note": "Doctor's appointment"}
    assert c.post(f"/sessions/{s.session_id}/students/{s.students['Cat']}/mark", data=mark).status_code == 303
    late = {"status": "late", "note": "Missed the bus"}  # its pressed button's colour and the late badges
    assert c.post(f"/sessions/{s.session_id}/students/{s.students['Ben']}/mark", data=late).status_code == 303
    with session_scope(db_url(app)) as db:  # the review page asks for a closer photo, the area outlined on the photo
        db.connection().exec_driver_sql(
            f"UPDATE detected_faces SET legibility = 'too_small' WHERE id = {int(s.faces['stranger'])}"
        )
    preview = import_roster(teacher, s.course_id, b"student_number,name\nN-Ann,Ann\n77,Dora Diaz\n,No Number\n")
    importing = import_roster(teacher, s.course_id, b"student_number,name\n78,Eve Ekberg\n")
    with_portraits = import_roster(teacher, s.course_id, b"student_number,name\n79,Fay Fox\n", portraits_zip("79.jpg"))
    assert c.post(importing + "/confirm").status_code == 303
    job = teacher.take_attendance(s.course_id, (plain_jpeg(), "second.jpg"), label="Period 2")
    assert job
    learn_from_classroom(app, s)
    dan = teacher.add_student(s.course_id, "Dan", "N-Dan")
    sis = c.post("/school/sis/imports", content_type="multipart/form-data",
                 data={"roster_zip": (io.BytesIO(school_set(students=3).to_zip()), "oneroster.zip")})  # fmt: skip
    assert sis.status_code == 303
    waiting_for_confirmation(app, s, dan)  # the review page, the reports, the course page and the dashboard say so
    return {
        "seeded": s,
        "finish": lambda page: take_attendance_to_the_end(app, page, s, dan),
        "preview": preview,
        "preview with portraits": with_portraits,
        "progress": importing + "/progress",
        "job": f"/jobs/{job}",
        "sis preview": sis.location,
    }


def learn_from_classroom(app: Any, s: Seeded) -> None:
    """Ann's recognised face joins her gallery, as a confirmed one does: her page lists a learned face."""
    with session_scope(db_url(app)) as db:
        face = {"detected_face_id": s.faces["ann"], "model_id": MODEL, "dim": DIM, "vector": face_vector(0.0)}
        db.add(FaceEmbedding(student_id=s.students["Ann"], **face))


def waiting_for_confirmation(app: Any, s: Seeded, student_id: int) -> int:
    """A student whose face waits in "please confirm" (recognition's own "absent" record): their face's id."""
    with session_scope(db_url(app)) as db:
        face = DetectedFace(
            session_photo_id=s.photo_id,
            face_index=4,
            box=[20, 300, 120, 420],
            detection_score=0.9,
            face_px=100,
            decision=FaceDecision.CONFIRM,
            candidate_student_id=student_id,
            similarity=0.42,
            model_id=MODEL,
        )
        db.add(face)
        db.add(
            AttendanceRecord(
                session_id=s.session_id, student_id=student_id, status=AttendanceStatus.ABSENT, source=RecordSource.AUTO
            )
        )
        db.flush()
        return face.id


def take_attendance_to_the_end(app: Any, page: Any, s: Seeded, waiting: int) -> None:
    """Upload a photo on the take-attendance page, then write what the worker would: the page says it is finished."""
    page.locator("input[type=file][name=photos]").set_input_files(
        {"name": "lesson.jpg", "mimeType": "image/jpeg", "buffer": plain_jpeg(64, 48)}
    )
    page.locator("form[data-take-attendance] [data-submit]").click()
    page.locator("[data-live]:not([hidden])").wait_for()
    with session_scope(db_url(app)) as db:
        newest = db.scalars(
            select(AttendanceSession.id)
            .where(AttendanceSession.course_id == s.course_id)
            .order_by(AttendanceSession.id.desc())
        ).first()
    assert newest is not None and newest != s.session_id
    finish_attendance_job(app, newest, present=[s.students["Ann"]], confirm=[waiting], unknown=1)
    page.get_by_role("heading", name="Attendance taken").wait_for()


def teacher_pages(work: dict[str, Any]) -> list[Visit]:
    s = work["seeded"]
    ann, course, session = s.students["Ann"], s.course_id, s.session_id
    return [
        Visit("dashboard", "/"),
        Visit("dashboard, course without a name", "/", send("form[action$='/courses']", name="")),
        Visit("course", f"/courses/{course}"),
        Visit("course, student without a number", f"/courses/{course}", send("form[action$='/students']", name="Z")),
        Visit("roster", f"/courses/{course}/roster"),
        Visit("roster, no file", f"/courses/{course}/roster", send("form[action$='/roster/imports']")),
        Visit("roster preview", work["preview"]),
        Visit("roster preview with portraits", work["preview with portraits"]),
        Visit("roster import progress", work["progress"]),
        Visit("student, with a face learned from a classroom photo", f"/students/{ann}"),
        Visit("take attendance", f"/courses/{course}/sessions/new"),
        Visit(
            "take attendance, no photo",
            f"/courses/{course}/sessions/new",
            send("form[action$='/sessions']", shown_in="form [role=alert]:not(:empty)"),
        ),
        Visit("take attendance, finished", f"/courses/{course}/sessions/new", work["finish"]),
        Visit("add photos", f"/courses/{course}/sessions/new?session={session}"),
        Visit("job", work["job"]),
        Visit("review", f"/sessions/{session}"),
        Visit("session, date and label", f"/sessions/{session}/edit"),
        Visit("session, date missing", f"/sessions/{session}/edit", send("form[action$='/edit']", date="")),
        Visit("session, delete: what goes", f"/sessions/{session}/delete"),
        Visit("session, remove a photo: what goes", f"/session-photos/{s.photo_id}/remove"),
        Visit("report, session", f"/reports/sessions/{session}"),
        Visit("report, course", f"/reports/courses/{course}"),
        Visit("report, course, bad dates", f"/reports/courses/{course}?from=2026-02-30&to=soon&threshold=200"),
        Visit("report, student", f"/reports/students/{ann}"),
        Visit("school", "/school"),
        Visit("school, invitation made", "/school", send("form[action$='/invitations']", email=INVITED_EMAIL)),
        Visit("school, invitation without an address", "/school", send("form[action$='/invitations']", email="")),
        Visit("school report", "/school/report"),
        Visit("school report, bad dates", "/school/report?from=2026-02-30&to=soon&threshold=200"),
        Visit("school, SIS", "/school/sis"),
        Visit("school, SIS, no file", "/school/sis", send("form[action$='/sis/imports']")),
        Visit("school, SIS import preview", work["sis preview"]),
        Visit("school, SIS import done", work["sis preview"], send("form[action$='/confirm']")),
        Visit("settings", "/settings"),
        Visit("settings, wrong password", "/settings", send("form[action$='/password']", current_password="wrong")),
        Visit(
            "settings, guessable new password",
            "/settings",
            send("form[action$='/password']", new_password="password12", repeat="password12"),
        ),
        Visit("school sign-in", "/school/sign-in"),
        Visit(
            "school sign-in, bad domain", "/school/sign-in", send("form[action$='/sign-in']", domains="not a domain")
        ),
        Visit("two-step sign-in set-up", "/settings/two-step"),
        Visit("two-step sign-in set-up, wrong code", "/settings/two-step", send("form[action$='/two-step']", code="1")),
        Visit("not found", "/courses/999999"),
    ]


def signed_out_pages(links: dict[str, str]) -> list[Visit]:
    return [
        Visit("invitation", links["join"]),
        Visit("invitation, guessable password", links["join"], send("form", name="Newt", password="password12")),
        Visit("password reset", links["reset"]),
        Visit("link that does not work", "/join/not-a-link"),
        Visit("sign in", "/login"),
        Visit("sign in, wrong password", "/login", send("form", email="nobody@school.example.org", password="x")),
        Visit("sign up", "/signup"),
        Visit("sign up, empty", "/signup", send("form")),
        Visit("sign up, guessable password", "/signup", send("form", password="password12", confirm="password12")),
        Visit("signed up: sign in", "/signup", send("form", name="Ada", email=A11Y_EMAIL, **STRONG_TWICE)),
        Visit("sign-in code", "/login", send("form", email=links["two_step"], password=STRONG_TWICE["password"])),
        Visit("sign-in code, wrong", "/login", sign_in_with_a_wrong_code(links["two_step"])),
        Visit("sign in, no school for the address", "/login", send(SSO_FORM, school_email="a@nowhere.example.org")),
        Visit("opening the school's sign-in page", "/login", open_the_school_sign_in(links["sso"])),
        Visit("signed out everywhere", "/login", sign_in_then_sign_out_everywhere),
    ]


INVITED_EMAIL = f"invited-{os.urandom(4).hex()}@school.example.org"


@pytest.fixture()
def school_links(app, teacher_factory) -> dict[str, str]:
    """An invitation link and a password-reset link, made by a school's admin (each sign-up opens a school)."""
    admin = teacher_factory("Ada")
    made = admin.client.post("/school/invitations", data={"email": f"join-{os.urandom(4).hex()}@school.example.org"})
    join = re.search(rb'id="new-link" type="text" value="http://localhost([^"]+)"', made.data)
    address = f"reset-{os.urandom(4).hex()}@school.example.org"
    invited = admin.client.post("/school/invitations", data={"email": address})
    invitation = re.search(rb'value="http://localhost(/join/[^"]+)"', invited.data)
    assert join and invitation
    accepted = app.test_client().post(
        invitation.group(1).decode(), data={"name": "Rae", "password": STRONG_TWICE["password"], **STRONG_TWICE}
    )
    assert accepted.status_code == 303
    with session_scope(db_url(app)) as db:
        rae = db.scalar(select(Teacher.id).where(Teacher.email == address))
    made = admin.client.post(f"/school/teachers/{rae}/reset-link")
    reset = re.search(rb'value="http://localhost(/reset/[^"]+)"', made.data)
    assert reset
    return {"join": join.group(1).decode(), "reset": reset.group(1).decode()}


# A teacher who signs up, signs in, and signs out everywhere from Settings (the last signed-out page: it signs in).
A11Y_EMAIL = f"a11y-{os.urandom(4).hex()}@school.example.org"
STRONG_TWICE = {"password": "correct horse battery", "confirm": "correct horse battery"}


def sign_in_then_sign_out_everywhere(page: Any) -> None:
    send("form", email=A11Y_EMAIL, password=STRONG_TWICE["password"])(page)
    page.goto("/settings")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out everywhere").click()
    page.locator(".flash.success").wait_for()


def sign_in_with_a_wrong_code(email: str) -> Callable[[Any], None]:
    def act(page: Any) -> None:
        send("form", email=email, password=STRONG_TWICE["password"])(page)
        send("form", code="12")(page)

    return act


SSO_FORM = "form[action*='/login/sso']"
#: where the stand-in provider's sign-in page would be: it answers 204 No Content, so the browser stays on the page
STAND_IN_PROVIDER = "http://127.0.0.1:9"


def open_the_school_sign_in(email: str) -> Callable[[Any], None]:
    def act(page: Any) -> None:
        page.route(f"{STAND_IN_PROVIDER}/**", lambda route: route.fulfill(status=204))
        send(SSO_FORM, school_email=email)(page)
        page.get_by_role("heading", name="Opening your school's sign-in page").wait_for()

    return act


@pytest.fixture()
def sso_email(teacher_factory, monkeypatch) -> str:
    """An address of a school with single sign-on set up (attendance_web.sso); its provider is a stand-in."""
    from attendance_web.sso import provider

    admin = teacher_factory("Sol")
    domain = f"s{os.urandom(4).hex()}.example.org"
    settings = {"issuer": STAND_IN_PROVIDER, "client_id": "attendance", "client_secret": "s" * 32, "domains": domain}
    assert admin.client.post("/school/sign-in", data=settings).status_code == 303
    monkeypatch.setattr(provider, "start", lambda school, redirect_uri, hint: f"{STAND_IN_PROVIDER}/authorize")
    return f"ann@{domain}"


@pytest.fixture()
def two_step_email(teacher_factory) -> str:
    """An account with two-step sign-in on (auth.two_step): its sign-in asks for a code."""
    import pyotp

    owner = teacher_factory("Tess")
    page = owner.client.get("/settings/two-step").get_data(as_text=True)
    uri = re.search(r'href="(otpauth://[^"]+)"', page)
    assert uri
    code = pyotp.parse_uri(uri.group(1).replace("&amp;", "&")).now()
    assert owner.client.post("/settings/two-step", data={"code": code}).status_code == 303
    return owner.email


@pytest.mark.timeout(600)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_teacher_page_passes_axe(app, teacher, workspace, chromium: Any, width: str) -> None:
    context = context_for(chromium, teacher.client, width)
    try:
        found = check(context.new_page(), teacher_pages(workspace), width)
    finally:
        context.close()
    assert not found, "axe found WCAG 2.1 AA violations:\n" + describe(found)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_signed_out_pages_pass_axe(app, school_links, two_step_email, sso_email, chromium: Any, width: str) -> None:
    context = context_for(chromium, app.test_client(), width)
    try:
        links = {**school_links, "two_step": two_step_email, "sso": sso_email}
        found = check(context.new_page(), signed_out_pages(links), width)
    finally:
        context.close()
    assert not found, "axe found WCAG 2.1 AA violations:\n" + describe(found)
