"""Run the schema migrations: `python -m attendance_shared.migrate upgrade|downgrade [REV]`.

The web also exposes these as `flask db upgrade` / `flask db downgrade`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from .settings import get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(Path(__file__).with_name("alembic.ini")))
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    url = url or get_settings().sqlalchemy_url
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    if url is None and get_settings().sqlalchemy_url.startswith("sqlite"):
        get_settings().instance_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("upgrade", "downgrade"):
        print("usage: python -m attendance_shared.migrate upgrade|downgrade [REVISION]", file=sys.stderr)
        return 2
    get_settings().require_production_secrets()
    if args[0] == "upgrade":
        upgrade(revision=args[1] if len(args) > 1 else "head")
    else:
        downgrade(revision=args[1] if len(args) > 1 else "base")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
