"""The import plan: what confirming would create, update and refuse. Building it writes nothing.

The preview renders a plan; the confirm step builds it again from the same stored files (inside the
locked transaction, so it sees students added in the meantime) and applies it.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attendance_shared.images import ImageInfo, ImageRejected, inspect_image
from attendance_shared.models import Enrollment, PhotoStatus, Student, StudentPhoto

from ..students.views import MAX_PHOTOS_PER_STUDENT
from .csv_rows import CsvReading, RosterRow, read_roster_csv
from .problems import CATEGORIES, NOT_PROBLEMS, shorten
from .zip_photos import EntryUnreadable, ZipEntry, list_zip, open_zip, read_entry

_SUFFIX_RE = re.compile(r"^(?P<number>.+?)(?:_(?P<n>\d{1,3})| \((?P<copy>\d{1,3})\))$")
_CHUNK = 1000  # ids per IN (...) list


@dataclass(frozen=True)
class ExistingStudent:
    id: int
    name: str
    email: str | None
    photo_count: int  # accepted and still being checked: refused portraits do not count toward the cap
    enrolled: bool
    photo_shas: frozenset[str] = frozenset()  # of the portraits they have, so the same one is not added again
    # sha -> reason, of those refused: the same photo again is left out with the reason, not as "already there"
    refused: Mapping[str, str] = field(default_factory=dict, hash=False)
    sourced_id: str | None = None  # from the SIS import: a portrait may be named <sourcedId>.jpg too


@dataclass(frozen=True)
class PlannedPhoto:
    entry: ZipEntry
    info: ImageInfo
    order: int
    sha256: str


@dataclass
class PlannedStudent:
    row: RosterRow
    existing: ExistingStudent | None
    photos: list[PlannedPhoto] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.existing is None

    @property
    def renamed(self) -> bool:
        return self.existing is not None and self.existing.name != self.row.name

    @property
    def email_changed(self) -> bool:
        return self.existing is not None and bool(self.row.email) and self.row.email != self.existing.email

    @property
    def joins(self) -> bool:
        """An existing student of the teacher's who is not in this course yet."""
        return self.existing is not None and not self.existing.enrolled

    @property
    def unchanged(self) -> bool:
        """Already in this course as the CSV says, and no portrait to add: confirming changes nothing for them."""
        return not (self.is_new or self.renamed or self.email_changed or self.joins or self.photos)

    @property
    def changes(self) -> list[str]:
        """What confirming changes for an existing student, in words."""
        old = self.existing
        if old is None:
            return ["New student"]
        said = []
        if self.renamed:
            said.append(f"Name changes from “{shorten(old.name)}”")
        if self.email_changed:
            said.append("Email updated")
        if self.unchanged:
            said.append("Already in this course; nothing changes")
        else:
            said.append("Already in this course" if old.enrolled else "Already one of your students; joins this course")
        return said


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass
class ImportPlan:
    students: list[PlannedStudent]
    problems: dict[str, list[str]]
    notes: list[str]
    csv: CsvReading
    zip_given: bool = False

    @property
    def new_students(self) -> int:
        return sum(1 for s in self.students if s.is_new)

    @property
    def existing_students(self) -> int:
        return len(self.students) - self.new_students

    @property
    def photo_count(self) -> int:
        return sum(len(s.photos) for s in self.students)

    @property
    def renamed(self) -> int:
        return sum(1 for s in self.students if s.renamed)

    @property
    def email_updates(self) -> int:
        return sum(1 for s in self.students if s.email_changed)

    @property
    def joining(self) -> int:
        """Existing students of the teacher's that confirming puts in this course."""
        return sum(1 for s in self.students if s.joins)

    @property
    def unchanged(self) -> int:
        return sum(1 for s in self.students if s.unchanged)

    @property
    def has_changes(self) -> bool:
        """Whether confirming would change anything at all (a re-import of the same files changes nothing)."""
        return any(not s.unchanged for s in self.students)

    def change_summary(self, *, done: bool = False) -> str:
        """What confirming changes, counted: "Add 5 new students, rename 1, add 7 portraits" (or, once
        `done`, "Added ..."); "" when it changes nothing. The preview, its button and the message after
        confirming all say this, so they count the same things."""
        add, rename, update = ("added", "renamed", "updated") if done else ("add", "rename", "update")
        phrases: list[str] = []
        if self.new_students:
            phrases.append(f"{add} {_count(self.new_students, 'new student', 'new students')}")
        if self.joining:
            phrases.append(f"{add} {self.joining} of your existing students to this course")
        said_students = bool(phrases)  # "rename 1" after "add 5 new students"; "rename 1 student" alone
        if self.renamed:
            phrases.append(
                f"{rename} " + (str(self.renamed) if said_students else _count(self.renamed, "student", "students"))
            )
        if self.email_updates:
            phrases.append(f"{update} {_count(self.email_updates, 'email address', 'email addresses')}")
        if self.photo_count:
            phrases.append(f"{add} {_count(self.photo_count, 'portrait', 'portraits')}")
        text = ", ".join(phrases)
        return text[:1].upper() + text[1:]

    @property
    def nothing_to_import(self) -> str:
        """Why there is nothing to confirm, when the file has students but confirming would change nothing."""
        if not self.students or self.has_changes:
            return ""
        subject = "every student and photo" if self.zip_given else "every student"
        if self.problem_count:
            return (
                f"Nothing to import: {subject} that can be imported is already in this course; "
                "the rest is left out (see What is wrong)."
            )
        return f"Nothing to import: {subject} is already in this course."

    @property
    def problem_count(self) -> int:
        return sum(len(v) for k, v in self.problems.items() if k not in NOT_PROBLEMS)

    @property
    def sections(self) -> list[tuple[str, str, list[str]]]:
        """The preview's "What is wrong": rows and files left out."""
        return self._sections(changes=False)

    @property
    def change_sections(self) -> list[tuple[str, str, list[str]]]:
        """The preview's "What will change": renames, rows imported with a change, photos already there."""
        return self._sections(changes=True)

    def _sections(self, *, changes: bool) -> list[tuple[str, str, list[str]]]:
        return [
            (key, title, self.problems[key])
            for key, title in CATEGORIES
            if self.problems.get(key) and (key in NOT_PROBLEMS) == changes
        ]

    def photos(self) -> Iterator[tuple[PlannedStudent, PlannedPhoto]]:
        for student in self.students:
            for photo in student.photos:
                yield student, photo


def build_plan(
    session: Session, teacher_id: int, course_id: int, csv_data: bytes, archive: zipfile.ZipFile | None
) -> ImportPlan:
    """Raises ImportRefused when a file as a whole is unusable; everything else lands in `problems`."""
    reading = read_roster_csv(csv_data)
    existing = _existing_students(session, teacher_id, course_id, [r.number for r in reading.rows])
    students = [PlannedStudent(row=r, existing=existing.get(r.number)) for r in reading.rows]
    problems: dict[str, list[str]] = {key: [] for key, _ in CATEGORIES}
    problems["skipped_rows"] += reading.skipped
    problems["duplicates"] += reading.duplicates
    problems["warnings"] += reading.warnings
    problems["renames"] += [
        f"{shorten(s.row.number)}: “{shorten(s.existing.name)}” becomes “{shorten(s.row.name)}”."
        for s in students
        if s.existing is not None and s.existing.name != s.row.name
    ]
    notes = []
    if reading.encoding != "UTF-8":
        notes.append(f"The CSV file was read as {reading.encoding} text. Check that accented names look right below.")
    if archive is not None:
        notes += _plan_photos(archive, students, problems)
    return ImportPlan(students=students, problems=problems, notes=notes, csv=reading, zip_given=archive is not None)


def open_photos(zip_data: bytes | None) -> zipfile.ZipFile | None:
    return open_zip(zip_data) if zip_data is not None else None


def _plan_photos(archive: zipfile.ZipFile, students: list[PlannedStudent], problems: dict[str, list[str]]) -> list[str]:
    listing = list_zip(archive)
    problems["unsafe"] += listing.unsafe
    problems["not_images"] += listing.not_images
    problems["unreadable"] += listing.unreadable
    by_number = {s.existing.sourced_id.casefold(): s for s in students if s.existing and s.existing.sourced_id}
    by_number.update((s.row.number.casefold(), s) for s in students)  # a student number wins over a sourcedId
    for entry in listing.photos:
        match = _match(entry.basename, by_number)
        if match is None:
            problems["orphans"].append(
                f"“{shorten(entry.basename)}”: no row in the CSV has student number "
                f"{shorten(_number_of(entry.basename))}."
            )
            continue
        student, order = match
        try:
            data = read_entry(archive, entry)
            info = inspect_image(data, shorten(entry.basename))
        except (ImageRejected, EntryUnreadable) as exc:
            problems["unreadable"].append(str(exc))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if student.existing is not None and sha in student.existing.refused:
            reason = student.existing.refused[sha].rstrip(". ")
            problems["refused_before"].append(
                f"“{shorten(entry.basename)}”: this photo was refused earlier for {shorten(student.row.name)}"
                f"{': ' + shorten(reason, 200) if reason else ''}. It is not added again: add another photo of them."
            )
            continue
        if sha in (student.existing.photo_shas if student.existing else ()) or any(
            p.sha256 == sha for p in student.photos
        ):
            problems["same_photos"].append(
                f"“{shorten(entry.basename)}”: {shorten(student.row.name)} already has this photo; "
                "it is not added again."
            )
            continue
        student.photos.append(PlannedPhoto(entry=entry, info=info, order=order, sha256=sha))
    for student in students:
        _limit_photos(student, problems)
    notes = []
    if listing.system_files:
        notes.append(f"{listing.system_files} system file(s) in the ZIP (such as __MACOSX or .DS_Store) were ignored.")
    return notes


def _match(basename: str, by_number: dict[str, PlannedStudent]) -> tuple[PlannedStudent, int] | None:
    """`1234.jpg` is the first photo of 1234; `1234_2.jpg` or `1234 (2).jpg` a further one."""
    stem = PurePosixPath(basename).stem.strip()
    exact = by_number.get(stem.casefold())
    if exact is not None:
        return exact, 1
    m = _SUFFIX_RE.match(stem)
    if m:
        student = by_number.get(m.group("number").strip().casefold())
        if student is not None:
            return student, int(m.group("n") or m.group("copy"))
    return None


def _number_of(basename: str) -> str:
    stem = PurePosixPath(basename).stem.strip()
    m = _SUFFIX_RE.match(stem)
    return m.group("number") if m else stem


def _limit_photos(student: PlannedStudent, problems: dict[str, list[str]]) -> None:
    student.photos.sort(key=lambda p: (p.order, p.entry.basename.casefold()))
    stored = student.existing.photo_count if student.existing else 0
    room = max(MAX_PHOTOS_PER_STUDENT - stored, 0)
    if len(student.photos) <= room:
        return
    extra = student.photos[room:]
    student.photos = student.photos[:room]
    names = ", ".join(shorten(p.entry.basename, 40) for p in extra)
    already = f" ({stored} already accepted or being checked)" if stored else ""
    problems["too_many"].append(
        f"{shorten(student.row.name)} ({shorten(student.row.number)}): {names} skipped. "
        f"A student can have at most {MAX_PHOTOS_PER_STUDENT} portraits{already}."
    )


def _chunks(values: list[str], size: int = _CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing_students(
    session: Session, teacher_id: int, course_id: int, numbers: list[str]
) -> dict[str, ExistingStudent]:
    """The teacher's students with these numbers, their photo counts and enrolment, in a few queries."""
    rows: list[Student] = []
    for chunk in _chunks(numbers):
        rows += session.scalars(
            select(Student).where(Student.teacher_id == teacher_id, Student.student_number.in_(chunk))
        ).all()
    if not rows:
        return {}
    ids = [s.id for s in rows]
    counts: dict[int, int] = {}
    enrolled: set[int] = set()
    shas: dict[int, set[str]] = {}
    refused: dict[int, dict[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        counts.update(
            session.execute(
                select(StudentPhoto.student_id, func.count())
                .where(StudentPhoto.student_id.in_(part), StudentPhoto.status != PhotoStatus.REJECTED)
                .group_by(StudentPhoto.student_id)
            ).all()
        )
        enrolled.update(
            session.scalars(
                select(Enrollment.student_id).where(Enrollment.course_id == course_id, Enrollment.student_id.in_(part))
            ).all()
        )
        for student_id, sha, status, reason in session.execute(
            select(
                StudentPhoto.student_id, StudentPhoto.content_sha256, StudentPhoto.status, StudentPhoto.reason
            ).where(StudentPhoto.student_id.in_(part), StudentPhoto.content_sha256.is_not(None))
        ):
            shas.setdefault(student_id, set()).add(str(sha))
            if status == PhotoStatus.REJECTED:
                refused.setdefault(student_id, {})[str(sha)] = reason or ""
    return {
        s.student_number: ExistingStudent(
            id=s.id,
            name=s.name,
            email=s.email,
            photo_count=counts.get(s.id, 0),
            enrolled=s.id in enrolled,
            photo_shas=frozenset(shas.get(s.id, ())),
            refused=refused.get(s.id, {}),
            sourced_id=s.sourced_id,
        )
        for s in rows
    }
