"""review.js when a correction is not saved: the teacher reads why and can try again.

Real Chromium runs the review page's real script; its requests are answered in-process by the Flask
app (Playwright's request routing), so no server or worker is needed. A failing answer comes from a
second client: signed out (redirected to the login page) or without the form's CSRF token.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.in_process import forward_to
from tests.factories import seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://review.test"


@pytest.mark.timeout(120)
def test_a_failed_correction_is_explained_and_the_buttons_work_again(app, teacher, chromium: Any) -> None:
    from playwright.sync_api import expect

    from attendance_web import create_app

    seeded = seed_session(app, teacher)
    signed_out = app.test_client()
    strict = create_app(TESTING=True, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False).test_client()
    answer_posts_with: list[Any] = [teacher.client]

    # POSTs follow the redirect to the login page, as fetch does.
    forward = forward_to(teacher.client, post_client=lambda: answer_posts_with[0], follow_post_redirects=True)
    context = chromium.new_context(base_url=ORIGIN)
    try:
        context.route(f"{ORIGIN}/**", forward)
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        live = page.locator("#review-live")
        confirm = page.locator(f"form[action='/faces/{seeded.faces['cat']}/confirm'] button").first

        answer_posts_with[0] = strict  # the form's CSRF token is not accepted
        confirm.click()
        expired = "This form has expired or was not sent from this site. Please reload the page and try again."
        expect(live).to_have_text(expired)
        expect(live).to_have_class("live live--error")
        expect(confirm).to_be_enabled()

        answer_posts_with[0] = signed_out  # the login session expired: redirected to the login page
        confirm.click()
        expect(live).to_have_text("Could not save: please reload the page and sign in again.")
        expect(confirm).to_be_enabled()

        answer_posts_with[0] = teacher.client  # signed in again: the same button now saves
        confirm.click()
        expect(live).to_have_class("live live--ok")
        expect(live).not_to_be_empty()
        expect(page.locator(f"form[action='/faces/{seeded.faces['cat']}/confirm']")).to_have_count(0)
    finally:
        context.close()
