"""Every moment on a page is a <time datetime="...Z"> element with its UTC text (correct without script;
static/times.js turns it into the reader's local time); a session's date is a day, never a moment."""

from __future__ import annotations

import datetime as dt
import re

from attendance_web.times import utc_iso, utc_time
from tests.factories import seed_moments

MOMENT = dt.datetime(2026, 12, 7, 7, 50, 12, 345678, tzinfo=dt.UTC)
TIME_TAG = '<time datetime="2026-12-07T07:50:12Z">2026-12-07 07:50 UTC</time>'


def test_the_filter_writes_utc_iso_and_utc_text():
    assert str(utc_time(MOMENT)) == TIME_TAG
    naive = MOMENT.replace(tzinfo=None)  # as SQLite gives it back: UTC without a zone
    assert str(utc_time(naive)) == TIME_TAG
    paris = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert str(utc_time(paris)) == TIME_TAG and utc_iso(paris) == "2026-12-07T07:50:12Z"
    assert str(utc_time(None, "never")) == "never" and str(utc_time(None, "<b>")) == "&lt;b&gt;"


def test_every_page_with_moments_writes_time_elements(app, teacher):
    course_id, session_id = seed_moments(app, teacher, MOMENT)
    pages = {
        "review history": f"/sessions/{session_id}",
        "dashboard jobs": "/",
        "api tokens": "/settings",
        "roster imports": f"/courses/{course_id}/roster",
    }
    for what, url in pages.items():
        r = teacher.client.get(url)
        assert r.status_code == 200, what
        html = r.get_data(as_text=True)
        assert TIME_TAG in html, what
        # Every UTC text is inside a <time> with an ISO 8601 UTC datetime, and the page loads times.js.
        assert html.count(" UTC</time>") == html.count(" UTC"), what
        for iso in re.findall(r'<time datetime="([^"]+)"', html):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", iso), (what, iso)
        assert '<script src="/static/times.js"></script>' in html, what
    # A session's date is a day: shown as it is, not as a moment to shift.
    review = teacher.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "<h1>2026-12-07 · P1</h1>" in review
