"""The OneRoster 1.2 CSV binding, as far as an attendance register needs it.

Column names are the specification's (case-sensitive). A file must carry every column the specification marks
required; optional columns may be missing and extra columns (`metadata.*`) are ignored. `users.csv` is read in
both shapes SISes export: 1.2's (roles in `roles.csv`) and the older one with `role` and `orgSourcedIds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SUPPORTED_VERSIONS = ("1.2", "1.1")


class FileMode(StrEnum):
    """How the manifest says a file is supplied."""

    BULK = "bulk"  # every row of the SIS: rows not in it are no longer there
    DELTA = "delta"  # changes only: `status` says active or tobedeleted
    ABSENT = "absent"


class RowStatus(StrEnum):
    ACTIVE = "active"
    TO_BE_DELETED = "tobedeleted"


class Role(StrEnum):
    """The roles this import acts on; every other OneRoster role is read and set aside with a note."""

    TEACHER = "teacher"
    STUDENT = "student"


@dataclass(frozen=True)
class FileSpec:
    name: str  # the file's name in the ZIP
    columns: tuple[str, ...]  # every column the specification defines, in its order
    required_columns: tuple[str, ...]  # a header without one of these refuses the file
    required_values: tuple[str, ...]  # an empty cell in one of these refuses the row


_COMMON = ("sourcedId", "status", "dateLastModified")

ORGS = FileSpec(
    "orgs.csv",
    (*_COMMON, "name", "type", "identifier", "parentSourcedId"),
    (*_COMMON, "name", "type"),
    ("sourcedId", "name", "type"),
)
ACADEMIC_SESSIONS = FileSpec(
    "academicSessions.csv",
    (*_COMMON, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"),
    (*_COMMON, "title", "type", "startDate", "endDate", "schoolYear"),
    ("sourcedId", "title", "type", "startDate", "endDate", "schoolYear"),
)
COURSES = FileSpec(
    "courses.csv",
    (*_COMMON, "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"),
    (*_COMMON, "title", "orgSourcedId"),
    ("sourcedId", "title", "orgSourcedId"),
)
CLASSES = FileSpec(
    "classes.csv",
    (
        *_COMMON, "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId",
        "termSourcedIds", "subjects", "subjectCodes", "periods",
    ),
    (*_COMMON, "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
    ("sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
)  # fmt: skip
USERS = FileSpec(
    "users.csv",
    (
        *_COMMON, "enabledUser", "username", "userIds", "givenName", "familyName", "middleName", "identifier",
        "email", "sms", "phone", "agentSourcedIds", "grades", "password", "userMasterIdentifier",
        "resourceSourcedIds", "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
        "primaryOrgSourcedId", "pronouns",
    ),
    (*_COMMON, "enabledUser", "username", "givenName", "familyName"),
    ("sourcedId", "enabledUser", "givenName", "familyName"),
)  # fmt: skip
ROLES = FileSpec(
    "roles.csv",
    (*_COMMON, "userSourcedId", "roleType", "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"),
    (*_COMMON, "userSourcedId", "roleType", "role", "orgSourcedId"),
    ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
)
ENROLLMENTS = FileSpec(
    "enrollments.csv",
    (*_COMMON, "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"),
    (*_COMMON, "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
)

#: the files read, in the order their references need them
FILES = (ORGS, ACADEMIC_SESSIONS, COURSES, CLASSES, USERS, ROLES, ENROLLMENTS)
BY_NAME = {spec.name: spec for spec in FILES}
#: what an attendance register cannot do without
REQUIRED_FILES = ("orgs.csv", "classes.csv", "users.csv", "enrollments.csv")


def manifest_key(file_name: str) -> str:
    """`classes.csv` -> `file.classes`, the manifest's property for that file."""
    return "file." + file_name.removesuffix(".csv")
