"""The settings page in real Chromium: a new API token is shown once, survives no reload, and can be copied.

Requests are answered in-process by the Flask app (Playwright's request routing), on http://localhost so that the
page is a secure context and the Clipboard API is there, as it is on the HTTPS site.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import ApiToken, Teacher
from attendance_shared.settings import get_settings
from tests.browser.in_process import forward_to, in_process_context

pytestmark = [pytest.mark.browser]

ORIGIN = "http://localhost"


def _open(chromium: Any, teacher: Any) -> Any:
    posts: list[str] = []
    return in_process_context(chromium, teacher.client, ORIGIN, posts=posts), posts


def _tokens(teacher: Any) -> int:
    with session_scope(get_settings().sqlalchemy_url) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))
        return int(s.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.teacher_id == teacher_id)) or 0)


@pytest.mark.timeout(120)
def test_reloading_after_creating_a_token_creates_no_second_one_and_copy_copies_it(teacher, chromium: Any) -> None:
    from playwright.sync_api import expect

    posts: list[str] = []
    context = chromium.new_context(base_url=ORIGIN)
    # Playwright routes no redirected request, and Chromium does not route the GET that a reloaded POST's 303 leads
    # to: the handler follows a POST's redirect itself (the 303 to /settings is checked in tests/web/test_account.py).
    context.route(f"{ORIGIN}/**", forward_to(teacher.client, posts=posts, follow_post_redirects=True))
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ORIGIN)
        page = context.new_page()
        page.goto("/settings")
        page.get_by_label("Name").fill("Moodle sync")
        page.get_by_role("button", name="Create token").click()
        shown = page.locator("#new-token")
        expect(shown).to_be_visible()
        token = shown.input_value()
        assert token.startswith("att_")
        assert urlsplit(page.url).path == "/settings/tokens"  # the POST's own answer: the secret is kept nowhere
        page.get_by_role("button", name="Copy").click()
        expect(page.locator(".copy-status")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == token

        page.reload()  # Chromium sends the POST again, with the nonce the token spent
        expect(page.get_by_text("That token was already created; its secret is shown only once.")).to_be_visible()
        expect(page.get_by_text("Moodle sync", exact=True)).to_be_visible()
        expect(page.locator("#new-token")).to_have_count(0)
        assert token not in page.content()
        assert posts == ["/settings/tokens", "/settings/tokens"]
        assert _tokens(teacher) == 1
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_the_retention_days_box_is_styled_like_the_other_inputs(teacher, chromium: Any) -> None:
    """style.css had no rule for input[type=number]: the box kept the browser's default, small and unlike the rest."""
    context, _ = _open(chromium, teacher)
    try:
        page = context.new_page()
        page.goto("/settings")
        style = """el => { const s = getComputedStyle(el);
            return [s.fontSize, s.paddingTop, s.paddingLeft, s.borderTopWidth, s.borderTopColor, s.borderTopLeftRadius,
                    el.getBoundingClientRect().height, el.getBoundingClientRect().width]; }"""
        days = page.locator("input[type=number]#photo_retention_days").evaluate(style)
        name = page.locator("input[type=text]#name").evaluate(style)
        assert days[:7] == name[:7]  # same font, padding, border, corners, hence height
        assert days[7] >= 120  # wide enough for the number and the browser's spin buttons
    finally:
        context.close()
