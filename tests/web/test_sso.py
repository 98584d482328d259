"""Single sign-on (attendance_web.sso) against a real OpenID provider on loopback (tests/oidc_provider.py): the
admin's settings, the login page's school-email form, and the provider's answers the callback refuses. The
browser's own journey: tests/browser/test_sso.py."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import School, Teacher
from tests.oidc_provider import OidcClient, RunningProvider, oidc_provider

CALLBACK = "http://localhost/login/sso/callback"
APP_CLIENT = OidcClient("attendance", "a-long-test-secret-for-the-client", CALLBACK)
OTHER_CLIENT = OidcClient("another-app", "another-long-secret-for-another-app", "http://127.0.0.1:9/cb")
PASSWORD = "correct horse battery"


def _domain() -> str:
    return f"s{uuid.uuid4().hex[:8]}.example.org"


def _db(app):
    return session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url)


def _configure(admin, issuer: str, domain: str, client: OidcClient = APP_CLIENT, **extra: str):
    data = {"issuer": issuer, "client_id": client.client_id, "client_secret": client.client_secret, "domains": domain}
    return admin.client.post("/school/sign-in", data={**data, **extra})


def _provider_form(http: requests.Session, page: requests.Response, fields: dict[str, str]) -> requests.Response:
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, page.text[:500]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return http.post(urljoin(page.url, action.group(1)), data={**hidden, **fields}, allow_redirects=False)


def _follow(http: requests.Session, response: requests.Response, stop: str) -> requests.Response:
    while response.is_redirect and not response.headers["location"].startswith(stop):
        response = http.get(urljoin(response.url, response.headers["location"]), allow_redirects=False)
    return response


def _sign_in(client, email: str, login: str | None = None):
    """The school-email form, the provider's login and consent pages (as a browser would), then the callback."""
    r = client.post("/login/sso", data={"school_email": email})
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    where = re.search(r'<a href="([^"]+)">open your school', r.get_data(as_text=True))
    assert where
    http = requests.Session()
    page = _follow(http, http.get(where.group(1).replace("&amp;", "&"), allow_redirects=False), CALLBACK)
    page = http.get(page.url) if page.is_redirect else page
    consent = _follow(http, _provider_form(http, page, {"login": login or email, "password": "x"}), CALLBACK)
    back = _follow(http, _provider_form(http, consent, {}), CALLBACK)
    assert back.headers["location"].startswith(CALLBACK), back.text[:500]
    return client.get("/login/sso/callback?" + urlparse(back.headers["location"]).query)


@pytest.fixture(scope="module")
def provider() -> RunningProvider:
    with oidc_provider((APP_CLIENT, OTHER_CLIENT)) as running:
        yield running


def test_only_an_admin_sets_it_up_and_the_secret_is_never_shown_back(app, teacher_factory, provider):
    admin = teacher_factory("Ada")
    domain = _domain()
    r = _configure(admin, provider.issuer, domain)
    assert r.status_code == 303
    page = admin.client.get("/school/sign-in").get_data(as_text=True)
    assert APP_CLIENT.client_secret not in page and "A client secret is saved" in page
    assert "/login/sso/callback" in page  # the redirect URI to register
    with _db(app) as s:
        school = s.scalar(select(School).where(School.sso_domains == domain))
        assert school.sso_client_secret and APP_CLIENT.client_secret not in school.sso_client_secret
    # saving again without a secret keeps it
    assert _configure(admin, provider.issuer, domain, client_secret="").status_code == 303
    with _db(app) as s:
        assert s.scalar(select(School.sso_client_secret).where(School.sso_domains == domain))
    bad = _configure(admin, provider.issuer, "not a domain")
    assert bad.status_code == 400 and "is not an e-mail domain" in bad.get_data(as_text=True)
    other = teacher_factory("Bea")  # an admin of another school cannot take the same domain
    taken = _configure(other, provider.issuer, domain)
    assert taken.status_code == 400 and "already signs in through another school" in taken.get_data(as_text=True)
    invited = _invite(admin, f"kim@{domain}")
    assert invited.post("/login", data={"email": f"kim@{domain}", "password": PASSWORD}).status_code == 302
    assert invited.post("/school/sign-in", data={"domains": domain}).status_code == 404  # a teacher cannot


def _invite(admin, email: str):
    made = admin.client.post("/school/invitations", data={"email": email})
    assert made.status_code == 201
    link = re.search(rb'value="http://localhost(/join/[^"]+)"', made.data)
    return _accept_with_password(admin.client.application, link.group(1).decode())


def _accept_with_password(app, path: str):
    client = app.test_client()
    r = client.post(path, data={"name": "Kim", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 303
    return client


def test_sign_in_with_the_school_account_accepts_an_invitation(app, teacher_factory, provider):
    admin = teacher_factory("Ada")
    domain = _domain()
    _configure(admin, provider.issuer, domain)
    admin.client.post("/school/invitations", data={"email": f"jordan@{domain}"})
    client = app.test_client()
    assert "Sign in with your school account" in client.get("/login").get_data(as_text=True)
    r = _sign_in(client, f"Jordan@{domain}", login=f"jordan@{domain}")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert b"My courses" in client.get("/").data
    with _db(app) as s:
        jordan = s.scalar(select(Teacher).where(Teacher.email == f"jordan@{domain}"))
        assert jordan is not None and jordan.name == "jordan"
        admin_school = s.scalar(select(Teacher.school_id).where(Teacher.email == admin.email))
        assert jordan.school_id == admin_school
    again = app.test_client()  # the account exists now: a later sign-in finds it
    assert _sign_in(again, f"jordan@{domain}").status_code == 302


def test_unknown_unverified_and_disabled_users_are_refused(app, teacher_factory, provider):
    admin = teacher_factory("Ada")
    domain = _domain()
    _configure(admin, provider.issuer, domain)
    client = app.test_client()
    r = _sign_in(client, f"nobody@{domain}")
    assert r.status_code == 303
    assert f"nobody@{domain} has no account at" in client.get(r.location).get_data(as_text=True)
    assert client.get("/").status_code == 302
    admin.client.post("/school/invitations", data={"email": f"unverified-ann@{domain}"})
    r = _sign_in(client, f"unverified-ann@{domain}")
    assert "has not verified" in client.get(r.location).get_data(as_text=True)
    kim = _invite(admin, f"kim@{domain}")
    with _db(app) as s:
        kim_id = s.scalar(select(Teacher.id).where(Teacher.email == f"kim@{domain}"))
    admin.client.post(f"/school/teachers/{kim_id}/disable")
    r = _sign_in(client, f"kim@{domain}")
    assert "This account is disabled" in client.get(r.location).get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert kim.get("/").status_code == 302


def test_an_address_of_no_school_is_told_to_use_its_password(app, client, provider):
    r = client.post("/login/sso", data={"school_email": "ann@nowhere.example.org"})
    assert r.status_code == 303
    assert "No school signs in with nowhere.example.org accounts" in client.get(r.location).get_data(as_text=True)


def test_an_expired_id_token_is_refused(app, teacher_factory, provider, monkeypatch):
    from attendance_web.sso import provider as sso_provider

    admin = teacher_factory("Ada")
    domain = _domain()
    _configure(admin, provider.issuer, domain)
    admin.client.post("/school/invitations", data={"email": f"late@{domain}"})
    monkeypatch.setattr(sso_provider, "clock", lambda: time.time() + 2 * 3600)  # the token lives an hour
    client = app.test_client()
    r = _sign_in(client, f"late@{domain}")
    assert r.status_code == 303
    said = client.get(r.location).get_data(as_text=True)
    assert "cannot accept" in said and "ExpiredTokenError" in said
    assert client.get("/").status_code == 302


def _token_for(provider: RunningProvider, client: OidcClient, login: str, nonce: str) -> dict:
    """A token response of the provider for `client` (the code flow with PKCE, driven by hand)."""
    import base64
    import hashlib

    http = requests.Session()
    meta = http.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    start = http.get(
        meta["authorization_endpoint"],
        params={
            "client_id": client.client_id, "redirect_uri": client.redirect_uri, "response_type": "code",
            "scope": "openid email profile", "state": "s", "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )  # fmt: skip
    page = _follow(http, start, client.redirect_uri)
    page = http.get(page.url) if page.is_redirect else page
    consent = _follow(http, _provider_form(http, page, {"login": login, "password": "x"}), client.redirect_uri)
    back = _follow(http, _provider_form(http, consent, {}), client.redirect_uri)
    code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
    return http.post(
        meta["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri,
              "code_verifier": verifier},
        auth=(client.client_id, client.client_secret),
        timeout=5,
    ).json()  # fmt: skip


def test_a_token_made_for_another_application_is_refused(app, teacher_factory, provider):
    from attendance_web.sso import provider as sso_provider

    admin = teacher_factory("Ada")
    domain = _domain()
    _configure(admin, provider.issuer, domain)
    with _db(app) as s:
        school = s.scalar(select(School).where(School.sso_domains == domain))
        s.expunge(school)
    ours = _token_for(provider, APP_CLIENT, f"ann@{domain}", "n1")
    theirs = _token_for(provider, OTHER_CLIENT, f"ann@{domain}", "n1")
    with app.test_request_context():
        assert sso_provider.verify(school, ours, "n1")["email"] == f"ann@{domain}"
        with pytest.raises(sso_provider.SignInFailed, match=r"another application.*InvalidClaimError"):
            sso_provider.verify(school, theirs, "n1")
        with pytest.raises(sso_provider.SignInFailed):
            sso_provider.verify(school, ours, "another nonce")


def test_password_sign_in_off_sends_the_schools_teachers_to_their_school_account(app, teacher_factory, provider):
    admin = teacher_factory("Ada")
    domain = _domain()
    refused = admin.client.post("/school/sign-in", data={"domains": domain, "password_sign_in_off": "y"})
    assert refused.status_code == 400 and "only once the issuer" in refused.get_data(as_text=True)
    kim = _invite(admin, f"kim@{domain}")
    assert _configure(admin, provider.issuer, domain, password_sign_in_off="y").status_code == 303
    client = app.test_client()
    r = client.post("/login", data={"email": f"kim@{domain}", "password": PASSWORD})
    assert r.status_code == 403 and "Sign in with your school account" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302
    wrong = client.post("/login", data={"email": f"kim@{domain}", "password": "not the password"})
    assert wrong.status_code == 401  # a wrong password learns nothing about the school
    assert kim.get("/").status_code == 302  # never signed in with the password, and cannot now


def test_in_production_the_issuer_must_be_public_and_https(app, monkeypatch):
    """The server fetches the issuer's discovery document: never the instance's own network (the metadata service)."""
    from wtforms.validators import ValidationError

    from attendance_web.sso import forms

    class Production:
        is_production = True

    class Field:
        def __init__(self, data: str) -> None:
            self.data = data

    monkeypatch.setattr(forms, "settings", lambda: Production())
    for url, words in (
        ("http://accounts.google.com", "https://"),
        ("https://169.254.169.254/latest", "not a public address"),
        ("https://127.0.0.1:8443", "not a public address"),
        ("https://10.0.0.5", "not a public address"),
    ):
        with pytest.raises(ValidationError, match=words):
            forms.public_https_issuer(None, Field(url))  # type: ignore[arg-type]
