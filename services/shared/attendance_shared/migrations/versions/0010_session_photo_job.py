"""session_photos.job_id: the attendance job that took the photo last

A job whose worker died mid-way is delivered again (acks_late); the photos its first delivery finished are no
longer waiting, so the second delivery skips them. The worker stamps each photo it takes with its job, and the
job's summary counts the photos so stamped and their faces: every photo of the job, not only the last delivery's.
Existing photos stay NULL (their jobs have finished). The job's row may be deleted: the stamp becomes NULL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_session_photos_job_id"), ["job_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_session_photos_job_id_jobs"), "jobs", ["job_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("session_photos", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_session_photos_job_id_jobs"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_session_photos_job_id"))
        batch_op.drop_column("job_id")
