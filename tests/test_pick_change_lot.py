"""Change of lot at the pick face: the picker scans another lot found in the bin; FEFO decides."""

from __future__ import annotations

import pytest
from fixture_dates import ahead
from sqlalchemy import select
from test_picking import actor, next_task, pick, release, start
from test_waves import build_site, order, stock

from warehouse_tui.db.models import AuditEvent, Bin, Lot, PickTask, Quant
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import picking
from warehouse_tui.services.check import run_checks


@pytest.fixture
def milk(db):
    """A2 holds MILK lots M-A and M-B of the same date and M-LATE; ORD-1 wants 3, allocated from M-A."""
    build_site(db)
    with db.transaction() as s:
        stock(s, "MILK", "A2", 4, lot="M-A", expiry=ahead(30))
        stock(s, "MILK", "A2", 5, lot="M-B", expiry=ahead(30))
        stock(s, "MILK", "A2", 9, lot="M-LATE", expiry=ahead(90))
        stock(s, "MILK", "A3", 9, lot="M-C", expiry=ahead(30))
        order(s, "ORD-1", [("MILK", 3)])
    release(db, "ORD-1")
    start(db, "U1", "ORD-1")
    return db


def reserved(s, lot_code):
    return s.scalar(select(Quant.reserved).join(Lot, Lot.id == Quant.lot_id).join(Bin, Bin.id == Quant.bin_id)
                    .where(Lot.code == lot_code, Bin.code == "A2"))


def change(db, task, code):
    with db.transaction() as s:
        return picking.change_lot(s, actor(s, "U1"), task.id, code)


def test_a_lot_of_the_same_date_found_in_the_bin_takes_the_allocation_and_its_reservation(milk):
    task = next_task(milk, "U1", "PL-00001")
    assert task.lot_code == "M-A"
    view = change(milk, task, "M-B")
    assert view.lot_code == "M-B"
    with milk.reading() as s:
        assert (reserved(s, "M-A"), reserved(s, "M-B")) == (0, 3)
        assert s.scalar(select(PickTask.lot_id)) == s.scalar(select(Lot.id).where(Lot.code == "M-B"))
        assert "lot M-A -> M-B" in s.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "pick_lot_changed")).one()
    pick(milk, "U1", view)
    with milk.reading() as s:
        assert run_checks(s).ok


def test_a_later_expiring_lot_is_refused_naming_the_allocated_lot(milk):
    task = next_task(milk, "U1", "PL-00001")
    with pytest.raises(NotAllowed, match="Wrong lot M-LATE — pick lot M-A of MILK"):
        change(milk, task, "M-LATE")
    with pytest.raises(NotAllowed, match="Wrong lot M-C: 0 free in A2, 3 to pick — pick lot M-A"):
        change(milk, task, "M-C")  # the same item, but another bin's lot
    with pytest.raises(NotAllowed, match="Wrong lot NOPE — pick lot M-A"):
        change(milk, task, "NOPE")
    with milk.reading() as s:
        assert reserved(s, "M-A") == 3 and next_task(milk, "U1", "PL-00001").lot_code == "M-A"


def test_a_lot_with_too_few_free_units_is_refused(db):
    build_site(db)
    with db.transaction() as s:
        stock(s, "MILK", "A2", 4, lot="M-A", expiry=ahead(30))
        stock(s, "MILK", "A2", 2, lot="M-B", expiry=ahead(30))
        order(s, "ORD-1", [("MILK", 3)])
    release(db, "ORD-1")
    start(db, "U1", "ORD-1")
    task = next_task(db, "U1", "PL-00001")
    with pytest.raises(NotAllowed, match="Wrong lot M-B: 2 free in A2, 3 to pick"):
        change(db, task, "M-B")
