"""One unit of work per operator action: the one transaction a scan writes in, committed or rolled back whole.

The shape of cosmicpython's `with uow:`. A workflow opens `scan()` around a scan
that may record something; the services it calls get the scan's session from
`writing()` (or `reading()`), so everything the scan does is one transaction,
committed — durable — when the scan is taken, and rolled back whole when it is
refused. Outside a scan, `reading()` and `writing()` open a transaction of their own.

A write that could not get the database's write lock within its budget
(SQLite's busy_timeout: another writer holds it) leaves as `DatabaseBusy`.

Group commit (`ScanGroup`): when several scans are already queued from the
scanner, the app may record them in one transaction, each scan in its own
SAVEPOINT, and commit once (one fsync instead of one per scan). A refused scan
rolls back only its savepoint. Nothing of the group is shown as done before the
group's commit returned, so "a scan the screen confirms is on disk" holds; a
kill before the commit loses only scans never confirmed.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database

T = TypeVar("T")
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


class ScanGroup:
    """Scans recorded in one write transaction, each in its own SAVEPOINT, committed once by `commit()`.

    While a group is open on a database, every `UnitOfWork` of that database
    works in the group's session: a scan is a savepoint (released when taken,
    rolled back when refused), reads see what the group's earlier scans wrote.
    Open it only around scans whose writes go through a `UnitOfWork` (a write
    of its own elsewhere would wait for the group's write lock).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.scans = 0  # scans handled in the group so far (taken or refused)
        self._stack = contextlib.ExitStack()
        self._thread = 0
        self.session: Session | None = None

    def open(self) -> ScanGroup:
        """Begin the transaction and take the write lock now (BEGIN IMMEDIATE); raises DatabaseBusy when it is not free."""
        if _GROUPS.get(self.db) is not None:
            raise RuntimeError("a scan group is already open on this database")
        try:
            session = self._stack.enter_context(self.db.transaction())
            _hold_loaded(session)
            session.connection()  # BEGIN IMMEDIATE: the lock is the group's from here to its commit
        except OperationalError as exc:
            self._stack.close()
            if database_busy(exc):
                raise DatabaseBusy() from exc
            raise
        except BaseException:
            self._stack.close()
            raise
        self.session = session
        self._thread = threading.get_ident()
        _GROUPS[self.db] = self
        return self

    def commit(self) -> None:
        """Commit every scan the group took: durable when this returns (synchronous=FULL). On an error nothing of the group is kept."""
        try:
            self._stack.close()  # the transaction block ends: COMMIT
        finally:
            self._forget()

    def _forget(self) -> None:
        if _GROUPS.get(self.db) is self:
            del _GROUPS[self.db]
        self.session = None

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[Session]:
        """One scan of the group: released when the block ends, rolled back on any error.

        What session hooks staged on the connection for the commit (lists in `connection.info`, such as the
        document changes the sync captures at each flush and writes at COMMIT) is cut back with it: the
        savepoint's rollback is no ROLLBACK those hooks would hear.
        """
        assert self.session is not None
        self.scans += 1
        info = self.session.connection().info
        staged = {key: len(value) for key, value in info.items() if isinstance(value, list)}
        try:
            with self.session.begin_nested():
                yield self.session
        except BaseException:
            _unstage(info, staged)
            raise


# The scan group open on a database, if any (opened and committed on the app's loop, never across threads).
_GROUPS: weakref.WeakKeyDictionary[Database, ScanGroup] = weakref.WeakKeyDictionary()


def _unstage(info: dict, staged: dict[object, int]) -> None:
    for key, value in list(info.items()):
        if isinstance(value, list):
            if key in staged:
                del value[staged[key]:]
            else:
                del info[key]


def open_group(db: Database) -> ScanGroup | None:
    """The scan group open on `db` in this thread, if any (another thread's work is never part of it)."""
    group = _GROUPS.get(db)
    return group if group is not None and group._thread == threading.get_ident() else None


def _hold_loaded(session: Session) -> None:
    # The session holds what it loads only weakly: the item the resolver found would be
    # read again by the service. Held here for the scan (SQLAlchemy's strong-reference recipe).
    loaded: list = []
    event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
    # And what it writes: in a scan group the next scans find those rows too (a quant made by the first receipt).
    event.listen(session, "pending_to_persistent", lambda _session, instance: loaded.append(instance))


_ROW_IDS = "unit_of_work.row_ids"


def row_by_key(session: Session, model: type[T], key: object, query: Callable[[], T | None], matches: Callable[[T], bool]) -> T | None:
    """The row of `model` that `query` finds by a unique `key`, remembered by id for the rest of the session.

    In a scan group the next scans find it in the session's identity map by id,
    without a query; in a session of its own nothing is remembered yet and `query`
    runs as before. A remembered row is used only when it still exists, is not
    deleted and `matches` the key (its unique columns as they stand now); else
    `query` runs again: the memory can save a query, never change an answer.
    """
    ids = session.info.setdefault(_ROW_IDS, {})
    slot = (model, key)
    row_id = ids.get(slot)
    if row_id is not None:
        row = session.get(model, row_id)
        if row is not None and row not in session.deleted and matches(row):
            return row
    row = query()
    if row is None:
        ids.pop(slot, None)
    else:
        ids[slot] = row.id
    return row


def remember_row(session: Session, model: type, key: object, row: object) -> None:
    """A row just made (and flushed) under a unique `key`: `row_by_key` finds it by id from now on."""
    session.info.setdefault(_ROW_IDS, {})[(model, key)] = row.id


class UnitOfWork:
    """The transactions of one terminal's actions on its database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.session: Session | None = None  # the write transaction of the scan being handled

    @contextlib.contextmanager
    def scan(self) -> Iterator[Session]:
        """One write transaction for the whole scan: committed when the block ends, rolled back on `Rollback` or any error.

        Inside an open `ScanGroup` the scan is a savepoint of the group's transaction instead, committed with the group.
        """
        group = open_group(self.db)
        if group is not None:
            try:
                with group.savepoint() as session:
                    self.session = session
                    try:
                        yield session
                    finally:
                        self.session = None
            except Rollback:
                pass
            return
        try:
            with self.db.transaction() as session:
                _hold_loaded(session)
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
        group = open_group(self.db) if self.session is None else None
        if self.session is not None:
            yield self.session
        elif group is not None:  # what the group's earlier scans wrote is not committed yet: read it there
            yield group.session
        else:
            with self.db.reading() as session:
                yield session

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """The scan's transaction when there is one (committed when the scan is done), else a transaction of its own."""
        if self.session is not None:
            yield self.session
            return
        group = open_group(self.db)
        if group is not None:  # a write of its own inside the group: its own savepoint, committed with the group
            with group.savepoint() as session:
                yield session
            return
        try:
            with self.db.transaction() as session:
                yield session
        except OperationalError as exc:
            if database_busy(exc):
                raise DatabaseBusy() from exc
            raise
