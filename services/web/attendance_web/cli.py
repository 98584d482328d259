"""`flask db upgrade|downgrade`: Alembic migrations, the only way the schema is created in production.
`flask teachers set-password EMAIL`: the school's IT administrator resets a forgotten password (no email is
sent from this service, so there is no self-service reset). `flask teachers disable|enable EMAIL`: an account
that must no longer sign in (a teacher who left, a stolen password), and back. `flask teachers two-step-off EMAIL`:
a teacher who lost the phone with their authenticator app."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from attendance_shared import migrate
from attendance_shared.models import Teacher

from .audit import audit
from .auth.passwords import password_problem
from .auth.two_step import turn_off
from .auth.user import end_every_session
from .extensions import db
from .school.accounts import set_disabled

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


def _teacher(email: str) -> Teacher:
    teacher = db().scalar(select(Teacher).where(func.lower(Teacher.email) == email.strip().lower()))
    if teacher is None:
        raise click.ClickException(f"No teacher account has the email {email}.")
    return teacher


@teachers_cli.command("set-password")
@click.argument("email")
@click.password_option("--password", prompt="New password", help="asked for (twice) when not given")
def set_password(email: str, password: str) -> None:
    """Give the teacher with EMAIL a new password (the same policy as signing up), e.g. when they forgot theirs.
    Every browser signed in to the account is signed out."""
    teacher = _teacher(email)
    problem = password_problem(password, [teacher.name, teacher.email])
    if problem:
        raise click.ClickException(problem)
    teacher.password_hash = generate_password_hash(password)
    end_every_session(teacher)
    audit("password_set_by_admin", teacher.id, "flask teachers set-password")
    db().commit()
    click.echo(f"New password set for {teacher.email}. Ask them to change it under Settings after signing in.")


@teachers_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Disable the account with EMAIL (a teacher who left, a stolen password): it can no longer sign in, every
    browser signed in to it is signed out and its API tokens stop working. Its data stays."""
    teacher = _teacher(email)
    if set_disabled(teacher, True, keep_an_admin=False):
        audit("disabled_by_admin", teacher.id, "flask teachers disable")
        db().commit()
    click.echo(f"The account {teacher.email} is disabled. `flask teachers enable` lets it sign in again.")


@teachers_cli.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Let the disabled account with EMAIL sign in again (with its password)."""
    teacher = _teacher(email)
    if set_disabled(teacher, False):
        audit("enabled_by_admin", teacher.id, "flask teachers enable")
        db().commit()
    click.echo(f"The account {teacher.email} can sign in again.")


@teachers_cli.command("two-step-off")
@click.argument("email")
def two_step_off(email: str) -> None:
    """Turn two-step sign-in off for the account with EMAIL (a lost phone): it signs in with its password alone
    until the teacher sets it up again under Settings. Every browser signed in to it is signed out."""
    teacher = _teacher(email)
    turn_off(teacher)
    end_every_session(teacher)
    audit("two_step_off_by_admin", teacher.id, "flask teachers two-step-off")
    db().commit()
    click.echo(f"Two-step sign-in is off for {teacher.email}. Ask them to set it up again under Settings.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(teachers_cli)
