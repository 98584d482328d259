"""The web's one rule for "this request gets JSON" and its one JSON error shape (attendance_web.responses)."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from attendance_web.responses import STATUS_WORDS, answer, json_error, status_word, wants_json

WORD = re.compile(r"^[a-z][a-z0-9_]*$")  # the API's Error.code pattern (api/openapi.py)


@pytest.fixture()
def bare_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "unit"  # flash() needs a session
    return app


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, False),  # the test client, curl without -H
        ("*/*", False),  # fetch() without headers
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # a browser
        ("text/html, application/json", False),
        ("application/json, text/html", False),  # a tie: HTML wins
        ("application/json", True),  # review.js, session.js, job.js, roster.js
        ("application/json, */*", True),
        ("application/json, text/plain, */*", True),  # axios
        ("application/json, text/javascript, */*; q=0.01", True),  # jQuery's dataType json
    ],
)
def test_json_is_for_a_client_that_ranks_it_above_html(bare_app: Flask, accept: str | None, expected: bool) -> None:
    headers = {"Accept": accept} if accept else {}
    with bare_app.test_request_context("/courses/1/sessions", headers=headers):
        assert wants_json() is expected


@pytest.mark.parametrize("path", ["/jobs/abc.json", "/api/v1/courses", "/api/v1/nothing-here"])
def test_the_api_and_json_urls_get_json_whatever_the_client_accepts(bare_app: Flask, path: str) -> None:
    with bare_app.test_request_context(path, headers={"Accept": "text/html"}):
        assert wants_json()


def test_an_error_is_a_word_code_and_a_sentence_never_cached(bare_app: Flask) -> None:
    with bare_app.test_request_context("/"):
        response, status = json_error(409, "already_uploaded", "Already there.", details=[{"code": "duplicate_photo"}])
        assert status == 409 and response.headers["Cache-Control"] == "no-store"
        assert response.get_json() == {
            "error": {"code": "already_uploaded", "message": "Already there.", "details": [{"code": "duplicate_photo"}]}
        }
        response, status = json_error(404, None, "Gone.", beside={"errors": [], "session_id": None})
        assert status == 404
        assert response.get_json() == {
            "error": {"code": "not_found", "message": "Gone."},
            "errors": [],
            "session_id": None,
        }


def test_every_status_has_a_word(bare_app: Flask) -> None:
    assert all(WORD.match(word) for word in STATUS_WORDS.values())
    assert status_word(429) == "too_many_requests" and status_word(418) == "http_error"


def test_a_refused_action_answers_a_script_with_the_error_shape_and_a_form_with_a_redirect(bare_app: Flask) -> None:
    json = {"Accept": "application/json"}
    with bare_app.test_request_context("/faces/1/confirm", method="POST", headers=json):
        r = bare_app.make_response(answer("Not waiting.", "/sessions/1", ok=False, http_status=409))
        assert r.status_code == 409 and r.headers["Cache-Control"] == "no-store"
        assert r.get_json() == {
            "ok": False,
            "message": "Not waiting.",
            "error": {"code": "conflict", "message": "Not waiting."},
        }
    with bare_app.test_request_context("/faces/1/confirm", method="POST", headers=json):
        r = bare_app.make_response(answer("Confirmed.", "/sessions/1", student_id=3))
        assert r.status_code == 200 and r.get_json() == {"ok": True, "message": "Confirmed.", "student_id": 3}
    with bare_app.test_request_context("/faces/1/confirm", method="POST"):
        r = bare_app.make_response(answer("Not waiting.", "/sessions/1#face-1", ok=False, http_status=409))
        assert r.status_code == 303 and r.headers["Location"] == "/sessions/1#face-1"


def test_the_pages_and_the_api_send_the_same_error_shape(client) -> None:
    """An unknown URL asked for as JSON, under the API or not; the same URL in a browser is a page."""
    page = client.get("/no-such-page", headers={"Accept": "application/json"})
    api = client.get("/api/v1/no-such-thing")
    for r in (page, api):
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", r.data
        assert set(r.get_json()) == {"error"} and r.get_json()["error"]["message"]
    assert client.get("/no-such-page").mimetype == "text/html"


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/login", "text/html"), ("/jobs/x.json", "application/json"), ("/api/v1/courses", "application/json")],
)
def test_a_method_not_allowed_says_which_are(client, path: str, accept: str) -> None:
    """RFC 9110: a 405 carries Allow. The error handlers build their own response and dropped it."""
    r = client.delete(path, headers={"Accept": accept})
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET"}, r.headers
