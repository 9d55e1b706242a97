"""What a failed database or file operation means for the person at the terminal: one line, no password.

The command line (and anything else that must not show a traceback for a broken
environment) turns SQLite's and PostgreSQL's errors into a sentence saying what
is wrong and what to do next. Every one of these failures happens before the
transaction commits, so it always also means: nothing of that step was recorded.
"""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from warehouse_tui.db.engine import redact

# SQLite's primary result codes (the low byte of an extended code).
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_FULL = sqlite3.SQLITE_FULL
_READONLY = sqlite3.SQLITE_READONLY
_CANTOPEN = sqlite3.SQLITE_CANTOPEN
_NOTADB = sqlite3.SQLITE_NOTADB
_CORRUPT = sqlite3.SQLITE_CORRUPT
_IOERR = sqlite3.SQLITE_IOERR
_PERM = sqlite3.SQLITE_PERM


def _sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    if isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, sqlite3.Error):
        return exc.orig
    return None


def explain_sqlite(error: sqlite3.Error, where: str) -> str:
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _BUSY:
        return (f"Database {where} is busy: another program is writing to it (an import?) — "
                "try again when it has finished; nothing was changed")
    if primary == _FULL:
        return f"The disk holding {where} is full — free some space and try again; nothing of this step was recorded"
    if primary in (_READONLY, _PERM):
        return (f"Database {where} is read-only (the file or its folder cannot be written) — nothing was changed; "
                "check its permissions")
    if primary == _CANTOPEN:
        return f"Cannot open database {where} — check that the file and its folder exist and can be read and written"
    if primary == _NOTADB:
        return f"{where} is not a warehouse database (not SQLite, or damaged) — check --db; nothing was changed"
    if primary == _CORRUPT:
        return f"Database {where} is damaged ({error}) — restore it from a backup; warehouse-tui check shows what it can read"
    if primary == _IOERR:
        name = getattr(error, "sqlite_errorname", "")
        if name == "SQLITE_IOERR_SHORT_READ":
            return f"Database {where} is cut short (truncated) — restore it from a backup"
        return f"Reading or writing {where} failed ({error}: the disk is full or failing?) — nothing of this step was recorded"
    return f"Database {where} failed: {error}"


def explain_os(error: OSError, where: str | None = None) -> str:
    what = error.filename or where or "a file"
    if error.errno == errno.ENOSPC:
        return f"The disk is full writing {what} — free some space and try again"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{what} cannot be written or read ({error.strerror}) — check its permissions"
    if error.errno == errno.EISDIR:
        return f"{what} is a folder, not a file"
    return f"{what}: {error.strerror or error}"


def explain(exc: BaseException, db: str | None) -> str | None:
    """One line for a database or file failure; None for anything else (a bug: let it show)."""
    where = redact(db) if db and "://" in db else (db or "the database")
    error = _sqlite_error(exc)
    if error is not None:
        return explain_sqlite(error, where)
    if isinstance(exc, SQLAlchemyError):
        # The driver's own first line: a server's message names host and port, never the password.
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        if isinstance(exc, OperationalError):  # PostgreSQL: refused, timed out, server gone
            return f"Cannot reach database {where} ({reason}) — is the server running? Nothing was changed"
        return f"Database {where} failed: {reason}"
    if isinstance(exc, OSError):
        return explain_os(exc, where)
    return None
