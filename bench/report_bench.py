"""Course report benchmark: 500 students x 100 sessions (50,000 marks) on PostgreSQL.

Creates a throwaway database, migrates it, bulk-seeds one course among other courses' data (a
school's table holds many courses), then times ``reporting.course_matrix``, the report page and
the three exports, and prints the records query's plan (EXPLAIN ANALYZE). Figures go to
docs/benchmarks.md.

    .venv/bin/python -m bench.report_bench [--students 500] [--sessions 100] [--runs 20]

The PostgreSQL server: TEST_PG_ADMIN_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from collections.abc import Callable

from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    Enrollment,
    RecordSource,
    Student,
)

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
STATUSES = (AttendanceStatus.PRESENT,) * 8 + (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)


def seed_course(db: Session, teacher_id: int, name: str, students: int, sessions: int, first_number: int = 0) -> int:
    """One course with `students` enrolled and a mark for each of `sessions` sessions; bulk inserts."""
    course_id = db.scalar(insert(Course).values(teacher_id=teacher_id, name=name).returning(Course.id))
    assert course_id is not None
    student_ids = list(
        db.scalars(
            insert(Student).returning(Student.id, sort_by_parameter_order=True),
            [
                {"teacher_id": teacher_id, "name": f"Student {i:04d}", "student_number": f"N{first_number + i:06d}"}
                for i in range(students)
            ],
        )
    )
    db.execute(insert(Enrollment), [{"course_id": course_id, "student_id": s} for s in student_ids])
    start = dt.date(2026, 1, 5)
    session_ids = list(
        db.scalars(
            insert(AttendanceSession).returning(AttendanceSession.id, sort_by_parameter_order=True),
            [
                {"course_id": course_id, "date": start + dt.timedelta(days=i), "label": "Period 1"}
                for i in range(sessions)
            ],
        )
    )
    db.execute(
        insert(AttendanceRecord),
        [
            {
                "session_id": sess,
                "student_id": stu,
                "status": STATUSES[(i * 7 + j * 3) % len(STATUSES)],
                "source": RecordSource.AUTO,
            }
            for i, sess in enumerate(session_ids)
            for j, stu in enumerate(student_ids)
        ],
    )
    return course_id


def _admin(sql: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--other-courses", type=int, default=9, help="courses of the same size for other teachers")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print("(stub)", args)


if __name__ == "__main__":
    main()
