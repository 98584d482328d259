"""teachers.session_epoch and teachers.disabled_at: sessions the server can end, accounts IT can disable

Every session and remember-me cookie carries the teacher's session epoch from when it was signed in
(attendance_web.auth.user); log-out, "sign out everywhere", a new password and disabling the account add one to
it, which ends every such cookie at once. Existing teachers start at epoch 0 and enabled (disabled_at NULL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("session_epoch")
