"""CHECK constraints on the enum columns: only the values the code knows can be stored

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column, enum name, values) as in attendance_shared.models at this revision
CHECKS = (
    ("student_photos", "status", "photo_status", ("pending", "accepted", "rejected")),
    (
        "session_photos",
        "status",
        "session_photo_status",
        ("queued", "processing", "detecting", "matching", "done", "failed"),
    ),
    ("detected_faces", "decision", "face_decision", ("present", "confirm", "unknown")),
    ("detected_faces", "review", "face_review", ("none", "confirmed", "rejected", "assigned")),
    ("attendance_records", "status", "attendance_status", ("present", "absent", "excused")),
    ("attendance_records", "source", "record_source", ("auto", "manual")),
    ("jobs", "kind", "job_kind", ("enrollment", "attendance")),
    ("jobs", "state", "job_state", ("queued", "running", "succeeded", "failed")),
)


def upgrade() -> None:
    for table, column, name, values in CHECKS:
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), f"{column} IN ({allowed})")


def downgrade() -> None:
    for table, _column, name, _values in reversed(CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
