"""Migration runner: finds the Alembic scripts in a source tree or an installed wheel."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def script_location() -> Path:
    """The wheel carries the scripts as warehouse_tui/_migrations; a checkout has them at the top."""
    package_dir = Path(__file__).resolve().parent.parent
    installed = package_dir / "_migrations"
    if (installed / "env.py").exists():
        return installed
    checkout = package_dir.parent / "migrations"
    if (checkout / "env.py").exists():
        return checkout
    raise RuntimeError("warehouse-tui is installed without its migrations; reinstall the package")


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`; a database already there costs one query."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
