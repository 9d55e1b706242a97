"""Migration runner: finds the Alembic scripts in a source tree or an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration's revision. Checked against the scripts by a test; it lets
# a database that is already up to date open without loading Alembic at all
# (a third of the app's cold start).
HEAD = "0002"


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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _is_at_head(engine: Engine) -> bool:
    """One query, no Alembic: whether the database already stands at HEAD."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no alembic_version table: a new database
        return False
    return versions == [HEAD]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`; a database already at head costs one query."""
    if revision == "head" and _is_at_head(engine):
        return
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
