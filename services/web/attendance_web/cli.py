"""`flask db upgrade|downgrade`: Alembic migrations, the only way the schema is created in production."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from attendance_shared import migrate

db_cli = AppGroup("db", help="Database migrations (Alembic).")


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


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_cli)
