"""A property-based test of /api/v1, generated from its OpenAPI document (schemathesis, in-process WSGI).

Every operation of the served document is called with generated requests against a seeded teacher's real ids (a
course with students, a recognised session, a job) and that teacher's token. Each answer must be no 5xx, a status
code the operation documents, a body valid against the documented schema, and a 405 with `Allow` for each method
the document does not list. The examples are bounded (MAX_EXAMPLES per operation, plus schemathesis's coverage
cases) so the run stays within a minute on two busy cores; README.md's test section records the figures.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from ..factories import seed_api_token, seed_job, seed_session

# Not in make test-fast (about 30 s): make test runs it.
pytestmark = pytest.mark.slow

MAX_EXAMPLES = 25
# The four properties. Not `positive_data_acceptance`: a schema-valid photo field holds any bytes, and no
# document can say "a decodable image"; the 422 (`no_usable_photos`) that answers them is documented.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
]


@pytest.fixture()
def api_schema(app, teacher, jobs_not_sent):
    """The served document, loaded through the app (WSGI, in-process), with the seeded teacher's token and real ids
    pinned for the path parameters (generated ids would mostly test the 404)."""
    seeded = seed_session(app, teacher)
    job_id = seed_job(app, seeded.teacher_id, seeded.session_id)
    token = seed_api_token(app, seeded.teacher_id, "fuzzer")
    config = schemathesis.Config.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "parameters": {
                "course_id": seeded.course_id,
                "session_id": seeded.session_id,
                "job_id": job_id,
                "student_id": seeded.students["Ann"],
            },
        }
    )
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32 names each operation's subtest through `Function._nodeid`, which pytest 9.2 no longer
    has (its node id is `nodeid`): give it the attribute it reads and restores."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # two busy cores: a slow request is not a failure here
    database=None,  # no .hypothesis folder in the checkout; a failure prints its reproduction instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_every_operation_answers_as_documented(case):
    """No 5xx; a documented status, content type, body and headers; 405 with `Allow` for an undocumented method
    (the coverage phase sends DELETE, PATCH, PUT, TRACE... to every path)."""
    case.call_and_validate(checks=CHECKS)
