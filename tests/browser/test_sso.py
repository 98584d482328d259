"""Single sign-on in Chromium, end to end against a real OpenID provider on loopback (tools/oidc/provider.mjs):
the login page's school-email form, the provider's discovery, login and consent pages, the code exchange with
PKCE, and the teacher signed in; an unknown user refused; an expired ID token refused. The app runs in a thread
of this process (werkzeug), so the provider's redirect back reaches it as it would a real server."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port
from tests.oidc_provider import OidcClient, oidc_provider

pytestmark = [pytest.mark.browser]

SECRET = "a-long-test-secret-for-the-client"


@pytest.fixture()
def served(app) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


def _sign_in_at_the_school(chromium: Any, origin: str, email: str) -> Any:
    context = chromium.new_context(base_url=origin)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("School email").fill(email)
    page.get_by_role("button", name="Sign in with your school account").click()
    page.locator("input[name=login]").wait_for()  # the provider's own sign-in page, found through discovery
    assert page.locator("input[name=login]").input_value() == email  # login_hint
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").wait_for()  # its consent page
    with page.expect_navigation(url=re.compile(re.escape(origin) + r"/(login)?(\?.*)?$")):
        page.locator("button[type=submit]").click()
    return context, page


@pytest.mark.timeout(180)
def test_a_teacher_signs_in_with_the_school_account_and_a_stranger_is_refused(
    app, served, teacher_factory, chromium, monkeypatch
):
    domain = f"s{uuid.uuid4().hex[:8]}.example.org"
    client = OidcClient("attendance", SECRET, f"{served}/login/sso/callback")
    with oidc_provider((client,)) as provider:
        admin = teacher_factory("Ada")
        saved = admin.client.post(
            "/school/sign-in",
            data={"issuer": provider.issuer, "client_id": client.client_id, "client_secret": SECRET, "domains": domain},
        )
        assert saved.status_code == 303
        assert admin.client.post("/school/invitations", data={"email": f"jordan@{domain}"}).status_code == 201

        context, page = _sign_in_at_the_school(chromium, served, f"jordan@{domain}")
        try:
            assert page.get_by_role("heading", name="My courses").is_visible()
        finally:
            context.close()

        context, page = _sign_in_at_the_school(chromium, served, f"stranger@{domain}")
        try:
            assert page.url.startswith(f"{served}/login")
            assert page.get_by_text(f"stranger@{domain} has no account at").is_visible()
        finally:
            context.close()

        # The app's clock two hours on: the provider's ID token (an hour's life) has expired when it arrives.
        from attendance_web.sso import provider as sso_provider

        monkeypatch.setattr(sso_provider, "clock", lambda: time.time() + 2 * 3600)
        context, page = _sign_in_at_the_school(chromium, served, f"jordan@{domain}")
        try:
            assert page.url.startswith(f"{served}/login")
            assert page.get_by_text("sent an answer this site cannot accept").is_visible()
        finally:
            context.close()
