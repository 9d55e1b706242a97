"""Waves: releasing orders into pick lists and reserving their stock, through services only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from warehouse_tui import clock
from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import waves
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post

CLI = Actor(None, "CLI")


@pytest.fixture
def site(db):
    return build_site(db)


def build_site(db):
    """A small site: pick faces A1..A3 and reserve R1 in walking order, plus bins that are never picked from."""
    with db.transaction() as s:
        for code, kind, seq, blocked in (
            ("RCV", "receiving", 0, False), ("BLK", "pick", 5, True), ("A1", "pick", 10, False),
            ("R1", "storage", 15, False), ("A2", "pick", 20, False), ("A3", "pick", 30, False),
            ("STG", "staging", 800, False), ("PACK", "pack", 900, False), ("SHIP", "shipping", 950, False),
        ):
            md.add_bin(s, code, kind=kind, pick_seq=seq, blocked=blocked)
        md.add_item(s, "PLAIN", description="Plain thing")
        md.add_item(s, "OTHER")
        md.add_item(s, "MILK", tracking="lot", expiry_required=True)
        md.add_item(s, "PAINT", tracking="lot")
        md.add_item(s, "PHONE", tracking="serial")
        s.add_all([Operator(badge="U1", name="Al", role="operator", pin_hash="-"),
                   Operator(badge="U2", name="Bo", role="operator", pin_hash="-"),
                   Operator(badge="SUP", name="Sue", role="supervisor", pin_hash="-")])
    return db


def stock(s, sku, bin_code, qty, lot=None, expiry=None, serials=()):
    item = md.item_by_sku(s, sku)
    lot_row = md.lot(s, item, lot, expiry) if lot else None
    to_bin = md.bin_by_code(s, bin_code)
    if serials:
        for serial in serials:
            post(s, CLI, kind="adjust", item=item, qty=1, lot=lot_row, serial=serial, to_bin=to_bin, doc_ref="OPENING")
    else:
        post(s, CLI, kind="adjust", item=item, qty=qty, lot=lot_row, to_bin=to_bin, doc_ref="OPENING")


def order(s, ref, lines, priority=1, created=None):
    o = OutboundOrder(ref=ref, priority=priority, status="new", created_at=created or dt.datetime(2026, 1, 1))
    s.add(o)
    s.flush()
    for sku, qty in lines:
        s.add(OutboundLine(order_id=o.id, item_id=md.item_by_sku(s, sku).id, qty=qty))
    s.flush()
    return o


def tasks_of(s, order_ref):
    """(bin, lot, qty) of the order's pick tasks in walking order."""
    rows = s.execute(
        select(Bin.code, Lot.code, PickTask.qty)
        .select_from(PickTask).join(Bin, Bin.id == PickTask.bin_id).outerjoin(Lot, Lot.id == PickTask.lot_id)
        .join(OutboundLine, OutboundLine.id == PickTask.order_line_id).join(OutboundOrder, OutboundOrder.id == OutboundLine.order_id)
        .where(OutboundOrder.ref == order_ref).order_by(PickTask.pick_list_id, PickTask.seq)
    ).all()
    return [tuple(r) for r in rows]


def reserved(s, sku, bin_code, lot=None):
    q = select(Quant.reserved).join(Bin, Bin.id == Quant.bin_id).where(Quant.item_id == md.item_by_sku(s, sku).id, Bin.code == bin_code)
    if lot:
        q = q.join(Lot, Lot.id == Quant.lot_id).where(Lot.code == lot)
    return s.scalar(q)


def test_lots_are_allocated_first_expiry_first_out(site):
    with site.transaction() as s:
        stock(s, "MILK", "A1", 10, lot="LATE", expiry=clock.today() + dt.timedelta(days=200))
        stock(s, "MILK", "R1", 10, lot="SOON", expiry=clock.today() + dt.timedelta(days=30))
        stock(s, "MILK", "A2", 10, lot="MIDDLE", expiry=clock.today() + dt.timedelta(days=90))
        order(s, "ORD-1", [("MILK", 15)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        # The soonest lot first even though it lies in reserve; then the next expiry; the latest lot untouched.
        assert tasks_of(s, "ORD-1") == [("R1", "SOON", 10), ("A2", "MIDDLE", 5)]
        assert reserved(s, "MILK", "A1", "LATE") == 0


def test_expired_lot_is_never_allocated(site):
    with site.transaction() as s:
        stock(s, "MILK", "A1", 20, lot="OLD", expiry=clock.today() - dt.timedelta(days=1))
        stock(s, "MILK", "A2", 3, lot="GOOD", expiry=clock.today() + dt.timedelta(days=60))
        order(s, "ORD-1", [("MILK", 5)])
    with site.transaction() as s:
        result = waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A2", "GOOD", 3)]
        assert reserved(s, "MILK", "A1", "OLD") == 0
        assert [(b.order_ref, b.sku, b.missing) for b in result.backorders] == [("ORD-1", "MILK", 2)]


def test_lots_without_expiry_go_oldest_lot_first(site):
    with site.transaction() as s:
        stock(s, "PAINT", "A1", 5, lot="P-OLD")
        stock(s, "PAINT", "A2", 5, lot="P-NEW")
        order(s, "ORD-1", [("PAINT", 7)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A1", "P-OLD", 5), ("A2", "P-NEW", 2)]


def test_pick_face_is_preferred_over_reserve(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "R1", 50)  # reserve, earlier in the walk
        stock(s, "PLAIN", "A2", 8)
        order(s, "ORD-1", [("PLAIN", 10)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        # Walking order within the list: R1 (seq 15) before A2 (seq 20).
        assert tasks_of(s, "ORD-1") == [("R1", None, 2), ("A2", None, 8)]


def test_reserved_stock_is_never_promised_twice_across_waves(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        order(s, "ORD-1", [("PLAIN", 6)], priority=5)
        order(s, "ORD-2", [("PLAIN", 6)], priority=1)
        order(s, "ORD-3", [("PLAIN", 1)], priority=1, created=dt.datetime(2026, 2, 1))
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.transaction() as s:
        second = waves.release(s, CLI, ["ORD-2"])
    with site.transaction() as s:
        third = waves.release(s, CLI)
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A1", None, 6)]
        assert tasks_of(s, "ORD-2") == [("A1", None, 4)]
        assert [b.missing for b in second.backorders] == [2]
        assert third.waiting == ["ORD-3"] and third.pick_lists == []
        assert reserved(s, "PLAIN", "A1") == 10
        assert sum(s.scalars(select(PickTask.qty))) == 10
        assert run_checks(s).ok


def test_reserved_stock_cannot_be_moved_away(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        order(s, "ORD-1", [("PLAIN", 8)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with pytest.raises(InvariantViolation, match="reserved for picking; only 2 free"):
        with site.transaction() as s:
            item = md.item_by_sku(s, "PLAIN")
            post(s, CLI, kind="move", item=item, qty=3, from_bin=md.bin_by_code(s, "A1"), to_bin=md.bin_by_code(s, "A2"))


def test_only_pickable_bins_are_allocated(site):
    with site.transaction() as s:
        for bin_code in ("RCV", "BLK", "STG", "PACK", "SHIP"):
            stock(s, "PLAIN", bin_code, 50)
        stock(s, "PLAIN", "A3", 3)
        order(s, "ORD-1", [("PLAIN", 10)])
    with site.transaction() as s:
        result = waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A3", None, 3)]
        assert [b.missing for b in result.backorders] == [7]
        for bin_code in ("RCV", "BLK", "STG", "PACK", "SHIP"):
            assert reserved(s, "PLAIN", bin_code) == 0


def test_stock_inside_an_lpn_is_not_allocated(site):
    with site.transaction() as s:
        item = md.item_by_sku(s, "PLAIN")
        post(s, CLI, kind="adjust", item=item, qty=40, to_bin=md.bin_by_code(s, "R1"), to_container=md.container(s, "LPN-1"))
        stock(s, "PLAIN", "A1", 2)
        order(s, "ORD-1", [("PLAIN", 5)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A1", None, 2)]


def test_partial_allocation_releases_what_exists_and_records_a_backorder(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 4)
        stock(s, "OTHER", "A2", 9)
        order(s, "ORD-1", [("PLAIN", 10), ("OTHER", 2)])
    with site.transaction() as s:
        result = waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        o = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "ORD-1")).one()
        assert o.status == "released"
        assert [(line.qty, line.qty_allocated) for line in o.lines] == [(10, 4), (2, 2)]
        exc = s.scalars(select(WarehouseException)).one()
        assert (exc.kind, exc.ref, exc.status) == ("backorder", "ORD-1", "open")
        assert exc.data["lines"] == [{"sku": "PLAIN", "ordered": 10, "allocated": 4, "missing": 6}]
        assert "PLAIN 6 of 10 missing" in exc.detail
        assert [p.tasks for p in result.pick_lists] == [2]


def test_order_with_no_stock_at_all_stays_new_and_waits(site):
    with site.transaction() as s:
        order(s, "ORD-1", [("PLAIN", 3)])
    with site.transaction() as s:
        result = waves.release(s, CLI)
    with site.reading() as s:
        assert result.waiting == ["ORD-1"]
        assert s.scalars(select(OutboundOrder.status)).one() == "new"
        assert s.scalar(select(PickList.id)) is None
        assert s.scalar(select(WarehouseException.id)) is None
    # Stock arrives: the next wave takes it.
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 3)
    with site.transaction() as s:
        assert [p.orders for p in waves.release(s, CLI).pick_lists] == [("ORD-1",)]


def test_tasks_are_numbered_in_walking_order(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A3", 5)
        stock(s, "OTHER", "A1", 5)
        stock(s, "MILK", "A2", 5, lot="M1", expiry=clock.today() + dt.timedelta(days=10))
        order(s, "ORD-1", [("PLAIN", 1), ("MILK", 1), ("OTHER", 1)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert [b for b, _, _ in tasks_of(s, "ORD-1")] == ["A1", "A2", "A3"]
        seqs = list(s.scalars(select(PickTask.seq).order_by(PickTask.seq)))
        assert seqs == sorted(set(seqs))


def test_batch_pick_list_holds_several_orders_each_with_its_own_tote_slot(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 100)
        for n, prio in enumerate((1, 9, 3, 5, 1), start=1):
            order(s, f"ORD-{n}", [("PLAIN", 2)], priority=prio, created=dt.datetime(2026, 1, n))
    with site.transaction() as s:
        result = waves.release(s, CLI, batch_size=2)
    with site.reading() as s:
        # Highest priority first, then oldest; a list's priority is its highest order's.
        assert [(p.orders, p.priority) for p in result.pick_lists] == [
            (("ORD-2", "ORD-4"), 9), (("ORD-3", "ORD-1"), 3), (("ORD-5",), 1)]
        first = s.scalars(select(PickList).where(PickList.ref == result.pick_lists[0].ref)).one()
        slots = s.scalars(select(PickListOrder).where(PickListOrder.pick_list_id == first.id)).all()
        assert len(slots) == 2 and all(slot.tote_id is None for slot in slots)
        assert len(s.scalars(select(PickTask).where(PickTask.pick_list_id == first.id)).all()) == 2
        assert set(s.scalars(select(OutboundOrder.status))) == {"released"}


def test_max_orders_takes_the_highest_priority_first(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 100)
        order(s, "ORD-LOW", [("PLAIN", 1)], priority=1)
        order(s, "ORD-HIGH", [("PLAIN", 1)], priority=9)
    with site.transaction() as s:
        result = waves.release(s, CLI, max_orders=1)
    with site.reading() as s:
        assert [p.orders for p in result.pick_lists] == [("ORD-HIGH",)]
        assert s.scalars(select(OutboundOrder.status).where(OutboundOrder.ref == "ORD-LOW")).one() == "new"


def test_serial_items_are_reserved_by_quantity_in_a_bin(site):
    with site.transaction() as s:
        stock(s, "PHONE", "A2", 0, serials=("SN1", "SN2", "SN3"))
        order(s, "ORD-1", [("PHONE", 2)])
    with site.transaction() as s:
        waves.release(s, CLI, ["ORD-1"])
    with site.reading() as s:
        assert tasks_of(s, "ORD-1") == [("A2", None, 2)]
        assert reserved(s, "PHONE", "A2") == 2


@pytest.mark.parametrize("refs, error, message", [
    (["ORD-1", "NOPE"], NotFound, "not known: NOPE"),
    (["ORD-1", "ORD-DONE"], NotAllowed, "ORD-DONE is picked"),
])
def test_bad_order_names_refuse_the_whole_wave(site, refs, error, message):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        order(s, "ORD-1", [("PLAIN", 1)])
        order(s, "ORD-DONE", [("PLAIN", 1)]).status = "picked"
    with pytest.raises(error, match=message):
        with site.transaction() as s:
            waves.release(s, CLI, refs)
    with site.reading() as s:
        assert s.scalar(select(PickList.id)) is None
        assert reserved(s, "PLAIN", "A1") == 0


@pytest.mark.parametrize("kwargs", [{"max_orders": 0}, {"max_orders": -3}, {"batch_size": 0}, {"batch_size": 1.5}])
def test_bad_wave_options_are_refused(site, kwargs):
    with pytest.raises(InvalidInput):
        with site.transaction() as s:
            waves.release(s, CLI, **kwargs)


def test_an_operator_may_not_release_a_wave_but_a_supervisor_may(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        order(s, "ORD-1", [("PLAIN", 1)])
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        with site.transaction() as s:
            waves.release(s, Actor(s.scalars(select(Operator).where(Operator.badge == "U1")).one(), "T1"))
    with site.transaction() as s:
        sup = s.scalars(select(Operator).where(Operator.badge == "SUP")).one()
        result = waves.release(s, Actor(sup, "T1"))
    with site.reading() as s:
        assert len(result.pick_lists) == 1
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "wave_released")).one()
        assert event.badge == "SUP" and "ORD-1" in event.detail


def test_release_from_cli_prints_lists_backorders_and_waiting_orders(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 3)
        order(s, "ORD-1", [("PLAIN", 5)], priority=9)
        order(s, "ORD-2", [("OTHER", 1)])
    text = waves.release_from_cli(site, None, None, CLI)
    assert "Released 1 pick list(s): 1 order(s), 1 task(s)" in text
    assert "PL-00001  priority 9  1 task(s)  ORD-1" in text
    assert "ORD-1  PLAIN  2 of 5 missing" in text
    assert "Waiting for stock, not released: ORD-2" in text
    assert waves.release_from_cli(site, None, None, CLI).startswith("No pick list released.")
    with pytest.raises(InvalidInput, match="names no order"):
        waves.release_from_cli(site, [" "], None, CLI)


def test_release_from_cli_with_nothing_new_says_so(site):
    assert waves.release_from_cli(site, None, None, CLI) == "No new orders to release."
