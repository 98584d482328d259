"""The test OpenID provider itself: discovery, login, consent and a PKCE code exchange give a signed ID token.

Single sign-on tests stand on this provider; this test proves it speaks the protocol before they use it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oidc_provider import OidcClient, oidc_provider

CLIENT = OidcClient("attendance", "a-long-test-secret-for-the-client", "http://127.0.0.1:9/auth/oidc/callback")


def _submit(session: requests.Session, page: requests.Response, fields: dict[str, str]) -> requests.Response:
    """Post the page's form (the provider's own login and consent pages) and follow redirects up to ours."""
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, page.text[:500]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return session.post(urljoin(page.url, action.group(1)), data={**hidden, **fields}, allow_redirects=False)


def _follow(session: requests.Session, response: requests.Response) -> requests.Response:
    while response.is_redirect and not response.headers["location"].startswith(CLIENT.redirect_uri):
        response = session.get(urljoin(response.url, response.headers["location"]), allow_redirects=False)
    return response


def test_discovery_login_consent_and_code_exchange_give_a_signed_id_token():
    with oidc_provider((CLIENT,)) as provider:
        http = requests.Session()
        meta = http.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
        assert meta["issuer"] == provider.issuer and "S256" in meta["code_challenge_methods_supported"]
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        start = http.get(
            meta["authorization_endpoint"],
            params={
                "client_id": CLIENT.client_id, "redirect_uri": CLIENT.redirect_uri, "response_type": "code",
                "scope": "openid email profile", "state": "s1", "nonce": "n1",
                "code_challenge": challenge, "code_challenge_method": "S256",
            },
            allow_redirects=False,
        )  # fmt: skip
        login_page = _follow(http, start)
        login_page = http.get(login_page.url) if login_page.is_redirect else login_page
        consent = _follow(http, _submit(http, login_page, {"login": "jordan.lee@lincoln.example.org", "password": "x"}))
        back = _follow(http, _submit(http, consent, {}))
        assert back.headers["location"].startswith(CLIENT.redirect_uri)
        query = parse_qs(urlparse(back.headers["location"]).query)
        assert query["state"] == ["s1"]
        tokens = http.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": CLIENT.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(CLIENT.client_id, CLIENT.client_secret),
            timeout=5,
        ).json()  # fmt: skip
        keys = KeySet.import_key_set(http.get(meta["jwks_uri"], timeout=5).json())
        claims = jwt.decode(tokens["id_token"], keys).claims
        assert claims["iss"] == provider.issuer and claims["aud"] == CLIENT.client_id and claims["nonce"] == "n1"
        assert claims["email"] == "jordan.lee@lincoln.example.org" and claims["email_verified"] is True
