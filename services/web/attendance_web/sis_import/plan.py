"""What confirming a OneRoster import would do in the admin's school. Building the plan writes nothing.

Classes become courses owned by the class's primary teacher (the teacher enrollment with primary=true, else the
first teacher; a class without a teacher with an account goes to the admin), its other teachers co-teach it.
Teachers are matched to accounts of the school by sourcedId, then by e-mail; the others are invited. Students are
owned by the owner of their first class, as everywhere in the app, and matched by sourcedId across the school's
teachers (one student per sourcedId in a school), then by student number among the owner's students. Everything
is keyed by sourcedId, so importing the same file again finds every row already there and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AccountLink,
    AccountLinkKind,
    Course,
    CourseTeacher,
    Enrollment,
    Student,
    Teacher,
    utcnow,
)

from ..oneroster.bundle import RosterSet, SisClass, SisPerson, build_roster_set
from ..oneroster.reader import read_file_set
from ..oneroster.spec import ENROLLMENTS, FileMode, Role
from ..roster.problems import shorten

NUMBER_MAX = 40  # Student.student_number
NAME_MAX = 120
_CHUNK = 1000


@dataclass
class PlannedTeacher:
    person: SisPerson
    existing_id: int | None  # an account of the school
    set_sourced_id: bool  # matched by e-mail: the account learns its sourcedId
    invite: bool  # a new invitation will be made
    already_invited: bool  # an open invitation waits already


@dataclass
class PlannedCourse:
    klass: SisClass
    existing_id: int | None
    owner_id: int
    name: str
    code: str | None
    co_teacher_ids: list[int]
    changes: list[str] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.existing_id is None


@dataclass
class PlannedStudent:
    person: SisPerson
    existing_id: int | None
    owner_id: int
    number: str
    changes: list[str] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.existing_id is None


@dataclass
class SisPlan:
    roster: RosterSet
    teachers: list[PlannedTeacher] = field(default_factory=list)
    courses: list[PlannedCourse] = field(default_factory=list)
    students: list[PlannedStudent] = field(default_factory=list)
    #: (class sourcedId, user sourcedId) of enrollments to add
    enroll: list[tuple[str, str]] = field(default_factory=list)
    #: (course id, student id) of enrollments to remove
    unenroll: list[tuple[int, int]] = field(default_factory=list)
    #: (class sourcedId, teacher id) to add as co-teacher, and (course id, teacher id) to remove
    share: list[tuple[str, int]] = field(default_factory=list)
    unshare: list[tuple[int, int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def new_courses(self) -> list[PlannedCourse]:
        return [c for c in self.courses if c.is_new]

    @property
    def changed_courses(self) -> list[PlannedCourse]:
        return [c for c in self.courses if not c.is_new and c.changes]

    @property
    def invitations(self) -> list[PlannedTeacher]:
        return [t for t in self.teachers if t.invite]

    @property
    def new_students(self) -> list[PlannedStudent]:
        return [s for s in self.students if s.is_new]

    @property
    def changed_students(self) -> list[PlannedStudent]:
        return [s for s in self.students if not s.is_new and s.changes]

    @property
    def matched_teachers(self) -> list[PlannedTeacher]:
        return [t for t in self.teachers if t.set_sourced_id]

    @property
    def has_changes(self) -> bool:
        return bool(
            self.new_courses
            or self.changed_courses
            or self.invitations
            or self.matched_teachers
            or self.new_students
            or self.changed_students
            or self.enroll
            or self.unenroll
            or self.share
            or self.unshare
        )

    def summary(self) -> list[str]:
        return [
            f"{len(self.new_courses):,} class(es) to create as courses, {len(self.changed_courses):,} to update",
            f"{len(self.invitations):,} teacher(s) to invite, {len(self.matched_teachers):,} account(s) to link",
            f"{len(self.new_students):,} student(s) to create, {len(self.changed_students):,} to update",
            f"{len(self.enroll):,} enrollment(s) to add, {len(self.unenroll):,} to remove",
            f"{len(self.share):,} co-teacher(s) to add, {len(self.unshare):,} to remove",
        ]


def build_plan(session: Session, admin: Teacher, zip_data: bytes) -> SisPlan:
    """Raises ImportRefused when the file set as a whole is unusable; bad rows land in `refused`."""
    roster = build_roster_set(read_file_set(zip_data))
    plan = SisPlan(roster=roster, refused=[str(r) for r in roster.refused], notes=list(roster.notes))
    teacher_ids = _plan_teachers(session, admin, plan)
    courses_by_sid = _plan_courses(session, admin, plan, teacher_ids)
    _plan_students(session, admin, plan, courses_by_sid)
    _plan_enrollments(session, admin, plan, courses_by_sid)
    return plan


# -- teachers ----------------------------------------------------------------------------------------------------------
def _plan_teachers(session: Session, admin: Teacher, plan: SisPlan) -> dict[str, int]:
    """Plans each SIS teacher; returns sourcedId -> account id for those with an account in the school."""
    school = list(session.scalars(select(Teacher).where(Teacher.school_id == admin.school_id)))
    by_sid = {t.sourced_id: t for t in school if t.sourced_id}
    by_email = {t.email.casefold(): t for t in school}
    people = plan.roster.people_with(Role.TEACHER)
    emails = [p.email.casefold() for p in people if p.email]
    elsewhere: set[str] = set()
    for chunk in _chunks(emails):
        elsewhere.update(
            e.casefold()
            for e in session.scalars(
                select(Teacher.email).where(func.lower(Teacher.email).in_(chunk), Teacher.school_id != admin.school_id)
            )
        )
    invited = {
        e.casefold()
        for e in session.scalars(
            select(AccountLink.email).where(
                AccountLink.school_id == admin.school_id,
                AccountLink.kind == AccountLinkKind.INVITATION,
                AccountLink.used_at.is_(None),
                AccountLink.revoked_at.is_(None),
                AccountLink.expires_at > utcnow(),
            )
        )
    }
    found: dict[str, int] = {}
    for person in people:
        email = person.email.casefold()
        account = by_sid.get(person.sourced_id) or (by_email.get(email) if email else None)
        if account is not None:
            if account.sourced_id not in (None, person.sourced_id):
                plan.refused.append(
                    f"Teacher {shorten(person.name)} (sourcedId “{shorten(person.sourced_id, 40)}”): the account "
                    f"{account.email} is linked to another SIS user already; their classes go to you."
                )
                continue
            found[person.sourced_id] = account.id
            plan.teachers.append(PlannedTeacher(person, account.id, account.sourced_id is None, False, False))
        elif not email:
            plan.refused.append(
                f"Teacher {shorten(person.name)} (sourcedId “{shorten(person.sourced_id, 40)}”) has no e-mail in "
                "users.csv, so they cannot be invited; their classes go to you until they have an account."
            )
        elif email in elsewhere:
            plan.refused.append(
                f"Teacher {shorten(person.name)}: {shorten(email)} has an account at another school, so it cannot "
                "join this one; their classes go to you."
            )
        else:
            plan.teachers.append(PlannedTeacher(person, None, False, email not in invited, email in invited))
    waiting = sum(1 for t in plan.teachers if t.existing_id is None)
    if waiting:
        plan.notes.append(
            f"{waiting:,} teacher(s) have no account yet: their classes are yours until they accept the invitation; "
            "import the file again afterwards and the classes move to them."
        )
    return found


# -- classes -----------------------------------------------------------------------------------------------------------
def _school_courses(session: Session, admin: Teacher) -> list[Course]:
    school = select(Teacher.id).where(Teacher.school_id == admin.school_id)
    return list(session.scalars(select(Course).where(Course.teacher_id.in_(school))))


def _plan_courses(
    session: Session, admin: Teacher, plan: SisPlan, teacher_ids: dict[str, int]
) -> dict[str, PlannedCourse | Course]:
    """Plans each class; returns class sourcedId -> its planned course, or the stored course (delta references)."""
    courses = _school_courses(session, admin)
    stored = {c.sourced_id: c for c in courses if c.sourced_id}
    names: dict[int, set[str]] = defaultdict(set)
    for c in courses:
        names[c.teacher_id].add(c.name.casefold())
    result: dict[str, PlannedCourse | Course] = dict(stored)
    deleted = 0
    for klass in plan.roster.classes.values():
        if klass.deleted:
            deleted += klass.sourced_id in stored
            continue
        teachers = plan.roster.members(klass.sourced_id, Role.TEACHER)
        primary = next((e for e in teachers if e.primary), teachers[0] if teachers else None)
        owner_id = teacher_ids.get(primary.user_id, admin.id) if primary else admin.id
        co = sorted({teacher_ids[e.user_id] for e in teachers if e.user_id in teacher_ids} - {owner_id})
        existing = stored.get(klass.sourced_id)
        title = (klass.title or klass.sourced_id)[:NAME_MAX]
        code = klass.code[:40] or None
        planned = PlannedCourse(klass, existing.id if existing else None, owner_id, title, code, co)
        if existing is not None and existing.teacher_id == owner_id and existing.name == title:
            planned.name = existing.name
        else:
            taken = names[owner_id] - (
                {existing.name.casefold()} if existing and existing.teacher_id == owner_id else set()
            )
            if title.casefold() in taken:
                planned.name = f"{title[: NAME_MAX - 44]} ({(klass.code or klass.sourced_id)[:40]})"
            if planned.name.casefold() in taken:
                plan.refused.append(
                    f"classes.csv: class “{shorten(title)}” (sourcedId “{shorten(klass.sourced_id, 40)}”): its "
                    "teacher has a course of that name already; rename that course, then import again."
                )
                continue
            names[owner_id].add(planned.name.casefold())
        if existing is not None:
            if existing.name != planned.name:
                planned.changes.append(f"renamed “{shorten(existing.name)}” → “{shorten(planned.name)}”")
            if existing.teacher_id != owner_id:
                planned.changes.append("moves to its SIS teacher")
            if (existing.code or None) != code:
                planned.changes.append("new class code")
        plan.courses.append(planned)
        result[klass.sourced_id] = planned
    if deleted:
        plan.notes.append(
            f"{deleted:,} class(es) are marked deleted in the SIS: their courses are kept with their attendance; "
            "delete them from the course page when you no longer need them."
        )
    return result


def _owner_of(course: PlannedCourse | Course) -> int:
    return course.owner_id if isinstance(course, PlannedCourse) else course.teacher_id


def _course_id(course: PlannedCourse | Course) -> int | None:
    return course.existing_id if isinstance(course, PlannedCourse) else course.id


# -- students ----------------------------------------------------------------------------------------------------------
def _plan_students(session: Session, admin: Teacher, plan: SisPlan, courses: dict[str, PlannedCourse | Course]) -> None:
    first_class: dict[str, str] = {}
    for e in plan.roster.enrollments.values():
        if e.role == Role.STUDENT and not e.deleted and e.class_id in courses:
            first_class.setdefault(e.user_id, e.class_id)
    school = select(Teacher.id).where(Teacher.school_id == admin.school_id)
    stored = {
        s.sourced_id: s
        for s in session.scalars(select(Student).where(Student.teacher_id.in_(school), Student.sourced_id.is_not(None)))
    }
    people = plan.roster.people_with(Role.STUDENT)
    numbers = [(p.identifier or p.sourced_id) for p in people]
    by_number: dict[tuple[int, str], Student] = {}
    for chunk in _chunks(numbers):
        for s in session.scalars(
            select(Student).where(Student.teacher_id.in_(school), Student.student_number.in_(chunk))
        ):
            by_number[(s.teacher_id, s.student_number)] = s
    planned_numbers: set[tuple[int, str]] = set()
    without_class = 0
    for person in people:
        number = person.identifier or person.sourced_id
        existing = stored.get(person.sourced_id)
        if existing is None and person.sourced_id not in first_class:
            without_class += 1
            continue
        owner_id = existing.teacher_id if existing else _owner_of(courses[first_class[person.sourced_id]])
        who = f"users.csv: student {shorten(person.name)} (sourcedId “{shorten(person.sourced_id, 40)}”)"
        if len(number) > NUMBER_MAX:
            plan.refused.append(f"{who}: the identifier is longer than {NUMBER_MAX} characters.")
            continue
        holder = by_number.get((owner_id, number))
        if existing is None and holder is not None:
            if holder.sourced_id is not None:
                plan.refused.append(f"{who}: student number {shorten(number)} belongs to another SIS student already.")
                continue
            existing = holder  # made by hand before: adopted, keeping their portraits and attendance
        if existing is None and (owner_id, number) in planned_numbers:
            plan.refused.append(f"{who}: another student in the file has the student number {shorten(number)}.")
            continue
        planned_numbers.add((owner_id, number))
        name = (person.name or number)[:NAME_MAX]
        planned = PlannedStudent(person, existing.id if existing else None, owner_id, number)
        if existing is not None:
            if existing.name != name:
                planned.changes.append(f"“{shorten(existing.name)}” becomes “{shorten(name)}”")
            if existing.sourced_id is None:
                planned.changes.append(f"linked to the SIS by student number {shorten(number)}")
            if person.email and existing.email != person.email:
                planned.changes.append("new e-mail")
        plan.students.append(planned)
    if without_class:
        plan.notes.append(f"{without_class:,} student(s) are in no class of this file, so they were not imported.")


# -- enrollments -------------------------------------------------------------------------------------------------------
def _plan_enrollments(
    session: Session, admin: Teacher, plan: SisPlan, courses: dict[str, PlannedCourse | Course]
) -> None:
    roster = plan.roster
    student_ids: dict[str, int | None] = {s.person.sourced_id: s.existing_id for s in plan.students}
    for s in session.execute(
        select(Student.sourced_id, Student.id).where(
            Student.teacher_id.in_(select(Teacher.id).where(Teacher.school_id == admin.school_id)),
            Student.sourced_id.is_not(None),
        )
    ):
        student_ids.setdefault(str(s[0]), s[1])
    sid_of_student = {v: k for k, v in student_ids.items() if v is not None}
    course_ids = [cid for c in courses.values() if (cid := _course_id(c)) is not None]
    present: set[tuple[int, int]] = set()
    shared: set[tuple[int, int]] = set()
    for chunk in _chunks(course_ids):
        present.update(
            (int(a), int(b))
            for a, b in session.execute(
                select(Enrollment.course_id, Enrollment.student_id).where(Enrollment.course_id.in_(chunk))
            )
        )
        shared.update(
            (int(a), int(b))
            for a, b in session.execute(
                select(CourseTeacher.course_id, CourseTeacher.teacher_id).where(CourseTeacher.course_id.in_(chunk))
            )
        )
    wanted: dict[int, set[int]] = defaultdict(set)
    skipped = 0
    for e in roster.enrollments.values():
        course = courses.get(e.class_id)
        if e.role != Role.STUDENT:
            continue
        if course is None or e.user_id not in student_ids:
            skipped += not e.deleted
            continue
        cid, sid = _course_id(course), student_ids[e.user_id]
        if e.deleted:
            if cid is not None and sid is not None and (cid, sid) in present:
                plan.unenroll.append((cid, sid))
            continue
        if cid is not None and sid is not None:
            wanted[cid].add(sid)
            if (cid, sid) in present:
                continue
        plan.enroll.append((e.class_id, e.user_id))
    if roster.modes.get(ENROLLMENTS.name) is FileMode.BULK:
        # a bulk file holds every enrollment: SIS students no longer in one of its classes leave that class
        in_file = {_course_id(c) for c in plan.courses if c.existing_id is not None}
        removed = set(plan.unenroll)
        for cid, sid in sorted(present):
            if cid in in_file and sid in sid_of_student and sid not in wanted[cid] and (cid, sid) not in removed:
                plan.unenroll.append((cid, sid))
    for c in plan.courses:
        for teacher_id in c.co_teacher_ids:
            if c.existing_id is None or (c.existing_id, teacher_id) not in shared:
                plan.share.append((c.klass.sourced_id, teacher_id))
    teacher_ids = {t.person.sourced_id: t.existing_id for t in plan.teachers if t.existing_id is not None}
    for e in roster.removals():
        course = courses.get(e.class_id)
        tid = teacher_ids.get(e.user_id)
        cid = _course_id(course) if course is not None else None
        if e.role == Role.TEACHER and cid is not None and tid is not None and (cid, tid) in shared:
            plan.unshare.append((cid, tid))
    if skipped:
        plan.notes.append(f"{skipped:,} student enrollment(s) refer to a class or student that is not imported.")


def _chunks(values: list[str] | list[int], size: int = _CHUNK) -> Iterable[list]:  # type: ignore[type-arg]
    for start in range(0, len(values), size):
        yield values[start : start + size]
