"""course_teachers: a course shared with other teachers of its school (co-teachers)

A new table only: no existing row changes; the downgrade drops the sharing and keeps every course.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "course_teachers",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_teachers_course_id_courses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_course_teachers_teacher_id_teachers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("course_id", "teacher_id", name=op.f("pk_course_teachers")),
    )
    with op.batch_alter_table("course_teachers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_teachers_teacher_id"), ["teacher_id"], unique=False)


def downgrade() -> None:
    op.drop_table("course_teachers")
