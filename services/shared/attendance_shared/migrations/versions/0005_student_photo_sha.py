"""student photos remember their content's sha256; one student cannot hold the same portrait twice

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Earlier portraits keep NULL: hashing them would read every photo from the store inside a migration.
    with op.batch_alter_table("student_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_student_photos_student_sha", ["student_id", "content_sha256"])


def downgrade() -> None:
    with op.batch_alter_table("student_photos", schema=None) as batch_op:
        batch_op.drop_constraint("uq_student_photos_student_sha", type_="unique")
        batch_op.drop_column("content_sha256")
