"""jobs.worker: the worker process that holds a running job

A running job is held under a short lease its worker's heartbeat renews (attendance_worker.job_state); the holder
("host pid start-time") lets a restarted worker on the same machine take back at once the jobs of a process that
is gone, and lets a duplicate delivery leave a job to the live worker that holds it. Existing jobs stay NULL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("worker")
