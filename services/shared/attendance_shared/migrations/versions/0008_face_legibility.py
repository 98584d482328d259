"""detected_faces.legibility: a face too small or too unclear to recognise, so the review page asks for a closer photo

The worker writes it on every run (None: the face could be decided). Existing rows stay NULL: faces recognised
before this revision are not flagged until their photo is recognised again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# (table, column, enum name, values) as in attendance_shared.models at this revision (as in 0004)
CHECKS = (("detected_faces", "legibility", "face_legibility", ("too_small", "too_poor")),)


def upgrade() -> None:
    ((table, column, name, values),) = CHECKS
    allowed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column(column, sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), f"{column} IN ({allowed})")


def downgrade() -> None:
    ((table, column, name, _values),) = CHECKS
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch_op.drop_column(column)
