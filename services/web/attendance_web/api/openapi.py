"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Written by hand, next to the code it describes; tests/web/test_api.py fails when its paths and methods
differ from the Flask routes, and validates real responses against the schemas below.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

NULLABLE_STRING = {"type": ["string", "null"]}
DATE = {"type": "string", "format": "date"}
# A date a client sends: RFC 3339's full-date only; ISO 8601's basic (20261201) and week forms answer 400.
DATE_FIELD = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
# An optional date in a query string: left out or empty means no bound (`from=&to=` is a script's unset variables).
OPTIONAL_DATE_FIELD = {"anyOf": [DATE_FIELD, {"type": "string", "maxLength": 0}]}
# ids.py: what both databases store.
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """An object whose properties are all always present (null where a value is unknown)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties)}
    if description:
        schema["description"] = description
    return schema


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _error_response(description: str) -> dict[str, Any]:
    return _json_response(description, "Error")


ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_]*$",
                        "description": "Stable, snake_case; branch on this, not on the message.",
                        "examples": ["token_missing", "token_invalid", "token_revoked", "not_found", "invalid_date"],
                    },
                    "message": {"type": "string", "description": "A sentence a teacher can read."},
                    "details": {"type": "array", "items": _ref("UploadProblem")},
                },
            }
        },
        "Every error answer has this shape.",
    ),
    "UploadProblem": _object(
        {
            "code": {"type": "string", "enum": ["image_rejected", "duplicate_photo"]},
            "file": {"type": "string", "description": "The uploaded file's name, for display only."},
            "message": {"type": "string"},
        },
        "One uploaded file that was not added, and why.",
    ),
    "Course": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "code": NULLABLE_STRING,
            "student_count": {"type": "integer"},
            "session_count": {"type": "integer"},
            "created_at": TIMESTAMP,
        }
    ),
    "CourseList": _object({"courses": {"type": "array", "items": _ref("Course")}}),
    "Student": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "student_number": {"type": "string"},
            "email": NULLABLE_STRING,
            "accepted_photos": {"type": "integer", "description": "Portraits usable for recognition."},
        }
    ),
    "StudentList": _object({"course_id": {"type": "integer"}, "students": {"type": "array", "items": _ref("Student")}}),
    "SessionSummary": _object(
        {
            "id": {"type": "integer"},
            "course_id": {"type": "integer"},
            "date": DATE,
            "label": {"type": "string"},
            "photo_count": {"type": "integer"},
            "created_at": TIMESTAMP,
            "url": {"type": "string", "description": "This session's result in the API."},
        }
    ),
    "SessionList": _object(
        {"course_id": {"type": "integer"}, "sessions": {"type": "array", "items": _ref("SessionSummary")}}
    ),
    "Job": _object(
        {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["attendance", "enrollment"]},
            "state": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "message": NULLABLE_STRING,
            "error": {**NULLABLE_STRING, "description": "Why the job failed, in words."},
            "done": {"type": "boolean", "description": "True once the state is succeeded or failed."},
            "created_at": TIMESTAMP,
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "session_id": {"type": ["integer", "null"]},
            "session_url": NULLABLE_STRING,
        }
    ),
    "SessionCreated": _object(
        {
            "session": _ref("SessionSummary"),
            "job": _ref("Job"),
            "poll_url": {"type": "string", "description": "GET this until job.done is true."},
            "errors": {"type": "array", "items": _ref("UploadProblem")},
            "message": {"type": "string"},
        }
    ),
    "Photo": _object(
        {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["queued", "processing", "detecting", "matching", "done", "failed"]},
            "error": NULLABLE_STRING,
            "face_count": {"type": ["integer", "null"]},
        }
    ),
    "Record": _object(
        {
            "student_id": {"type": "integer"},
            "name": {"type": "string"},
            "student_number": {"type": "string"},
            "enrolled": {"type": "boolean", "description": "False for a student who left the course since."},
            "status": {
                "enum": ["present", "late", "absent", "excused", "unconfirmed", None],
                "description": (
                    "null: not taken yet. unconfirmed: a face of the student waits for the teacher's confirmation "
                    "(recognition was not sure); not absent until the teacher decides."
                ),
            },
            "source": {"enum": ["auto", "manual", None]},
            "similarity": {"type": ["number", "null"]},
            "confirm_url": {
                "type": ["string", "null"],
                "description": "For an unconfirmed student: the web page of the face waiting for confirmation.",
            },
            "decided_by": {
                "enum": ["recognition", "teacher", None],
                "description": (
                    "Who gave the status: teacher also for an automatic record whose status came from the "
                    "teacher's action (a rejected face that left the student absent). null: no record."
                ),
            },
            "decision": {"type": ["string", "null"], "description": "What the teacher did (the history's note)."},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "FaceCounts": _object(
        {
            "total": {"type": "integer", "description": "Faces found in the session's photos."},
            "matched": {"type": "integer", "description": "Faces attributed to a student."},
            "to_confirm": {"type": "integer", "description": "Likely matches waiting for the teacher to confirm."},
            "unknown": {
                "type": "integer",
                "description": "Faces the engine could not match and the teacher has not assigned.",
            },
        }
    ),
    "SessionDetail": {
        "allOf": [
            _ref("SessionSummary"),
            _object(
                {
                    "photos": {"type": "array", "items": _ref("Photo")},
                    "records": {"type": "array", "items": _ref("Record")},
                    "faces": _ref("FaceCounts"),
                    "unknown_count": {"type": "integer"},
                }
            ),
        ]
    },
    "ReportStudent": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "student_number": {"type": "string"},
            "enrolled": {"type": "boolean", "description": "False for a student who left but has marks in the range."},
            "present": {"type": "integer"},
            "late": {"type": "integer", "description": "Sessions the student came late to: attended, counted apart."},
            "absent": {"type": "integer"},
            "excused": {"type": "integer"},
            "not_taken": {"type": "integer"},
            "unconfirmed": {
                "type": "integer",
                "description": "Sessions where a face of the student waits for the teacher's confirmation: not absent.",
            },
            "rate": {
                "type": ["number", "null"],
                "description": (
                    "(present + late) / (present + late + absent), 4 decimals: late counts as attended; excused and "
                    "not-taken sessions do not count; "
                    "null when no session counts."
                ),
            },
            "attendance": {
                "type": "array",
                "items": {"enum": ["present", "late", "absent", "excused", "unconfirmed", None]},
                "description": (
                    "One status per entry of `sessions`, in the same order; unconfirmed: waiting for the "
                    "teacher's confirmation (not counted in the rate)."
                ),
            },
        }
    ),
    "CourseReport": _object(
        {
            "course": _object({"id": {"type": "integer"}, "name": {"type": "string"}, "code": NULLABLE_STRING}),
            "from": {"type": ["string", "null"], "format": "date"},
            "to": {"type": ["string", "null"], "format": "date"},
            "sessions": {
                "type": "array",
                "items": _object({"id": {"type": "integer"}, "date": DATE, "label": {"type": "string"}}),
            },
            "students": {"type": "array", "items": _ref("ReportStudent")},
        }
    ),
    "SchoolTally": _object(
        {
            "present": {"type": "integer"},
            "late": {"type": "integer", "description": "Attended, counted apart."},
            "absent": {"type": "integer", "description": "Not counting students whose face waits for confirmation."},
            "excused": {"type": "integer"},
            "rate": {
                "type": ["number", "null"],
                "description": "(present + late) / (present + late + absent), 4 decimals, as in CourseReport.",
            },
        }
    ),
    "SchoolReport": _object(
        {
            "school": _object({"id": {"type": "integer"}, "name": {"type": "string"}}),
            "from": {"type": ["string", "null"], "format": "date"},
            "to": {"type": ["string", "null"], "format": "date"},
            "threshold_pct": {"type": "integer", "minimum": 0, "maximum": 100},
            "overall": _ref("SchoolTally"),
            "courses": {
                "type": "array",
                "description": "Every course of the school, by name; each counted exactly as its course report.",
                "items": {
                    "allOf": [
                        _object(
                            {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                                "teacher": {"type": "string", "description": "The course's owner."},
                                "sessions": {"type": "integer", "description": "Sessions in the range."},
                                "students": {"type": "integer"},
                            }
                        ),
                        _ref("SchoolTally"),
                    ]
                },
            },
            "chronic_absence": {
                "type": "array",
                "description": (
                    "Students who missed threshold_pct% or more of their sessions: absent / (attended + absent), "
                    "summed over the school's courses; most missed first."
                ),
                "items": {
                    "allOf": [
                        _object(
                            {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                                "student_number": {"type": "string"},
                                "teacher": {"type": "string"},
                                "courses": {"type": "array", "items": {"type": "string"}},
                                "counted": {"type": "integer", "description": "Sessions attended or absent."},
                                "missed": {"type": ["number", "null"], "description": "absent / counted, 4 decimals."},
                            }
                        ),
                        _ref("SchoolTally"),
                    ]
                },
            },
        }
    ),
}


def _id_param(name: str, kind: str, description: str) -> dict[str, Any]:
    schema = ID if kind == "integer" else {"type": kind}
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


COURSE_ID = _id_param("course_id", "integer", "One of your courses.")

PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This description",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}},
        }
    },
    "/api/v1/courses": {
        "get": {
            "operationId": "listCourses",
            "summary": "Your courses",
            "responses": {"200": _json_response("Your courses, by name", "CourseList"), "401": ERRORS["401"]},
        }
    },
    "/api/v1/courses/{course_id}": {
        "get": {
            "operationId": "getCourse",
            "summary": "One course, with its student and session counts",
            "parameters": [COURSE_ID],
            "responses": {"200": _json_response("The course", "Course"), **ERRORS},
        }
    },
    "/api/v1/courses/{course_id}/students": {
        "get": {
            "operationId": "listStudents",
            "summary": "The course's roster",
            "parameters": [COURSE_ID],
            "responses": {"200": _json_response("Students, by name", "StudentList"), **ERRORS},
        }
    },
    "/api/v1/students/{student_id}/export": {
        "get": {
            "operationId": "exportStudent",
            "summary": "Everything held about one student, as one ZIP (a subject-access export)",
            "description": (
                "The student's record, portraits as stored, faces learned from classroom photos, face templates, "
                "recognised faces, every attendance mark with its history, and the audit log's entries about them, "
                "with a README.txt saying what each file is. The export is written to the audit log."
            ),
            "parameters": [_id_param("student_id", "integer", "One of your students.")],
            "responses": {
                "200": {
                    "description": "The ZIP, as an attachment (never cached)",
                    "content": {
                        "application/zip": {"schema": {"type": "string", "contentMediaType": "application/zip"}}
                    },
                },
                **ERRORS,
            },
        }
    },
    "/api/v1/courses/{course_id}/sessions": {
        "get": {
            "operationId": "listSessions",
            "summary": "The course's attendance sessions",
            "parameters": [COURSE_ID],
            "responses": {"200": _json_response("Sessions, newest first", "SessionList"), **ERRORS},
        },
        "post": {
            "operationId": "createSession",
            "summary": "Take attendance from classroom photos",
            "description": (
                "Creates the session (or adds to the existing one with the same date and label), stores the "
                "photos and queues recognition. Poll `poll_url` until the job is done, then GET the session. "
                "To add photos to a session by its id instead, send `session_id` (then `date` and `label` are "
                "not used, but refused when invalid). Send `date` or `session_id`, and at least one photo. "
                "The photos always come in this request, also where the service stores them in S3: uploading "
                "straight to the bucket (sign, POST to S3, register) is the web pages' way, for browsers; API v1 "
                "keeps one request per batch, which a script can retry as a whole."
            ),
            "parameters": [COURSE_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["photos"],
                            "anyOf": [{"required": ["date"]}, {"required": ["session_id"]}],
                            "properties": {
                                "date": {
                                    **DATE_FIELD,
                                    "description": "The lesson's date, YYYY-MM-DD; required without session_id.",
                                },
                                "label": {"type": "string", "maxLength": 80, "examples": ["Period 3"]},
                                "session_id": {
                                    **ID,
                                    "description": "Add the photos to this session of the course instead.",
                                },
                                "photos": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                                    "description": (
                                        "One or more classroom photos (JPEG, PNG, WebP or HEIC). The field may "
                                        "also be named `photos[]`."
                                    ),
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {
                    **_json_response("Photos stored, recognition queued", "SessionCreated"),
                    "headers": {"Location": {"description": "The job to poll", "schema": {"type": "string"}}},
                },
                "400": _error_response(
                    "Neither date nor session_id, an invalid one (`invalid_date`, `invalid_session_id`), a label "
                    "too long (`invalid_label`), or no photo (`photos_required`)"
                ),
                **ERRORS,
                "409": _error_response("Every photo was already uploaded to this session (`already_uploaded`)"),
                "413": _error_response("The request is larger than the upload limit"),
                "422": _error_response("No photo could be used (`no_usable_photos`); see error.details"),
                "503": _error_response("The photo store is not answering; nothing was saved"),
            },
        },
    },
    "/api/v1/courses/{course_id}/report": {
        "get": {
            "operationId": "courseReport",
            "summary": "Attendance per student over a date range",
            "parameters": [
                COURSE_ID,
                {
                    "name": "from",
                    "in": "query",
                    "required": False,
                    "schema": OPTIONAL_DATE_FIELD,
                    "description": "First day, YYYY-MM-DD; left out or empty: from the first session",
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": False,
                    "schema": OPTIONAL_DATE_FIELD,
                    "description": "Last day, YYYY-MM-DD; left out or empty: to the last session",
                },
            ],
            "responses": {
                "200": _json_response("Sessions in the range and each enrolled student's statuses", "CourseReport"),
                "400": _error_response(
                    "A date not as YYYY-MM-DD (`invalid_date`; 20261201 too), or from after to (`invalid_date_range`)"
                ),
                **ERRORS,
            },
        }
    },
    "/api/v1/school/report": {
        "get": {
            "operationId": "schoolReport",
            "summary": "The school report: each course's attendance rate, the school's, and chronic absence",
            "description": "For a school's admin; any other token gets 404.",
            "parameters": [
                {
                    "name": "from",
                    "in": "query",
                    "required": False,
                    "schema": OPTIONAL_DATE_FIELD,
                    "description": "First day, YYYY-MM-DD; left out or empty: from the first session",
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": False,
                    "schema": OPTIONAL_DATE_FIELD,
                    "description": "Last day, YYYY-MM-DD; left out or empty: to the last session",
                },
                {
                    "name": "threshold",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"type": "string", "maxLength": 0}]
                    },
                    "description": "List students who missed at least this percentage of their sessions; default 10",
                },
            ],
            "responses": {
                "200": _json_response("The school's courses and chronically absent students", "SchoolReport"),
                "400": _error_response(
                    "A date not as YYYY-MM-DD (`invalid_date`), from after to (`invalid_date_range`), or a "
                    "threshold not a whole percentage from 0 to 100 (`invalid_threshold`)"
                ),
                **ERRORS,
            },
        }
    },
    "/api/v1/school/attendance.csv": {
        "get": {
            "operationId": "schoolAttendanceForSis",
            "summary": "Attendance for the student information system, keyed by OneRoster sourcedIds",
            "description": (
                "For a school's admin; any other token gets 404. CSV with the header "
                "`classSourcedId,userSourcedId,date,status`: one row per student, class and session date in the "
                "range (status present, absent, late or excused). Courses and students not imported from the SIS "
                "have no sourcedId and are left out."
            ),
            "parameters": [
                {
                    "name": "from",
                    "in": "query",
                    "required": True,
                    "schema": DATE_FIELD,
                    "description": "First day, YYYY-MM-DD",
                },
                {
                    "name": "to",
                    "in": "query",
                    "required": True,
                    "schema": DATE_FIELD,
                    "description": "Last day (inclusive), YYYY-MM-DD; at most 400 days after from",
                },
            ],
            "responses": {
                "200": {
                    "description": "The CSV, as an attachment (never cached)",
                    "content": {"text/csv": {"schema": {"type": "string", "contentMediaType": "text/csv"}}},
                },
                "400": _error_response(
                    "A date missing or not as YYYY-MM-DD (`invalid_date`), or from after to or more than 400 days "
                    "(`invalid_date_range`)"
                ),
                **ERRORS,
            },
        }
    },
    "/api/v1/jobs/{job_id}": {
        "get": {
            "operationId": "getJob",
            "summary": "A background job's state and progress",
            "parameters": [_id_param("job_id", "string", "The id returned when the job was created.")],
            "responses": {"200": _json_response("The job", "Job"), **ERRORS},
        }
    },
    "/api/v1/sessions/{session_id}": {
        "get": {
            "operationId": "getSession",
            "summary": "A session's result: every student's status and the faces found",
            "parameters": [_id_param("session_id", "integer", "One of your sessions.")],
            "responses": {"200": _json_response("The session", "SessionDetail"), **ERRORS},
        }
    },
}


@functools.cache
def _spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Student Attendance API",
            "version": "1.0.0",
            "description": (
                "For scripts and LMS integration. Create a token on the Settings page and send it as "
                '`Authorization: Bearer <token>`. Errors are JSON `{"error": {"code", "message"}}` '
                "with a stable `code`. Another teacher's ids answer 404."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token (att_...)."}
            },
            "schemas": SCHEMAS,
            "responses": {
                "Unauthorized": _error_response(
                    "No token, or an invalid or revoked one (`token_missing`, `token_malformed`, `token_invalid`, "
                    "`token_revoked`)"
                ),
                "NotFound": _error_response("No such resource among yours (`not_found`)"),
            },
        },
    }


def openapi_spec() -> dict[str, Any]:
    """A copy of the document, so no caller can change the one that is served."""
    return copy.deepcopy(_spec())
