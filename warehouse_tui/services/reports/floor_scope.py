"""What the floor reports share: the UTC day range of their options as instants, and the client asked for."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Owner
from warehouse_tui.errors import InvalidInput


def day_range(opts) -> tuple[dt.datetime, dt.datetime]:
    """[first day 00:00, the day after the last 00:00): movement times are naive UTC."""
    return dt.datetime.combine(opts.date_from, dt.time()), dt.datetime.combine(opts.date_to + dt.timedelta(days=1), dt.time())


def days(opts) -> list[dt.date]:
    return [opts.date_from + dt.timedelta(days=n) for n in range((opts.date_to - opts.date_from).days + 1)]


def owner_id(session: Session, code: str | None) -> int | None:
    """The client's id; a code that names no client is refused naming the known ones."""
    if code is None:
        return None
    found = session.scalar(select(Owner.id).where(Owner.code == code))
    if found is None:
        known = list(session.scalars(select(Owner.code).order_by(Owner.code).limit(20)))
        raise InvalidInput(f"Owner {code!r} does not exist — the owners are {', '.join(known) or 'none'}")
    return found
