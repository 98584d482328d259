"""schools, teachers.school_id and teachers.role, account_links: a school adopts the system as a school

Every teacher from before this revision becomes the admin of a school of their own, named after them, so
nothing changes for them and nothing is lost: their courses and students stay theirs. account_links holds the
single-use invitations and password-reset links an admin hands out (only the SHA-256 of each token).
The downgrade drops the schools and the links and keeps every teacher.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ROLES = ("admin", "teacher")
_KINDS = ("invitation", "password_reset")
# (table, column, enum name, values), read by tests/shared/test_constraints.py
CHECKS = (
    ("teachers", "role", "teacher_role", _ROLES),
    ("account_links", "kind", "account_link_kind", _KINDS),
    ("account_links", "role", "teacher_role", _ROLES),
)


def _check(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schools")),
    )
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="teacher", nullable=False))

    # One school per existing teacher, its admin: ids taken in order, so the mapping needs no returned keys.
    bind = op.get_bind()
    teachers = sa.table(
        "teachers",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("school_id", sa.Integer),
        sa.column("role", sa.String),
    )
    schools = sa.table("schools", sa.column("id", sa.Integer), sa.column("name", sa.String))
    for teacher_id, name in bind.execute(sa.select(teachers.c.id, teachers.c.name).order_by(teachers.c.id)).all():
        school_id = bind.execute(
            sa.insert(schools).values(name=f"{name}'s school"[:120]).returning(schools.c.id)
        ).scalar_one()
        bind.execute(sa.update(teachers).where(teachers.c.id == teacher_id).values(school_id=school_id, role="admin"))

    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_teachers_school_id"), ["school_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_teachers_school_id_schools"), "schools", ["school_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint(op.f("ck_teachers_teacher_role"), _check("role", _ROLES))

    op.create_table(
        "account_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_check("kind", _KINDS), name=op.f("ck_account_links_account_link_kind")),
        sa.CheckConstraint(_check("role", _ROLES), name=op.f("ck_account_links_teacher_role")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["teachers.id"],
            name=op.f("fk_account_links_created_by_id_teachers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_account_links_school_id_schools"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["teachers.id"], name=op.f("fk_account_links_teacher_id_teachers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_links_token_hash")),
    )
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_links_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_links_teacher_id"), ["teacher_id"], unique=False)


def downgrade() -> None:
    op.drop_table("account_links")
    with op.batch_alter_table("teachers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_teachers_teacher_role"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_teachers_school_id_schools"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_teachers_school_id"))
        batch_op.drop_column("role")
        batch_op.drop_column("school_id")
    op.drop_table("schools")
