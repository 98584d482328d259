"""Attendance status "late": the CHECK on attendance_records.status allows it

A student who came after the start is marked late by hand; late counts as attended in every rate. Existing rows are
untouched. The downgrade marks every late record present (the status that counts the same in the rate), since the
schema before this revision has no place for late; the history rows (attendance_changes.to_status, a plain string)
keep saying "late", so the teacher's decision is still on record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, column, enum name, values) as in attendance_shared.models at this revision (as in 0004)
CHECKS = (("attendance_records", "status", "attendance_status", ("present", "late", "absent", "excused")),)
BEFORE = (("attendance_records", "status", "attendance_status", ("present", "absent", "excused")),)


def _replace_checks(checks: tuple[tuple[str, str, str, tuple[str, ...]], ...]) -> None:
    for table, column, name, values in checks:
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), f"{column} IN ({allowed})")


def upgrade() -> None:
    _replace_checks(CHECKS)


def downgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE attendance_records SET status = 'present' WHERE status = 'late'"))
    _replace_checks(BEFORE)
