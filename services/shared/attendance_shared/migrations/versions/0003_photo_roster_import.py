"""student photos remember the roster import they came in

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("student_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("roster_import_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_student_photos_roster_import_id"), ["roster_import_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_student_photos_roster_import_id_roster_imports"),
            "roster_imports",
            ["roster_import_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("student_photos", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_student_photos_roster_import_id_roster_imports"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_student_photos_roster_import_id"))
        batch_op.drop_column("roster_import_id")
