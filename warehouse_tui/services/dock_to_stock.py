"""Dock-to-stock: each received unit's time from its receipt to its putaway, matched first in, first out.

A unit waits in the receiving bin (or on the LPN) it was received into; a
putaway from there takes the oldest units of the same item, lot and owner
first. `putaway_waits` computes the waits of a window from scratch (the
reports); `shift_waits` gives the floor view the same numbers, but keeps its
result per database and on each refresh folds in only the movements recorded
since the last one (on SQLite, where the movements' seq grows in commit order:
a movement with a seq at or below the last one read can no longer appear).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import defaultdict, deque
from dataclasses import dataclass, field

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Movement

_COLUMNS = (Movement.kind, type_coerce(Movement.at, String).label("at"), Movement.seq, Movement.item_id, Movement.lot_id,
            Movement.owner_id, Movement.qty, Movement.to_bin_id, Movement.to_container_id, Movement.from_bin_id,
            Movement.from_container_id)


def _when(value) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _rows(result) -> list[tuple]:
    """(kind, at, seq, item, lot, owner, qty, to_bin, to_box, from_bin, from_box), `at` parsed once."""
    return [(kind, _when(at), *rest) for kind, at, *rest in result]


class _Fifo:
    """Receipts waiting per (item, lot, owner, where) and the waits of the putaways folded so far."""

    def __init__(self) -> None:
        self.waiting: dict[tuple, deque] = defaultdict(deque)
        self.waits: list[tuple[dt.datetime, float, int]] = []

    def fold(self, rows) -> None:
        """Rows in (at, seq) order; every putaway among them is one of the window's."""
        waiting, out = self.waiting, self.waits
        for kind, at, _seq, item, lot, owner, qty, to_bin, to_box, from_bin, from_box in rows:
            if kind == "receipt":
                where = ("c", to_box) if to_box is not None else ("b", to_bin)
                waiting[(item, lot, owner, where)].append([at, qty])
                continue
            where = ("c", from_box) if from_box is not None else ("b", from_bin)
            queue = waiting.get((item, lot, owner, where))
            left = qty
            while queue and left:
                received = queue[0]
                take = min(left, received[1])
                out.append((at, (at - received[0]).total_seconds() / 60, take))
                received[1] -= take
                left -= take
                if not received[1]:
                    queue.popleft()


def _read_window(session: Session, start: dt.datetime, end: dt.datetime, lookback: dt.timedelta, scoped=()) -> list[tuple]:
    """The putaways in [start, end) and the receipts in [start - lookback, end), in (at, seq) order."""
    # Thousands of rows a shift: read through Core with the time as the stored text, parsed by
    # datetime.fromisoformat (SQLAlchemy's SQLite DateTime parsing costs several times more).
    conn = session.connection()
    putaways = conn.execute(select(*_COLUMNS).where(Movement.kind == "putaway", Movement.at >= start, Movement.at < end,
                                                    *scoped)).all()
    if not putaways:
        return []
    receipts = conn.execute(select(*_COLUMNS).where(Movement.kind == "receipt", Movement.at >= start - lookback,
                                                    Movement.at < end, *scoped)).all()
    return sorted(_rows(receipts + putaways), key=lambda row: (row[1], row[2]))


def putaway_waits(session: Session, start: dt.datetime, end: dt.datetime, owner_id: int | None = None,
                  lookback: dt.timedelta = dt.timedelta(days=30)) -> list[tuple[dt.datetime, float, int]]:
    """(putaway time, minutes since receipt, units) for the putaways in [start, end), matched FIFO to receipts.

    Receipts up to `lookback` before `start` are matched too; a putaway of stock
    whose receipt is older (opening stock, a move into the receiving bin) is left out.
    The receipts are read by the movements' (at, kind) index: a long look-back (a
    report's 30 days) reads every receipt of it.
    """
    scoped = [Movement.owner_id == owner_id] if owner_id is not None else []
    fifo = _Fifo()
    fifo.fold(_read_window(session, start, end, lookback, scoped))
    return fifo.waits


# --------------------------------------------------------------------------- the floor view's shift, kept up to date


@dataclass
class _Folded:
    """One database's shift folded up to a movement seq (see `shift_waits`)."""

    start: dt.datetime
    lookback: dt.timedelta
    through_seq: int  # every movement with a seq up to here has been read
    last: tuple[dt.datetime, int]  # (at, seq) of the last row folded: later rows must not sort before it
    fifo: _Fifo
    # Rows read but dated at or after the `end` of the last refresh (another terminal's clock ahead): folded once `end` passes them.
    ahead: list[tuple] = field(default_factory=list)


_FOLDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> _Folded
_LOCK = threading.Lock()


def shift_waits(session: Session, start: dt.datetime, end: dt.datetime,
                lookback: dt.timedelta) -> list[tuple[dt.datetime, float, int]]:
    """`putaway_waits(session, start, end, lookback=lookback)`, kept per database and brought up to date.

    The first call for a window reads it whole; later calls with the same `start`
    read only the receipts and putaways with a seq above the last one read (the
    primary key: a handful of rows between two refreshes) and fold them in. A
    row dated before the last one folded (a sync pull of older work) or a new
    `start` (the shift moved on by an hour) folds the window again from scratch.
    On other databases than SQLite (where a seq may commit after a higher one)
    every call reads the window whole.
    """
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "sqlite":
        return putaway_waits(session, start, end, lookback=lookback)
    with _LOCK:
        conn = session.connection()
        top = conn.execute(select(func.max(Movement.seq))).scalar() or 0
        folded = _FOLDED.get(engine)
        if folded is None or folded.start != start or folded.lookback != lookback or top < folded.through_seq:
            folded = _FOLDED[engine] = _fold_window(session, start, end, lookback, top)
        elif top > folded.through_seq or folded.ahead:
            new = _rows(conn.execute(select(*_COLUMNS).where(Movement.seq > folded.through_seq,
                                                             Movement.kind.in_(("receipt", "putaway")))))
            earliest = {"receipt": start - lookback, "putaway": start}
            rows = sorted(folded.ahead + [row for row in new if row[1] >= earliest[row[0]]], key=lambda row: (row[1], row[2]))
            now = [row for row in rows if row[1] < end]
            if now and (now[0][1], now[0][2]) < folded.last:
                folded = _FOLDED[engine] = _fold_window(session, start, end, lookback, top)
            else:
                folded.fifo.fold(now)
                folded.through_seq = top
                folded.ahead = [row for row in rows if row[1] >= end]
                if now:
                    folded.last = (now[-1][1], now[-1][2])
        return list(folded.fifo.waits)


def _fold_window(session: Session, start: dt.datetime, end: dt.datetime, lookback: dt.timedelta, top: int) -> _Folded:
    conn = session.connection()
    # By the movements' (at, kind) index; no bound on seq (`top` was read in this same read transaction, so no
    # later row is visible), which would draw SQLite to a scan of the whole table by its primary key.
    rows = _rows(conn.execute(select(*_COLUMNS).where(Movement.kind.in_(("receipt", "putaway")),
                                                      Movement.at >= start - lookback)))
    # Every receipt of the look-back is kept, also of items nobody has put away yet: a later putaway may take it.
    rows = sorted((row for row in rows if row[0] == "receipt" or row[1] >= start), key=lambda row: (row[1], row[2]))
    now = [row for row in rows if row[1] < end]
    fifo = _Fifo()
    fifo.fold(now)
    last = (now[-1][1], now[-1][2]) if now else (dt.datetime.min, 0)
    return _Folded(start, lookback, top, last, fifo, [row for row in rows if row[1] >= end])
