"""OneRoster 1.2 CSV file sets for tests, written from the specification's column definitions.

The columns are copied from the OneRoster 1.2 CSV binding's tables (not from the code under test), in the
specification's order, so a test fails if the reader expects a column the specification does not have.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs.csv": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions.csv": (
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId",
        "schoolYear",
    ),
    "courses.csv": (
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
        "orgSourcedId", "subjects", "subjectCodes",
    ),
    "classes.csv": (
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
        "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods",
    ),
    "users.csv": (
        "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
        "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
        "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName",
        "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
    ),
    "roles.csv": (
        "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate",
        "orgSourcedId", "userProfileSourcedId",
    ),
    "enrollments.csv": (
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
        "primary", "beginDate", "endDate",
    ),
}  # fmt: skip


@dataclass
class OneRosterSet:
    """A file set being written: rows per file as dicts (missing columns are empty cells)."""

    delta: bool = False
    rows: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {name: [] for name in COLUMNS})
    headers: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(COLUMNS))
    absent: set[str] = field(default_factory=set)

    def add(self, file: str, **values: str) -> OneRosterSet:
        self.rows[file].append(values)
        return self

    def manifest(self) -> list[tuple[str, str]]:
        mode = "delta" if self.delta else "bulk"
        props = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
        props += [(f"file.{name.removesuffix('.csv')}", "absent" if name in self.absent else mode) for name in COLUMNS]
        return [*props, ("source.systemName", "Test SIS"), ("source.systemCode", "test")]

    def to_zip(self, extra: Mapping[str, bytes] | None = None) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.csv", _csv([("propertyName", "value"), *self.manifest()]))
            for name, header in self.headers.items():
                if name in self.absent:
                    continue
                table = [header, *([row.get(column, "") for column in header] for row in self.rows[name])]
                archive.writestr(name, _csv(table))
            for name, data in (extra or {}).items():
                archive.writestr(name, data)
        return out.getvalue()


def _csv(rows: Iterable[Iterable[str]]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue()


def school_set(*, students: int = 3, delta: bool = False) -> OneRosterSet:
    """A district with one school, a term, a course, one class with a teacher and `students` students."""
    roster = OneRosterSet(delta=delta)
    status = {"status": "active", "dateLastModified": "2026-12-01T08:00:00Z"} if delta else {}
    roster.add("orgs.csv", sourcedId="dist-1", name="Springfield USD", type="district", **status)
    roster.add("orgs.csv", sourcedId="org-1", name="Lincoln Middle", type="school", parentSourcedId="dist-1", **status)
    roster.add(
        "academicSessions.csv", sourcedId="term-1", title="Fall 2026", type="term", startDate="2026-08-17",
        endDate="2026-12-18", schoolYear="2027", **status,
    )  # fmt: skip
    roster.add("courses.csv", sourcedId="course-1", title="Biology", courseCode="BIO7", orgSourcedId="org-1", **status)
    roster.add(
        "classes.csv", sourcedId="class-1", title="Biology 7B", courseSourcedId="course-1", classCode="BIO7-B",
        classType="scheduled", schoolSourcedId="org-1", termSourcedIds="term-1", periods="3", **status,
    )  # fmt: skip
    roster.add(
        "users.csv", sourcedId="t-1", enabledUser="true", username="jlee", givenName="Jordan", familyName="Lee",
        identifier="T100", email="jordan.lee@lincoln.example.org", **status,
    )  # fmt: skip
    roster.add(
        "roles.csv", sourcedId="r-t-1", userSourcedId="t-1", roleType="primary", role="teacher", orgSourcedId="org-1",
        **status,
    )  # fmt: skip
    roster.add(
        "enrollments.csv", sourcedId="e-t-1", classSourcedId="class-1", schoolSourcedId="org-1", userSourcedId="t-1",
        role="teacher", primary="true", **status,
    )  # fmt: skip
    for n in range(1, students + 1):
        roster.add(
            "users.csv", sourcedId=f"s-{n}", enabledUser="true", username=f"student{n}", givenName=f"Avery{n}",
            familyName="Smith", identifier=f"S{2000 + n}", **status,
        )  # fmt: skip
        roster.add(
            "roles.csv", sourcedId=f"r-s-{n}", userSourcedId=f"s-{n}", roleType="primary", role="student",
            orgSourcedId="org-1", **status,
        )  # fmt: skip
        roster.add(
            "enrollments.csv", sourcedId=f"e-s-{n}", classSourcedId="class-1", schoolSourcedId="org-1",
            userSourcedId=f"s-{n}", role="student", **status,
        )  # fmt: skip
    return roster
