"""Database files of a demo build: whether one holds a warehouse, building beside it, putting it in place."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from warehouse_tui.db.engine import make_engine, redact, sqlite_path, to_url
from warehouse_tui.errors import ConfigError, NotAllowed

# Tables whose rows mean "this database already holds a warehouse".
_CONTENT_TABLES = ("owners", "items", "bins", "operators", "movements")


def _sqlite_file_holds_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        con = sqlite3.connect(path)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in _CONTENT_TABLES if t in tables)
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return True  # not a database we can read: never overwrite it silently


def _server_holds_data(db: str | Path) -> bool:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            return any(conn.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first() for t in _CONTENT_TABLES if t in tables)
    except SQLAlchemyError as exc:
        raise ConfigError(f"Cannot open {redact(engine.url)}: {type(exc).__name__}") from exc
    finally:
        engine.dispose()


def holds_warehouse(db: str | Path) -> bool:
    """Whether the database (file or server) already holds warehouse data."""
    path = sqlite_path(to_url(db))
    return _sqlite_file_holds_data(path) if path is not None else _server_holds_data(db)


def remove_sqlite_file(path: Path, *, main: bool = True) -> None:
    """Delete a SQLite database with its WAL, shared-memory and rollback-journal files (`main=False`: only those)."""
    for suffix in ("", "-wal", "-shm", "-journal") if main else ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_room(db: str | Path, force: bool) -> URL:
    """Refuse to overwrite a database that holds a warehouse, unless forced (SQLite files only).

    Nothing is deleted here: a forced build is made beside the old file and takes
    its place only when complete (`put_in_place`).
    """
    url = to_url(db)
    path = sqlite_path(url)
    if path is not None:
        if _sqlite_file_holds_data(path) and not force:
            raise NotAllowed(f"{path} already holds a warehouse — add --force to replace it")
        return url
    if _server_holds_data(db):
        if force:
            raise NotAllowed(f"{redact(url)} already holds a warehouse and --force only replaces SQLite files — "
                             "drop and recreate that database yourself")
        raise NotAllowed(f"{redact(url)} already holds a warehouse — use an empty database")
    return url


def building_path(path: Path) -> Path:
    """Where a new warehouse for `path` is built: beside it (same filesystem, so the final rename is atomic)."""
    return Path(f"{path}.building")


def put_in_place(building: Path, path: Path) -> None:
    """Replace the database at `path` by the finished one at `building`, whole, with its -wal/-shm.

    The new file is made durable first. The old database's WAL is folded into it
    (a crash before the rename leaves it whole) and removed with its -shm before the
    rename: a WAL left beside the new file would be replayed into it. The rename is
    the one moment the name changes hands.
    """
    _fold_wal(building)
    remove_sqlite_file(building, main=False)
    _fsync(building)
    if path.exists():
        _fold_wal(path)
    remove_sqlite_file(path, main=False)
    os.replace(building, path)
    _fsync(path.parent)


def _fold_wal(path: Path) -> None:
    """Checkpoint a WAL database's log into its main file, best effort (a file that is no database has none)."""
    try:
        con = sqlite3.connect(path, isolation_level=None)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    except sqlite3.DatabaseError:
        pass

def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
