"""One unit of work per operator action: the one transaction a scan writes in, committed or rolled back whole.

The shape of cosmicpython's `with uow:`. A workflow opens `scan()` around a scan
that may record something; the services it calls get the scan's session from
`writing()` (or `reading()`), so everything the scan does is one transaction,
committed — durable — when the scan is taken, and rolled back whole when it is
refused. Outside a scan, `reading()` and `writing()` open a transaction of their own.

A write that could not get the database's write lock within its budget
(SQLite's busy_timeout: another writer holds it) leaves as `DatabaseBusy`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database

DATABASE_BUSY = "Database busy — scan again"
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class DatabaseBusy(Exception):
    """The write lock was not free within busy_timeout: nothing of the action was recorded; do it again.

    Not a `WarehouseError`: the action was not refused, it did not happen.
    """

    def __init__(self) -> None:
        super().__init__(DATABASE_BUSY)


def database_busy(exc: BaseException) -> bool:
    """Whether the error is SQLite's "database is locked": the write lock was not free within busy_timeout.

    Looks along the chain of causes: a service may have wrapped it.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DatabaseBusy):
            return True
        if isinstance(seen, OperationalError):
            code = getattr(seen.orig, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
                return True
            if "database is locked" in str(seen.orig):
                return True
        seen = seen.__cause__ or seen.__context__
    return False


class Rollback(Exception):
    """Raised inside `scan()` to undo everything the scan wrote (a refused scan)."""


class UnitOfWork:
    """The transactions of one terminal's actions on its database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: Session | None = None  # the write transaction of the scan being handled

    @contextlib.contextmanager
    def scan(self) -> Iterator[Session]:
        """One write transaction for the whole scan: committed when the block ends, rolled back on `Rollback` or any error."""
        try:
            with self.db.transaction() as session:
                # The session holds what it loads only weakly: the item the resolver found would be
                # read again by the service. Held here for the scan (SQLAlchemy's strong-reference recipe).
                loaded: list = []
                event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
                self.session = session
                try:
                    yield session
                finally:
                    self.session = None
        except Rollback:
            pass
        except OperationalError as exc:
            if database_busy(exc):
                raise DatabaseBusy() from exc
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """The scan's transaction when there is one, else a read of its own."""
        if self.session is not None:
            yield self.session
        else:
            with self.db.reading() as session:
                yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """The scan's transaction when there is one (committed when the scan is done), else a transaction of its own."""
        if self.session is not None:
            yield self.session
            return
        try:
            with self.db.transaction() as session:
                yield session
        except OperationalError as exc:
            if database_busy(exc):
                raise DatabaseBusy() from exc
            raise
