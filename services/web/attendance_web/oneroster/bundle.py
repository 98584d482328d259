"""A OneRoster file set checked as a whole: duplicates, references between files, roles, deletions.

Each row that cannot be used becomes a `RowRefusal` that names the file, the line and the reason in words;
the rest of the set is still imported (the roster import's standard). A reference to a file supplied as a
delta (or absent) cannot be checked here, since a delta holds only changes: it is left for the import plan to
resolve against what earlier imports stored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime

from ..roster.problems import shorten
from .reader import CsvFile, CsvRow, FileSet
from .spec import (
    ACADEMIC_SESSIONS,
    CLASSES,
    COURSES,
    ENROLLMENTS,
    ORGS,
    ROLES,
    USERS,
    FileMode,
    Role,
    RowStatus,
)


@dataclass(frozen=True)
class RowRefusal:
    file: str
    line: int
    sourced_id: str
    reason: str

    def __str__(self) -> str:
        who = f" (sourcedId “{shorten(self.sourced_id, 40)}”)" if self.sourced_id else ""
        return f"{self.file}, line {self.line:,}{who}: {self.reason}"


@dataclass(frozen=True)
class SisOrg:
    sourced_id: str
    name: str
    type: str
    identifier: str


@dataclass(frozen=True)
class SisCourse:
    sourced_id: str
    title: str
    code: str
    org: str


@dataclass(frozen=True)
class SisClass:
    sourced_id: str
    title: str
    code: str
    course: str
    school: str
    terms: tuple[str, ...]
    periods: str
    deleted: bool


@dataclass
class SisPerson:
    sourced_id: str
    given_name: str
    family_name: str
    identifier: str
    email: str
    username: str
    enabled: bool
    deleted: bool
    roles: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class SisEnrollment:
    sourced_id: str
    class_id: str
    user_id: str
    school: str
    role: str
    primary: bool
    deleted: bool


@dataclass
class RosterSet:
    version: str
    source: str
    modes: dict[str, FileMode]
    orgs: dict[str, SisOrg] = field(default_factory=dict)
    courses: dict[str, SisCourse] = field(default_factory=dict)
    classes: dict[str, SisClass] = field(default_factory=dict)
    people: dict[str, SisPerson] = field(default_factory=dict)
    enrollments: dict[str, SisEnrollment] = field(default_factory=dict)
    refused: list[RowRefusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def people_with(self, role: Role) -> list[SisPerson]:
        return [p for p in self.people.values() if role.value in p.roles and not p.deleted]

    def members(self, class_id: str, role: Role) -> list[SisEnrollment]:
        return [
            e for e in self.enrollments.values() if e.class_id == class_id and e.role == role.value and not e.deleted
        ]

    def removals(self) -> list[SisEnrollment]:
        return [e for e in self.enrollments.values() if e.deleted]


def build_roster_set(files: FileSet) -> RosterSet:
    """Check the whole set; never raises for a bad row (the reader refused what makes a file unusable)."""
    roster = RosterSet(
        version=files.version,
        source=files.source,
        modes={name: files.mode(name) for name in (s.name for s in (ORGS, COURSES, CLASSES, USERS, ENROLLMENTS))},
        notes=list(files.notes),
    )
    for name, found in files.files.items():
        for line, reason in found.broken:
            roster.refused.append(RowRefusal(name, line, "", reason))
    check = _Checker(files, roster)
    check.orgs()
    terms = check.terms()
    check.courses()
    check.classes(terms)
    check.users()
    check.roles()
    check.enrollments()
    roster.refused.sort(key=lambda r: (r.file, r.line))
    return roster


class _Checker:
    def __init__(self, files: FileSet, roster: RosterSet) -> None:
        self.files = files
        self.roster = roster

    # -- helpers ---------------------------------------------------------------------------------------------------
    def refuse(self, file: str, row: CsvRow, reason: str) -> None:
        self.roster.refused.append(RowRefusal(file, row.line, row.get("sourcedId"), reason))

    def usable(self, found: CsvFile) -> list[tuple[CsvRow, bool]]:
        """Rows with their required cells, status and date right, each sourcedId once: (row, to be deleted)."""
        spec = found.spec
        first_line: dict[str, int] = {}
        usable: list[tuple[CsvRow, bool]] = []
        for row in found.rows:
            empty = [column for column in spec.required_values if not row.get(column)]
            if empty:
                self.refuse(spec.name, row, f"the required {_cells(empty)} empty, so this row is skipped.")
                continue
            status = row.get("status")
            if found.mode is FileMode.DELTA:
                if status not in (RowStatus.ACTIVE, RowStatus.TO_BE_DELETED):
                    self.refuse(
                        spec.name, row, f"a delta file needs status “active” or “tobedeleted”, not “{shorten(status)}”."
                    )
                    continue
                if not _is_datetime(row.get("dateLastModified")):
                    self.refuse(spec.name, row, "a delta file needs dateLastModified as a date and time.")
                    continue
            elif status not in ("", RowStatus.ACTIVE, RowStatus.TO_BE_DELETED):
                self.refuse(spec.name, row, f"status “{shorten(status)}” is not a OneRoster status.")
                continue
            sourced_id = row.get("sourcedId")
            if len(sourced_id) > MAX_SOURCED_ID:
                self.refuse(spec.name, row, f"the sourcedId is longer than {MAX_SOURCED_ID} characters.")
                continue
            if sourced_id in first_line:
                self.refuse(
                    spec.name,
                    row,
                    f"the same sourcedId is already on line {first_line[sourced_id]:,}; this second row is skipped.",
                )
                continue
            first_line[sourced_id] = row.line
            usable.append((row, status == RowStatus.TO_BE_DELETED))
        return usable

    def known(self, file_name: str, ids: Collection[str], value: str) -> bool:
        """Whether a reference resolves; references to a delta or absent file are the plan's to resolve."""
        return value in ids or self.files.mode(file_name) is not FileMode.BULK

    # -- files -----------------------------------------------------------------------------------------------------
    def orgs(self) -> None:
        found = self.files.files[ORGS.name]
        for row, deleted in self.usable(found):
            if deleted:
                continue
            org = SisOrg(row.get("sourcedId"), row.get("name"), row.get("type"), row.get("identifier"))
            self.roster.orgs[org.sourced_id] = org

    def terms(self) -> set[str]:
        found = self.files.files.get(ACADEMIC_SESSIONS.name)
        terms: set[str] = set()
        if found is None:
            return terms
        for row, _deleted in self.usable(found):
            start, end = row.get("startDate"), row.get("endDate")
            if not (_is_date(start) and _is_date(end)):
                self.refuse(found.spec.name, row, "startDate and endDate must be dates written YYYY-MM-DD.")
                continue
            if date.fromisoformat(end) < date.fromisoformat(start):
                self.refuse(found.spec.name, row, f"the term ends ({end}) before it starts ({start}).")
                continue
            terms.add(row.get("sourcedId"))
        return terms

    def courses(self) -> None:
        found = self.files.files.get(COURSES.name)
        if found is None:
            return
        for row, _deleted in self.usable(found):
            org = row.get("orgSourcedId")
            if not self.known(ORGS.name, self.roster.orgs, org):
                self.refuse(COURSES.name, row, f"its org “{shorten(org)}” is not in orgs.csv.")
                continue
            course = SisCourse(row.get("sourcedId"), row.get("title"), row.get("courseCode"), org)
            self.roster.courses[course.sourced_id] = course

    def classes(self, terms: set[str]) -> None:
        found = self.files.files[CLASSES.name]
        for row, deleted in self.usable(found):
            course, school = row.get("courseSourcedId"), row.get("schoolSourcedId")
            term_ids = tuple(t.strip() for t in row.get("termSourcedIds").split(",") if t.strip())
            if not self.known(COURSES.name, self.roster.courses, course):
                self.refuse(CLASSES.name, row, f"its course “{shorten(course)}” is not in courses.csv.")
                continue
            if not self.known(ORGS.name, self.roster.orgs, school):
                self.refuse(CLASSES.name, row, f"its school “{shorten(school)}” is not in orgs.csv.")
                continue
            unknown = [t for t in term_ids if not self.known(ACADEMIC_SESSIONS.name, terms, t)]
            if unknown:
                self.refuse(CLASSES.name, row, f"its term “{shorten(unknown[0])}” is not in academicSessions.csv.")
                continue
            if len(row.get("title")) > MAX_NAME or len(row.get("classCode")) > 40:
                self.refuse(CLASSES.name, row, f"its title is longer than {MAX_NAME} or its code than 40 characters.")
                continue
            klass = SisClass(
                sourced_id=row.get("sourcedId"),
                title=row.get("title"),
                code=row.get("classCode"),
                course=course,
                school=school,
                terms=term_ids,
                periods=row.get("periods"),
                deleted=deleted,
            )
            self.roster.classes[klass.sourced_id] = klass

    def users(self) -> None:
        found = self.files.files[USERS.name]
        for row, deleted in self.usable(found):
            enabled = row.get("enabledUser").casefold()
            if enabled not in ("true", "false"):
                self.refuse(USERS.name, row, f"enabledUser must be true or false, not “{shorten(enabled)}”.")
                continue
            email = row.get("email")
            if email and (len(email) > MAX_EMAIL or not _EMAIL_RE.match(email)):
                self.refuse(USERS.name, row, f"“{shorten(email)}” is not one e-mail address.")
                continue
            too_long = [c for c, limit in _USER_LIMITS.items() if len(row.get(c)) > limit]
            if too_long:
                self.refuse(USERS.name, row, f"{too_long[0]} is longer than {_USER_LIMITS[too_long[0]]} characters.")
                continue
            given = row.get("preferredGivenName") or row.get("givenName")
            family = row.get("preferredFamilyName") or row.get("familyName")
            if len(f"{given} {family}") > MAX_NAME:
                self.refuse(USERS.name, row, f"the name is longer than {MAX_NAME} characters.")
                continue
            person = SisPerson(
                sourced_id=row.get("sourcedId"),
                given_name=given,
                family_name=family,
                identifier=row.get("identifier"),
                email=row.get("email"),
                username=row.get("username"),
                enabled=enabled == "true",
                deleted=deleted,
            )
            legacy_role = row.get("role")  # OneRoster 1.1's users.csv carries the role itself
            if legacy_role:
                person.roles.add(legacy_role)
            self.roster.people[person.sourced_id] = person

    def roles(self) -> None:
        found = self.files.files.get(ROLES.name)
        if found is None:
            return
        for row, deleted in self.usable(found):
            user = row.get("userSourcedId")
            person = self.roster.people.get(user)
            if person is None:
                if self.files.mode(USERS.name) is FileMode.BULK:
                    self.refuse(ROLES.name, row, f"its user “{shorten(user)}” is not in users.csv.")
                continue
            if not deleted:
                person.roles.add(row.get("role"))

    def enrollments(self) -> None:
        found = self.files.files[ENROLLMENTS.name]
        set_aside: dict[str, int] = defaultdict(int)
        for row, deleted in self.usable(found):
            class_id, user_id, role = row.get("classSourcedId"), row.get("userSourcedId"), row.get("role")
            if not self.known(CLASSES.name, self.roster.classes, class_id):
                self.refuse(ENROLLMENTS.name, row, f"its class “{shorten(class_id)}” is not in classes.csv.")
                continue
            if not self.known(USERS.name, self.roster.people, user_id):
                self.refuse(ENROLLMENTS.name, row, f"its user “{shorten(user_id)}” is not in users.csv.")
                continue
            if role not in (Role.TEACHER, Role.STUDENT):
                set_aside[role] += 1
                continue
            person = self.roster.people.get(user_id)
            if person is not None and not deleted:
                person.roles.add(role)
            self.roster.enrollments[row.get("sourcedId")] = SisEnrollment(
                sourced_id=row.get("sourcedId"),
                class_id=class_id,
                user_id=user_id,
                school=row.get("schoolSourcedId"),
                role=role,
                primary=row.get("primary").casefold() == "true",
                deleted=deleted,
            )
        for role, count in sorted(set_aside.items()):
            self.roster.notes.append(
                f"{count:,} enrollment{'s' if count != 1 else ''} with the role “{shorten(role)}” "
                "set aside: attendance imports teachers and students only."
            )


MAX_SOURCED_ID = 255  # teachers/courses/students.sourced_id
MAX_EMAIL = 254
# One address, no spaces, commas or line breaks: it becomes an account's e-mail and an invitation's recipient.
_EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
# The columns the database keeps, at its lengths (a longer cell is refused here, not cut or failed on later).
_USER_LIMITS = {"identifier": 40}  # students.student_number
MAX_NAME = 120  # students.name, teachers.name


def _cells(columns: list[str]) -> str:
    names = ", ".join(columns)
    return f"cell {names} is" if len(columns) == 1 else f"cells {names} are"


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
