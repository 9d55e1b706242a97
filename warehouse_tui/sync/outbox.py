"""The terminal's outbox as the app's status line counts it: what waits to be pushed (light: no push machinery).

The app imports this at start for its unsynced count; push.py, the worker and sync_once use the same
functions, so the count means the same everywhere.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from warehouse_tui.db.models import OutboxEntry


def pending_count(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.pushed_at.is_(None))) or 0


_OUTBOX_SINCE = (select(func.count(), func.max(OutboxEntry.__table__.c.position))
                 .where(OutboxEntry.__table__.c.position > bindparam("after")))


def outbox_since(connection, after: int) -> tuple[int, int | None]:
    """Outbox entries written after position `after`: (how many, the last one's position); a primary-key range, cheap."""
    new, top = connection.execute(_OUTBOX_SINCE, {"after": after}).one()
    return int(new or 0), top
