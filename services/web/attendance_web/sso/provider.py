"""A school's OpenID Connect provider, through Authlib: the authorization code flow with PKCE (S256), a state and a
nonce per sign-in, the provider's endpoints and keys from its discovery document.

The ID token decides who signs in. Authlib checks its signature with the provider's published keys, its nonce
against this sign-in's, its expiry (LEEWAY seconds of clock difference allowed) and its authorized party; on top,
`claims_options` requires the school's configured issuer (`iss`) and this school's client id among the audiences
(`aud`), so a token the provider made for another application is refused. Then the e-mail must be verified by the
provider and belong to one of the school's domains (accounts.match)."""

from __future__ import annotations

import time
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from authlib.oidc.core import CodeIDToken
from joserfc.errors import JoseError

from attendance_shared.models import School

from ..sealed import unseal

SCOPE = "openid email profile"
#: seconds of clock difference allowed between this server and the provider
LEEWAY = 60
#: how long a call to the provider may take
TIMEOUT = 10


def clock() -> float:
    """The time ID tokens are checked against (a test moves it)."""
    return time.time()


class SignInFailed(Exception):
    """The provider's answer signs no one in; `str` is the sentence for the teacher."""


class _IdToken(CodeIDToken):
    def validate(self, now: int | None = None, leeway: int = 0) -> None:
        super().validate(int(clock()) if now is None else now, leeway)


def domains(school: School) -> list[str]:
    return (school.sso_domains or "").split()


def is_set_up(school: School) -> bool:
    return bool(school.sso_issuer and school.sso_client_id and school.sso_client_secret and school.sso_domains)


def metadata_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def client(school: School) -> FlaskOAuth2App:
    """A client for this school's provider (built per request: each school has its own, and an admin may change
    it at any time)."""
    secret = unseal(school.sso_client_secret)
    if secret is None:
        raise SignInFailed(
            "Your school's sign-in settings cannot be read any more (the server's key changed): ask your school's "
            "admin to enter the client secret again."
        )
    return FlaskOAuth2App(
        FlaskIntegration(f"school{school.id}"),
        name=f"school{school.id}",
        client_id=school.sso_client_id,
        client_secret=secret,
        server_metadata_url=metadata_url(school.sso_issuer or ""),
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": TIMEOUT},
    )


def start(school: School, redirect_uri: str, login_hint: str) -> str:
    """The provider's sign-in page for this sign-in (its state, nonce and PKCE verifier kept in the session)."""
    app = client(school)
    try:
        found = app.create_authorization_url(redirect_uri, login_hint=login_hint)
    except (requests.RequestException, ValueError, KeyError) as error:
        raise SignInFailed(_unreachable(school)) from error
    app.save_authorize_data(redirect_uri=redirect_uri, **found)
    return str(found["url"])


def claims_options(school: School) -> dict[str, Any]:
    """Beyond Authlib's checks: this school's issuer, and its client id among the audiences."""
    return {
        "iss": {"essential": True, "value": school.sso_issuer},
        "aud": {"essential": True, "value": school.sso_client_id},
    }


def verify(school: School, token: dict[str, Any], nonce: str) -> dict[str, Any]:
    """The claims of a token response's ID token, checked as on the callback (finish), or SignInFailed."""
    try:
        claims = client(school).parse_id_token(
            token, nonce, claims_options=claims_options(school), claims_cls=_IdToken, leeway=LEEWAY
        )
    except JoseError as error:
        raise SignInFailed(_refused(error)) from error
    except requests.RequestException as error:
        raise SignInFailed(_unreachable(school)) from error
    return dict(claims or {})


def finish(school: School) -> dict[str, Any]:
    """The verified claims of the provider's answer on the callback, or SignInFailed."""
    app = client(school)
    try:
        token = app.authorize_access_token(claims_options=claims_options(school), claims_cls=_IdToken, leeway=LEEWAY)
    except OAuthError as error:
        if error.error == "access_denied":
            raise SignInFailed("Sign-in was cancelled at your school's sign-in page.") from error
        raise SignInFailed(_refused(error)) from error
    except JoseError as error:
        raise SignInFailed(_refused(error)) from error
    except requests.RequestException as error:
        raise SignInFailed(_unreachable(school)) from error
    claims = token.get("userinfo")
    if not claims:
        raise SignInFailed(_refused("no ID token"))
    return dict(claims)


def _unreachable(school: School) -> str:
    return f"Your school's sign-in service ({school.sso_issuer}) did not answer. Try again in a minute."


def _refused(error: object) -> str:
    return (
        "Your school's sign-in service sent an answer this site cannot accept (it may be expired or meant for "
        f"another application), so you are not signed in. Try again; if it keeps happening, tell your school's "
        f"admin ({type(error).__name__ if not isinstance(error, str) else error})."
    )
