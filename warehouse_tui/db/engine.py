"""Engine and session setup: durable SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from warehouse_tui.errors import ConfigError, WarehouseError

BUSY_TIMEOUT_MS = 5000


def to_url(db: str | Path) -> URL:
    """A SQLAlchemy URL from a URL string or a plain file path."""
    text = str(db)
    if "://" in text:
        try:
            return make_url(text)
        except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in it
            raise ConfigError(f"Database URL is not valid: {redact(text)}") from exc
    path = Path(text).expanduser()
    return make_url(f"sqlite:///{path}")


def redact(url: str | URL) -> str:
    """The URL with any password hidden: safe to print and log."""
    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


class DatabaseUnavailable(WarehouseError):
    """The database cannot be used as asked: missing, read-only, not a database, busy, full or unreachable."""


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for a server or an in-memory database."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _install_sqlite_durability(engine: Engine, *, read_only: bool = False) -> None:
    # pysqlite's own transaction handling begins lazily and never IMMEDIATE; take it
    # over as SQLAlchemy's pysqlite docs show, so a write transaction holds the
    # write lock from its first statement and never fails half-way on SQLITE_BUSY.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:  # switching to WAL writes the header; a reader takes the file as it is
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # A read-only engine never asks for the write lock: WAL readers never wait for a writer.
        default = "DEFERRED" if read_only else "IMMEDIATE"
        mode = conn.get_execution_options().get("sqlite_begin", default)
        conn.exec_driver_sql(f"BEGIN {mode}")


def _read_only_connector(path: Path):
    """Connections that cannot write or create the file (SQLite's mode=ro)."""
    name = quote(str(path.resolve()))

    def connect() -> sqlite3.Connection:
        con = sqlite3.connect(f"file:{name}?mode=ro", uri=True, check_same_thread=False)
        try:
            con.execute("SELECT 1 FROM sqlite_master LIMIT 1")  # SQLite opens the file (and its -shm) lazily
            return con
        except sqlite3.OperationalError as exc:
            con.close()
            wal = Path(f"{path}-wal")
            if exc.sqlite_errorcode != sqlite3.SQLITE_CANTOPEN or not path.is_file() or (wal.exists() and wal.stat().st_size):
                raise
            # A read-only directory: no -shm can be made for WAL readers to share. With no WAL
            # content beside it nobody is writing this file, so it is read as it stands.
            return sqlite3.connect(f"file:{name}?immutable=1", uri=True, check_same_thread=False)

    return connect


def make_engine(db: str | Path, *, create: bool = True, read_only: bool = False, **kwargs) -> Engine:
    """An engine for a URL or path; SQLite files get the durability settings of DESIGN §3.

    `create=False` refuses (DatabaseUnavailable) a SQLite file that does not exist
    instead of making an empty one; `read_only=True` opens it so that nothing can be
    written (nor created), and a PostgreSQL database with read-only transactions.
    """
    url = to_url(db)
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            if path.is_dir():
                raise DatabaseUnavailable(f"{path} is a folder, not a database — check --db")
            if (read_only or not create) and not path.exists():
                raise DatabaseUnavailable(f"No database at {path} — check --db; nothing was created "
                                          f"(a new one: warehouse-tui db upgrade --db {path})")
            if read_only:
                kwargs["creator"] = _read_only_connector(path)
            else:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseUnavailable(f"Cannot create the folder {path.parent} for the database: "
                                              f"{exc.strerror or exc}") from exc
        engine = create_engine(url, **kwargs)
        _install_sqlite_durability(engine, read_only=read_only)
        return engine
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if read_only and url.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {})["options"] = "-c default_transaction_read_only=on"
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _refuse_read_only_file(path: Path) -> None:
    """A SQLite file this process cannot write is said so at opening, not at the first scan."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise DatabaseUnavailable(f"Database {path} is read-only ({exc.strerror}) — nothing was changed; "
                                  "make it writable, or use a read command (check, export)") from exc
    os.close(fd)


# Run on every Database opened, after its migration: how a layer above this one attaches its session
# hooks (the sync's change feed and document capture, installed by warehouse_tui.sync.install from the
# CLI and the app) without the database layer knowing it.
_OPEN_HOOKS: list[Callable[[Database], None]] = []


def on_open(hook: Callable[[Database], None]) -> None:
    """Run `hook(database)` for every Database opened from now on (once per hook, however often added)."""
    if hook not in _OPEN_HOOKS:
        _OPEN_HOOKS.append(hook)


class Database:
    """One database: its engine and a session factory.

    `create=False`: a SQLite file that does not exist is refused, not made.
    `read_only=True` (read commands): nothing is created or written, not even a
    migration — a schema behind head is refused with what to run (unless
    `migrate=False`, for `db current`, which only reports it).
    """

    def __init__(self, db: str | Path | Engine, *, migrate: bool = True, create: bool = True, read_only: bool = False) -> None:
        if isinstance(db, Engine):
            self.engine = db
        else:
            self.engine = make_engine(db, create=create, read_only=read_only)
            path = sqlite_path(self.engine.url)
            if path is not None and not read_only:
                _refuse_read_only_file(path)
        self.read_only = read_only
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        if read_only:
            if migrate:
                from warehouse_tui.db.migrate import require_head

                require_head(self.engine, self.url)
        elif migrate:
            from warehouse_tui.db.migrate import upgrade

            upgrade(self.engine)
        self.is_upstream = False  # an upstream's open hook (warehouse_tui.sync) says otherwise
        for hook in _OPEN_HOOKS:
            hook(self)

    @property
    def url(self) -> str:
        return redact(self.engine.url)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commits when the block ends, rolls back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session that does not take SQLite's write lock.

        Closing (not rolling back) ends the transaction without expiring what was
        loaded, so objects read here stay usable afterwards (detached).
        """
        with self.sessions() as session:
            session.connection(execution_options={"sqlite_begin": "DEFERRED"})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
