"""`flask db upgrade|downgrade`: Alembic migrations, the only way the schema is created in production.
`flask teachers set-password EMAIL`: the school's IT administrator resets a forgotten password (no email is
sent from this service, so there is no self-service reset)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from attendance_shared import migrate
from attendance_shared.models import AuditEvent, Teacher

from .extensions import db

db_cli = AppGroup("db", help="Database migrations (Alembic).")
teachers_cli = AppGroup("teachers", help="Teacher accounts.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(revision=revision)
    click.echo(f"database upgraded to {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(revision=revision)
    click.echo(f"database downgraded to {revision}")


@teachers_cli.command("set-password")
@click.argument("email")
@click.password_option("--password", prompt="New password", help="asked for (twice) when not given")
def set_password(email: str, password: str) -> None:
    """Give the teacher with EMAIL a new password (at least 10 characters), e.g. when they forgot theirs."""
    if len(password) < 10:
        raise click.ClickException("Use at least 10 characters.")
    teacher = db().scalar(select(Teacher).where(func.lower(Teacher.email) == email.strip().lower()))
    if teacher is None:
        raise click.ClickException(f"No teacher account has the email {email}.")
    teacher.password_hash = generate_password_hash(password)
    db().add(AuditEvent(teacher_id=teacher.id, action="password_set_by_admin", detail="flask teachers set-password"))
    db().commit()
    click.echo(f"New password set for {teacher.email}. Ask them to change it under Settings after signing in.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(teachers_cli)
