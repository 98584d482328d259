"""A teacher's first day in real Chromium, against gunicorn main:app and a real worker: sign up,
create a course, bulk-import a roster with portraits from ../shared/facedata, take attendance with
a group photo, review and correct it, export the course report, and read the review on a phone.

Every page is screenshotted under artifacts/screenshots/; no page may log a console error
(Content-Security-Policy violations are console errors) or throw an uncaught exception, or have
duplicate ids, unlabelled controls, images without alt text or empty buttons. The unknown face is
chosen on the photo with the keyboard. At 375 px (a phone) no page is wider than the screen; wide
tables scroll inside their own box.
"""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.factories import roster_people, stranger_photo, write_roster_files

from .conftest import PageProblems, Screenshots, accessibility_problems

pytestmark = [pytest.mark.browser, pytest.mark.facedata, pytest.mark.slow]

COURSE = "Biology 7B"
LABEL = "Period 3"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
WORK_TIMEOUT_MS = 180_000  # portraits checked / recognition done by the worker on a small machine
UI_TIMEOUT_MS = 20_000


def roster_badge(page: Any, name: str) -> Any:
    """The status badge of one student's row in the review page's roster."""
    row = page.locator("li.roster-row").filter(has=page.locator(".who strong", has_text=name))
    return row.locator(".who .badge")


@pytest.mark.timeout(600)
def test_teacher_journey(
    facedata: Path,
    chromium: Any,
    live_server: str,
    tmp_path: Path,
    page_problems: PageProblems,
    screenshots: Screenshots,
) -> None:
    from playwright.sync_api import expect

    people = roster_people(facedata)
    obama, biden, lfw_a, lfw_b = (p.name for p in people)
    csv_path, zip_path = write_roster_files(people, tmp_path)
    group_photo = facedata / "groups" / "obama_biden" / "class" / "obama_and_biden.jpg"
    stranger = stranger_photo(facedata, tmp_path)
    started = time.monotonic()
    inaccessible: list[str] = []

    def snap(page: Any, name: str) -> None:
        screenshots.take(page, name)
        inaccessible.extend(accessibility_problems(page))

    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = page_problems.watch(context.new_page())

    # 1. Sign up, sign in (the address is filled in), land on the dashboard, create a course.
    page.goto("/signup")
    expect(page.get_by_role("heading", name="Create your teacher account")).to_be_visible()
    snap(page, "signup")
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(f"ada-{tmp_path.name[-12:]}@school.example.org")
    page.locator("#password").fill("correct horse battery")
    page.locator("#confirm").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator(".flash.success")).to_contain_text("Your account is ready")
    page.locator("#password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My courses")).to_be_visible()
    snap(page, "dashboard")
    page.locator("form[action$='/courses'] input[name=name]").fill(COURSE)
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(COURSE)
    course_url = page.url
    snap(page, "course")

    # 2. Bulk-import the roster: upload, preview (nothing written yet), confirm, wait for the checks.
    page.get_by_role("link", name="Roster", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Roster")
    roster_url = page.url
    page.locator("#roster_csv").set_input_files(csv_path)
    page.locator("#photos_zip").set_input_files(zip_path)
    snap(page, "roster-import")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Check the import")).to_be_visible()
    expect(page.locator(".counts")).to_contain_text("4 new student(s)")
    portraits = sum(len(p.portraits) for p in people)
    expect(page.locator(".counts")).to_contain_text(f"{portraits} portrait(s) to add")
    for person in people:
        expect(page.locator("table")).to_contain_text(person.name)
    snap(page, "import-preview")
    page.get_by_role("button", name=f"Confirm: add 4 new students, add {portraits} portraits").click()
    expect(page.get_by_role("heading", name="Checking the imported portraits")).to_be_visible()
    expect(page.locator("#import-state")).to_have_text("All portraits are checked.", timeout=WORK_TIMEOUT_MS)
    expect(page.locator("#count-pending")).to_have_text("0")
    snap(page, "import-progress")
    page.get_by_role("link", name="← Roster of " + COURSE).click()
    for name in (obama, biden):  # the group photo's people need an accepted portrait to be recognised
        row = page.locator("tr").filter(has=page.get_by_role("link", name=name, exact=True))
        expect(row.locator(".badge.accepted")).to_be_visible()
    snap(page, "roster")

    # 2b. A portrait's verdict shows up on the student's page by itself (portraits.js polls while one is pending):
    # the group photo is refused with the number of faces it holds.
    page.locator("tr").get_by_role("link", name=obama, exact=True).click()
    page.locator("input[type=file][name=photos]").set_input_files(group_photo)
    page.get_by_role("button", name="Upload portraits").click()
    expect(page.locator("li.photo.rejected .reason")).to_contain_text(" faces in ", timeout=WORK_TIMEOUT_MS)
    snap(page, "portrait-refused")

    # 3. Take attendance: one photo chosen, one dropped; live status per photo until recognition is done.
    page.get_by_role("link", name="My courses").click()
    page.get_by_role("link", name=f"Take attendance in {COURSE}").click()
    expect(page.get_by_role("heading", name="Take attendance")).to_be_visible()
    take_url = page.url
    page.get_by_label("Label (e.g. Period 3)").fill(LABEL)
    page.locator("input[type=file][name=photos]").set_input_files(group_photo)
    drop_file(page, "[data-dropzone]", stranger)
    uploads = page.locator("[data-upload-list] li")
    expect(uploads).to_have_count(2)
    expect(uploads.nth(1)).to_contain_text(stranger.name)
    expect(uploads.first).to_contain_text("Ready")
    snap(page, "take-attendance")
    page.get_by_role("button", name="Upload and take attendance").click()
    expect(page.locator("[data-live-message]")).to_have_text(re.compile(r"^Finished: "), timeout=WORK_TIMEOUT_MS)
    for i in range(2):
        expect(uploads.nth(i).locator(".upload-state")).to_have_text(re.compile(r"^Done: \d+ faces?$"))
    snap(page, "recognition-done")
    page.locator("[data-review-link]").click()

    # 4. Review: who was recognised; name the stranger's face; correct one student by hand.
    expect(page.get_by_role("heading", level=1)).to_contain_text(LABEL)
    expect(page.locator("#review")).to_have_attribute("data-working", "0")
    review_url = page.url.split("#", 1)[0]
    expect(roster_badge(page, obama)).to_have_text("present")
    expect(roster_badge(page, biden)).to_have_text("present")
    expect(roster_badge(page, lfw_a)).to_have_text("absent")
    expect(roster_badge(page, lfw_b)).to_have_text("absent")
    snap(page, "review")

    boxes = page.locator("svg.photo a.face--unknown")
    if boxes.count() == 0:  # the stranger came out as "please confirm": name them all the same
        boxes = page.locator("svg.photo a.face--confirm")
    assert boxes.count() >= 1, "the photos gave no unknown face to assign"
    boxes.first.focus()  # select the face on the photo with the keyboard: the focus moves to its entry
    page.keyboard.press("Enter")
    face = page.locator("li.face-item:focus-within")
    expect(face).to_have_count(1)
    face.locator("select[name=student_id]").select_option(label=f"{lfw_b} ({people[3].number})")
    face.get_by_role("button", name="Assign").click()
    expect(page.locator("#review-live")).not_to_be_empty()
    expect(roster_badge(page, lfw_b)).to_have_text("present")

    bush_row = page.locator("li.roster-row").filter(has=page.locator(".who strong", has_text=lfw_a))
    bush_row.get_by_role("button", name=re.compile(r"^Excused")).click()
    expect(roster_badge(page, lfw_a)).to_have_text("excused")
    history = page.locator("#history li")
    expect(history.filter(has_text=lfw_a)).to_contain_text("excused")
    expect(history.filter(has_text=lfw_a)).to_contain_text("Ada Lovelace")
    expect(history.filter(has_text=lfw_b)).to_contain_text("present")
    snap(page, "review-corrected")

    # 5. The course report, exported as XLSX and PDF, with the corrected marks.
    page.goto(course_url)
    page.get_by_role("link", name="Attendance report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Attendance report: {COURSE}")
    report_url = page.url
    snap(page, "course-report")
    downloads: dict[str, Path] = {}
    for fmt, link in (("xlsx", "Excel (XLSX)"), ("pdf", "PDF")):
        with page.expect_download() as info:
            page.get_by_role("link", name=link, exact=True).click()
        downloads[fmt] = tmp_path / f"report.{fmt}"
        info.value.save_as(downloads[fmt])
    expected = {obama: "P", biden: "P", lfw_a: "E", lfw_b: "P"}
    assert xlsx_marks(downloads["xlsx"], list(expected)) == expected
    assert pdf_marks(downloads["pdf"], list(expected)) == expected

    # 6. On a phone: the review page first, then the others; nothing wider than the screen.
    phone = chromium.new_context(base_url=live_server, storage_state=context.storage_state(), **PHONE)
    phone.set_default_timeout(UI_TIMEOUT_MS)
    phone_page = page_problems.watch(phone.new_page())
    on_phone = {
        "review": review_url,
        "dashboard": "/",
        "course": course_url,
        "roster": roster_url,
        "take-attendance": take_url,
        "course-report": report_url,
    }
    for name, url in on_phone.items():
        name += "-phone"
        phone_page.goto(url)
        expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
        if url == review_url:
            expect(roster_badge(phone_page, lfw_a)).to_have_text("excused")
        snap(phone_page, name)
        widths = phone_page.evaluate(
            "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth})"
        )
        assert widths["doc"] <= 376 and widths["body"] <= 376, f"{name} overflows a 375 px screen: {widths}"
    phone.close()
    context.close()

    assert not page_problems.errors, "pages logged errors:\n" + "\n".join(page_problems.errors)
    assert not inaccessible, "accessibility problems:\n" + "\n".join(dict.fromkeys(inaccessible))
    print(f"browser journey took {time.monotonic() - started:.0f}s; screenshots: {len(screenshots.taken)}")


def drop_file(page: Any, selector: str, path: Path, mime: str = "image/jpeg") -> None:
    """Drag a file from the desktop onto an element: dragenter (the zone lights up), then drop."""
    transfer = page.evaluate_handle(
        """([name, b64, type]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [path.name, base64.b64encode(path.read_bytes()).decode("ascii"), mime],
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    assert "dropzone--over" in (page.locator(selector).get_attribute("class") or "")
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def xlsx_marks(path: Path, names: list[str]) -> dict[str, str]:
    """Each named student's mark in the (only) session column of the 'Students by session' table."""
    import openpyxl

    marks: dict[str, str] = {}
    for sheet in openpyxl.load_workbook(path, read_only=True).worksheets:
        header: list[Any] | None = None
        for row in sheet.iter_rows(values_only=True):
            cells = list(row)
            if cells and cells[0] == "Student" and "Number" in cells:
                header = cells
            elif header and cells and cells[0] in names:
                marks[str(cells[0])] = str(cells[-1])  # the last column: the (only) session's
    return marks


def pdf_marks(path: Path, names: list[str]) -> dict[str, str]:
    """Each named student's last mark letter on their line of the PDF's text."""
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() or "" for p in PdfReader(path).pages)
    marks: dict[str, str] = {}
    for line in text.splitlines():
        for name in names:
            found = re.search(re.escape(name) + r".*\b([PAE])\s*$", line)
            if found and name not in marks:
                marks[name] = found.group(1)
    return marks
