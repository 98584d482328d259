"""schools: single sign-on through the school's OpenID Connect provider (Google Workspace, Microsoft Entra ID)

Nullable settings (issuer, client id, the client secret sealed with SECRET_KEY, allowed e-mail domains) and
password_sign_in_off, false for every existing school: nothing changes until an admin sets it up. The downgrade
drops them, and every school signs in with passwords again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_issuer", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("sso_client_id", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("sso_client_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sso_domains", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("password_sign_in_off", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("schools", schema=None) as batch_op:
        batch_op.drop_column("password_sign_in_off")
        batch_op.drop_column("sso_domains")
        batch_op.drop_column("sso_client_secret")
        batch_op.drop_column("sso_client_id")
        batch_op.drop_column("sso_issuer")
