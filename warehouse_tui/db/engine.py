"""Engine and session setup: durable SQLite (WAL, synchronous=FULL, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from warehouse_tui.errors import ConfigError

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


def _install_sqlite_durability(engine: Engine) -> None:
    # pysqlite's own transaction handling begins lazily and never IMMEDIATE; take it
    # over as SQLAlchemy's pysqlite docs show, so a write transaction holds the
    # write lock from its first statement and never fails half-way on SQLITE_BUSY.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(db: str | Path, **kwargs) -> Engine:
    """An engine for a URL or path; SQLite files get the durability settings of DESIGN §3."""
    url = to_url(db)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _install_sqlite_durability(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """One database: its engine and a session factory."""

    def __init__(self, db: str | Path | Engine, *, migrate: bool = True) -> None:
        self.engine = db if isinstance(db, Engine) else make_engine(db)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        if migrate:
            from warehouse_tui.db.migrate import upgrade

            upgrade(self.engine)
        # On an upstream, every writer feeds the change feed terminals pull from (sync/feed.py).
        from warehouse_tui.sync.feed import watch

        self.is_upstream = watch(self)

    @property
    def url(self) -> str:
        return redact(self.engine.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

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
