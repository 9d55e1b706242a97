"""The floor view's dock-to-stock is kept between refreshes and brought up to date; it always equals the figure from scratch.

Receipts and putaways are written straight into the ledger (what the floor
records) on a real SQLite file, between refreshes, in time order, late (a sync
pull of work done earlier on another terminal) and dated ahead of the refresh.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from warehouse_tui.db.models import Bin, Item, Movement, Owner
from warehouse_tui.services import dock_to_stock as d2s
from warehouse_tui.services import floor_metrics as fm

START = dt.datetime(2026, 11, 20, 8)
DAY = dt.timedelta(days=1)
_uuid = itertools.count()


@pytest.fixture
def dock(db):
    with db.transaction() as s:
        owner = Owner(code="W", name="Warehouse")
        s.add(owner)
        s.flush()
        items = [Item(owner_id=owner.id, sku=sku, description=sku) for sku in ("A", "B")]
        bins = [Bin(code="RCV", barcode="RCV", kind="receiving"), Bin(code="S1", barcode="S1", kind="storage")]
        s.add_all(items + bins)
        s.flush()
        ids = {"owner": owner.id, "A": items[0].id, "B": items[1].id, "RCV": bins[0].id, "S1": bins[1].id}
    return db, ids


def record(dock, kind: str, sku: str, qty: int, minutes: int) -> None:
    db, ids = dock
    where = {"to_bin_id": ids["RCV"]} if kind == "receipt" else {"from_bin_id": ids["RCV"], "to_bin_id": ids["S1"]}
    with db.transaction() as s:
        s.add(Movement(uuid=f"m-{next(_uuid)}", kind=kind, item_id=ids[sku], qty=qty, owner_id=ids["owner"], terminal="T1",
                       at=START + dt.timedelta(minutes=minutes), **where))


def kept_and_fresh(dock, end_minutes: int):
    db, _ids = dock
    end = START + dt.timedelta(minutes=end_minutes)
    with db.reading() as s:
        kept = fm.dock_to_stock(s, START, end)
    with db.reading() as s:
        fresh = fm.dock_to_stock_of((m, u) for _at, m, u in d2s.putaway_waits(s, START, end, lookback=DAY))
    return kept, fresh


def test_refreshes_fold_new_late_and_future_work_to_the_figure_from_scratch(dock):
    record(dock, "receipt", "A", 10, -30)  # before the shift: still waiting at its start
    record(dock, "putaway", "A", 4, 10)
    first, fresh = kept_and_fresh(dock, 60)
    assert first == fresh == fm.DockToStock(4, 40.0, 40.0)
    folded = d2s._FOLDED[dock[0].engine]

    # New work in time order: folded in, without reading the window again.
    record(dock, "receipt", "B", 5, 70)
    record(dock, "putaway", "B", 5, 90)
    record(dock, "putaway", "A", 6, 95)
    kept, fresh = kept_and_fresh(dock, 100)
    assert kept == fresh == fm.DockToStock(15, 40.0, 125.0)
    assert d2s._FOLDED[dock[0].engine] is folded  # brought up to date, not measured again

    # Another terminal's work pulled late: a receipt of A at 00:20 that the 00:10 putaway should have taken first.
    record(dock, "receipt", "A", 3, -40)
    record(dock, "putaway", "A", 3, 97)
    kept, fresh = kept_and_fresh(dock, 110)
    assert kept == fresh and kept.units == 18
    assert kept != fm.DockToStock(18, 40.0, 125.0)  # the late receipt changed who waited how long
    assert d2s._FOLDED[dock[0].engine] is not folded

    # A putaway dated after the refresh (a clock ahead) counts only once the refresh reaches its time.
    record(dock, "receipt", "B", 2, 100)
    record(dock, "putaway", "B", 2, 130)
    kept, fresh = kept_and_fresh(dock, 120)
    assert kept == fresh and kept.units == 18
    kept, fresh = kept_and_fresh(dock, 140)
    assert kept == fresh and kept.units == 20


def test_a_new_shift_start_is_measured_from_scratch(dock):
    record(dock, "receipt", "A", 10, -30)
    record(dock, "putaway", "A", 4, 10)
    record(dock, "putaway", "A", 6, 70)
    db, _ids = dock
    with db.reading() as s:
        assert fm.dock_to_stock(s, START, START + dt.timedelta(minutes=80)).units == 10
    # An hour on, the shift starts at 09:00: the 08:10 putaway is out of it.
    with db.reading() as s:
        later = fm.dock_to_stock(s, START + dt.timedelta(hours=1), START + dt.timedelta(minutes=80))
    assert later == fm.DockToStock(6, 100.0, 100.0)
