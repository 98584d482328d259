"""sourced_id on courses, students and teachers; sis_imports: rosters from the school's SIS (OneRoster)

`sourced_id` is the OneRoster sourcedId a row was imported from (NULL for rows made by hand). Teachers are unique
per school by it; courses and students belong to a teacher, so they are unique per owner, and the import keeps one
row per sourcedId in a school by looking it up among all the school's teachers' rows before creating one.
sis_imports holds an uploaded OneRoster ZIP between its preview and the admin's confirm. Only new columns and a
new table: the downgrade drops them and keeps every row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sourced_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_teachers_school_sourced_id", ["school_id", "sourced_id"])
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sourced_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_courses_teacher_sourced_id", ["teacher_id", "sourced_id"])
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sourced_id", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint("uq_students_teacher_sourced_id", ["teacher_id", "sourced_id"])
    op.create_table(
        "sis_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("zip_key", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_sis_imports_school_id_schools"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_sis_imports_teacher_id_teachers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sis_imports")),
    )
    with op.batch_alter_table("sis_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sis_imports_school_id"), ["school_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sis_imports")
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_constraint("uq_students_teacher_sourced_id", type_="unique")
        batch_op.drop_column("sourced_id")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_constraint("uq_courses_teacher_sourced_id", type_="unique")
        batch_op.drop_column("sourced_id")
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_teachers_school_sourced_id", type_="unique")
        batch_op.drop_column("sourced_id")
