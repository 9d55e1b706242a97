"""Migration runner: finds the Alembic scripts in a source tree or an installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration's revision. Checked against the scripts by a test; it lets
# a database that is already up to date open without loading Alembic at all
# (a third of the app's cold start).
HEAD = "0007_floor_lot_expiry"


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


def _schema_versions(engine: Engine) -> list[str] | None:
    """The revisions in alembic_version (None: no such table, a database without our schema).

    Read in a deferred transaction: on SQLite it never asks for the write lock, so a
    long import holding that lock neither blocks it nor is mistaken for a new database.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="DEFERRED")
        if not inspect(conn).has_table("alembic_version"):
            return None
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def current_revision(engine: Engine) -> str | None:
    versions = _schema_versions(engine)
    return ", ".join(versions) if versions else None


def _is_at_head(engine: Engine) -> bool:
    """One read, no Alembic: whether the database already stands at HEAD."""
    return _schema_versions(engine) == [HEAD]


def require_head(engine: Engine, where: str) -> None:
    """For read commands, which never migrate: the schema must be this version's, else say what to run."""
    versions = _schema_versions(engine)
    if versions == [HEAD]:
        return
    from warehouse_tui.db.engine import DatabaseUnavailable

    if not versions:
        raise DatabaseUnavailable(f"{where} holds no warehouse (no schema) — check --db")
    raise DatabaseUnavailable(f"{where} has schema revision {', '.join(versions)}; this version needs {HEAD} — "
                              f"run warehouse-tui db upgrade --db … first")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`; a database already at head costs one read and never takes the write lock."""
    if revision == "head" and _is_at_head(engine):
        return
    from alembic import command

    # Only now the write lock (BEGIN IMMEDIATE): held by another writer past the busy
    # timeout, this fails as "database is locked", which the CLI reports as busy.
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
