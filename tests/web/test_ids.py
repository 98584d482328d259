"""Every id a client sends is read one way (attendance_web.ids): no 500 for a huge number or a Unicode digit."""

from __future__ import annotations

import pytest

from attendance_web.ids import MAX_ID, parse_id
from tests.factories import seed_session

TOO_BIG = str(2**63)


def test_parse_id_takes_ascii_digits_within_the_databases_range():
    assert parse_id("42") == 42 and parse_id(7) == 7 and parse_id(str(MAX_ID)) == MAX_ID
    for bad in (
        "",
        "0",
        "-1",
        "1.0",
        " 1",
        "\N{SUPERSCRIPT TWO}",
        "\u0663",
        "\uff11",
        TOO_BIG,
        "9" * 40,
        None,
        True,
        2**64,
    ):
        assert parse_id(bad) is None, bad


@pytest.mark.parametrize("path", ["/courses/{big}", "/sessions/{big}", "/students/{big}", "/reports/courses/{big}"])
def test_an_id_too_large_for_the_database_is_not_found(teacher, path):
    assert teacher.client.get(path.format(big=TOO_BIG)).status_code == 404


def test_a_unicode_digit_in_a_query_or_form_is_no_id(app, teacher):
    seeded = seed_session(app, teacher)
    c = teacher.client
    r = c.get(f"/courses/{seeded.course_id}/sessions/new?session=\N{SUPERSCRIPT TWO}")
    assert r.status_code == 200  # a new session's page, as without the parameter
    r = c.get(f"/students/{seeded.students['Ann']}?course={TOO_BIG}")
    assert r.status_code == 200
    assert c.post("/settings/tokens/revoke", data={"token_id": "\N{SUPERSCRIPT TWO}"}).status_code == 400
    assert c.post("/settings/tokens/revoke", data={"token_id": TOO_BIG}).status_code == 400
    r = c.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": TOO_BIG})
    assert r.status_code < 500
