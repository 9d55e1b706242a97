"""Rows written outside the ORM, noted in their transaction for whoever watches commits.

Bulk writers (the CSV import, the upstream's batch booking) bypass the ORM events the sync's
feed listens to; they name the aggregates they changed here instead. The database layer only
keeps the list on the connection: sync installs what reads it at commit (DESIGN §2: the
database knows nothing of sync).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

_INFO_KEY = "warehouse_changed_aggregates"


def note_changed(conn: Connection, changed: Iterable[tuple[str, int]]) -> None:
    """Note (kind, id) aggregates changed in the transaction of `conn`, for the commit hooks to read."""
    conn.info.setdefault(_INFO_KEY, set()).update(changed)


def take_changed(conn: Connection) -> set[tuple[str, int]]:
    """The aggregates noted in the transaction that is ending, forgotten from now on."""
    return conn.info.pop(_INFO_KEY, None) or set()
