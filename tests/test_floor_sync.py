"""The floor view on syncing terminals: after the day of test_sync_day (two terminals, an offline afternoon,
conflicts, everything synced back), the floor view of T1, of T2 and of the upstream show the same floor.

The view reads the terminal's own database only: what the other terminal did
reaches it through sync, and then it is drawn like the terminal's own work.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from test_sync_day import day  # noqa: F401  (the module fixture: the day, run once here)
from warehouse_tui.db.models import Movement
from warehouse_tui.services import floor_metrics as fm

pytestmark = pytest.mark.postgres


def _floor(db, now: dt.datetime) -> tuple:
    with db.reading() as s:
        snap = fm.snapshot(s, now, fm.FloorSettings(shift_hours=48))
    lists = tuple(sorted((p.ref, p.done, p.short, p.skipped, p.open, p.holder) for p in snap.lists))
    return (sum(snap.picked_units), sum(snap.picked_lines), sum(snap.received_units), sum(snap.shipped_units),
            lists, tuple(sorted(snap.exceptions)))


def test_the_floor_view_of_each_terminal_and_the_upstream_agree_after_the_day(day):  # noqa: F811
    site = day.site
    with site.upstream.reading() as s:
        last = s.scalar(select(func.max(Movement.at)))
    now = last + dt.timedelta(minutes=1)
    upstream = _floor(site.upstream, now)
    picked, _lines, received, _shipped, _lists, _exceptions = upstream
    assert picked > 0 and received > 0  # the day picked and received: there is something to agree on
    assert _floor(site.t1, now) == upstream
    assert _floor(site.t2, now) == upstream
