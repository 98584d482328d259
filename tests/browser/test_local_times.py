"""Times in the reader's time zone: static/times.js rewrites each server-rendered UTC <time> to the browser's
local time (Chromium with a New York time zone), keeps the UTC text in its title, leaves a session's date alone,
and also rewrites times that a script puts in the page later (the review page refreshes itself in place)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.browser.conftest import PageProblems
from tests.browser.in_process import in_process_context
from tests.factories import seed_moments

pytestmark = [pytest.mark.browser]

ORIGIN = "http://localhost"
# 03:10 UTC on 7 December is 22:10 on 6 December in New York (EST, UTC-5): the date moves too.
MOMENT = dt.datetime(2026, 12, 7, 3, 10, tzinfo=dt.UTC)


@pytest.mark.timeout(120)
def test_times_are_shown_in_the_browsers_time_zone(app, teacher, chromium: Any, page_problems: PageProblems) -> None:
    from playwright.sync_api import expect

    course_id, session_id = seed_moments(app, teacher, MOMENT)
    context = in_process_context(chromium, teacher.client, ORIGIN, timezone_id="America/New_York", locale="en-US")
    try:
        page = page_problems.watch(context.new_page())
        for url in ("/settings", "/", f"/courses/{course_id}/roster", f"/sessions/{session_id}"):
            page.goto(url)
            times = page.locator("time[datetime='2026-12-07T03:10:00Z']")
            expect(times.first).to_have_text("2026-12-06 22:10")
            for i in range(times.count()):
                expect(times.nth(i)).to_have_text("2026-12-06 22:10")
                expect(times.nth(i)).to_have_attribute("title", "2026-12-07 03:10 UTC")
            assert " UTC" not in page.locator("main").inner_text(), url

        # On the review page the session's date (a day, not a moment) is not shifted to 6 December.
        expect(page.locator("h1")).to_have_text("2026-12-07 · P1")

        # Content put in the page later by a script (review.js replaces the review's HTML) is rewritten too.
        page.evaluate(
            """() => { const li = document.createElement('li');
                li.innerHTML = '<time id="late" datetime="2026-07-01T12:00:00Z">2026-07-01 12:00 UTC</time>'
                    + ' <time id="day" datetime="2026-07-01">2026-07-01</time>';
                document.querySelector('#history ol').appendChild(li); }"""
        )
        expect(page.locator("#late")).to_have_text("2026-07-01 08:00")  # summer: EDT, UTC-4
        expect(page.locator("#day")).to_have_text("2026-07-01")
        assert page_problems.errors == []
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_without_script_the_utc_time_stays(app, teacher, chromium: Any) -> None:
    seed_moments(app, teacher, MOMENT)
    context = in_process_context(
        chromium, teacher.client, ORIGIN, timezone_id="America/New_York", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/settings")
        assert page.locator("time[datetime='2026-12-07T03:10:00Z']").first.inner_text() == "2026-12-07 03:10 UTC"
    finally:
        context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14 and UTC-11
def test_a_new_lessons_date_is_the_teachers_today(teacher, chromium: Any, zone: str) -> None:
    """The form's date was the server's today (UTC): a day off for much of the day at either end of the world."""
    from zoneinfo import ZoneInfo

    course = teacher.create_course("Dates")
    context = in_process_context(chromium, teacher.client, ORIGIN, timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        value = page.locator("input[name=date]").input_value()
        local_today = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
        assert value == local_today or value == dt.datetime.now(ZoneInfo(zone)).date().isoformat(), value
        # A date the teacher chose (back from a refused upload) is theirs: never replaced.
        page.goto(f"/courses/{course}/sessions/new?date=2026-01-05&label=P1")
        assert page.locator("input[name=date]").input_value() == "2026-01-05"
    finally:
        context.close()
