"""Picking: claims, totes, picks into totes, shorts, skips and the zero check, through services only."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from test_waves import build_site, order, site, stock  # noqa: F401  (site is a fixture)
from warehouse_tui import clock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Container,
    CountTask,
    Item,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickTask,
    Quant,
    SerialUnit,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound, WarehouseError
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import picking, waves
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post

CLI = Actor(None, "CLI")


def actor(s, badge, terminal="T1"):
    return Actor(s.scalars(select(Operator).where(Operator.badge == badge)).one(), terminal)


def release(db, *refs, batch_size=4):
    with db.transaction() as s:
        return [p.ref for p in waves.release(s, CLI, list(refs) or None, batch_size=batch_size).pick_lists]


def start(db, badge, ref=None, totes=None):
    """Claim a list and put totes on its orders (TOTE-<order> unless given); returns the list view."""
    with db.transaction() as s:
        view = picking.claim(s, actor(s, badge), ref)
        for n, slot in enumerate(view.orders):
            code = totes[n] if totes else f"TOTE-{slot.order_ref}"
            view = picking.assign_tote(s, actor(s, badge), view.ref, slot.order_ref, code)
        return view


def next_task(db, badge, ref, terminal="T1"):
    with db.reading() as s:
        return picking.next_task(s, actor(s, badge, terminal), ref)


def pick(db, badge, task, qty=None, lot=None, serial=None, bin_code=None, terminal="T1"):
    with db.transaction() as s:
        return picking.confirm_pick(s, actor(s, badge, terminal), task.id, bin_code=bin_code or task.bin_code, item_id=task.item_id,
                                    qty=qty if qty is not None else task.remaining, lot_code=lot if lot is not None else task.lot_code,
                                    serial=serial)


def in_tote(s, tote_code):
    """{(sku, bin): qty} of the tote's contents."""
    rows = s.execute(select(Quant.item_id, Bin.code, Quant.qty).join(Bin, Bin.id == Quant.bin_id)
                     .join(Container, Container.id == Quant.container_id).where(Container.code == tote_code))
    return {(s.get(Item, item_id).sku, bin_code): qty for item_id, bin_code, qty in rows}


def reserved_total(s):
    return s.scalar(select(func.coalesce(func.sum(Quant.reserved), 0)))


@pytest.fixture
def two_orders(site):
    """ORD-1 (priority 5): 3 PLAIN from A1 + 2 MILK from A2; ORD-2 (priority 1): 1 OTHER from A3. Released as one list."""
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        stock(s, "MILK", "A2", 4, lot="M-SOON", expiry=clock.today() + dt.timedelta(days=20))
        stock(s, "MILK", "A2", 9, lot="M-LATE", expiry=clock.today() + dt.timedelta(days=200))
        stock(s, "OTHER", "A3", 1)
        order(s, "ORD-1", [("PLAIN", 3), ("MILK", 2)], priority=5)
        order(s, "ORD-2", [("OTHER", 1)], priority=1)
    assert release(site) == ["PL-00001"]
    return site


# --------------------------------------------------------------------------- claims


def test_next_takes_the_highest_priority_list_and_resumes_the_operators_own_first(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        order(s, "ORD-LOW", [("PLAIN", 1)], priority=1)
        order(s, "ORD-HIGH", [("PLAIN", 1)], priority=9)
    assert release(site, batch_size=1) == ["PL-00001", "PL-00002"]
    with site.transaction() as s:
        assert picking.claim(s, actor(s, "U1")).orders[0].order_ref == "ORD-HIGH"
    with site.transaction() as s:
        assert picking.claim(s, actor(s, "U1")).ref == "PL-00001"  # own unfinished list first
    with site.transaction() as s:
        assert picking.claim(s, actor(s, "U2")).orders[0].order_ref == "ORD-LOW"
    with pytest.raises(NotFound, match="No pick list is released"):
        with site.transaction() as s:
            picking.claim(s, actor(s, "SUP"))


def test_a_list_claimed_by_one_operator_is_not_handed_to_another(two_orders):
    view = start(two_orders, "U1")
    with pytest.raises(NotAllowed, match="PL-00001 is being picked by U1 on T1"):
        with two_orders.transaction() as s:
            picking.claim(s, actor(s, "U2", "T2"), "PL-00001")
    with pytest.raises(NotAllowed, match="being picked by U1"):
        with two_orders.transaction() as s:
            picking.claim(s, actor(s, "U2", "T2"), "ORD-2")  # by one of its orders
    with pytest.raises(NotFound):
        with two_orders.transaction() as s:
            picking.claim(s, actor(s, "U2", "T2"))  # @NEXT does not hand it over either
    task = next_task(two_orders, "U1", view.ref)
    with pytest.raises(NotAllowed, match="being picked by U1"):
        pick(two_orders, "U2", task)
    with two_orders.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "pick")) == 0


def test_a_supervisor_can_take_a_claim_back_for_another_operator(two_orders):
    start(two_orders, "U1")
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        with two_orders.transaction() as s:
            picking.unclaim(s, actor(s, "U2"), "PL-00001")
    with two_orders.transaction() as s:
        picking.unclaim(s, actor(s, "SUP"), "PL-00001")
    view = start(two_orders, "U2")
    assert view.ref == "PL-00001"
    with two_orders.reading() as s:
        assert s.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "pick_list_unclaimed")).one() == "PL-00001 taken back from U1"


def test_scanning_an_order_claims_its_list_and_an_unreleased_order_is_refused(two_orders):
    with two_orders.transaction() as s:
        order(s, "ORD-NEW", [("PLAIN", 1)])
    with pytest.raises(NotAllowed, match="ORD-NEW is not released yet"):
        with two_orders.transaction() as s:
            picking.claim(s, actor(s, "U1"), "ORD-NEW")
    with two_orders.transaction() as s:
        view = picking.claim(s, actor(s, "U1"), "ORD-2")
    assert (view.ref, [o.order_ref for o in view.orders]) == ("PL-00001", ["ORD-1", "ORD-2"])
    with two_orders.reading() as s:
        pl = s.scalars(select(PickList)).one()
        assert (pl.status, pl.claimed_terminal) == ("picking", "T1")
        assert set(s.scalars(select(OutboundOrder.status).where(OutboundOrder.ref.in_(["ORD-1", "ORD-2"])))) == {"picking"}


# --------------------------------------------------------------------------- totes


def test_each_order_gets_its_own_empty_tote(two_orders):
    with two_orders.transaction() as s:
        md.container(s, "LPN-9", "lpn")
        post(s, CLI, kind="adjust", item=md.item_by_sku(s, "PLAIN"), qty=1, to_bin=md.bin_by_code(s, "STG"),
             to_container=md.container(s, "TOTE-FULL", "tote"))
        picking.claim(s, actor(s, "U1"))
    cases = [("LPN-9", NotAllowed, "LPN-9 is a lpn, not a tote"), ("TOTE-FULL", NotAllowed, "TOTE-FULL is not empty")]
    for code, error, message in cases:
        with pytest.raises(error, match=message):
            with two_orders.transaction() as s:
                picking.assign_tote(s, actor(s, "U1"), "PL-00001", "ORD-1", code)
    with two_orders.transaction() as s:
        view = picking.assign_tote(s, actor(s, "U1"), "PL-00001", "ORD-1", "TOTE-NEW")  # unknown code: a new tote
    assert view.order_without_tote == "ORD-2"
    with pytest.raises(NotAllowed, match="TOTE-NEW is in use for ORD-1 on PL-00001"):
        with two_orders.transaction() as s:
            picking.assign_tote(s, actor(s, "U1"), "PL-00001", "ORD-2", "TOTE-NEW")
    with two_orders.reading() as s:
        assert s.scalars(select(Container.kind).where(Container.code == "TOTE-NEW")).one() == "tote"


# --------------------------------------------------------------------------- picking


def test_a_pick_moves_the_units_from_the_bin_into_the_tote_at_the_pack_bin(two_orders):
    view = start(two_orders, "U1")
    task = next_task(two_orders, "U1", view.ref)
    assert (task.bin_code, task.sku, task.qty, task.number, task.total, task.tote_code) == ("A1", "PLAIN", 3, 1, 3, "TOTE-ORD-1")
    result = pick(two_orders, "U1", task)
    assert result.task.status == "done" and not result.bin_empty
    with two_orders.reading() as s:
        move = s.scalars(select(Movement).where(Movement.kind == "pick")).one()
        assert (s.get(Bin, move.from_bin_id).code, s.get(Bin, move.to_bin_id).code, move.qty, move.doc_ref) == ("A1", "PACK", 3, "ORD-1")
        assert s.get(Container, move.to_container_id).code == "TOTE-ORD-1"
        assert in_tote(s, "TOTE-ORD-1") == {("PLAIN", "PACK"): 3}
        a1 = s.scalars(select(Quant).join(Bin).where(Bin.code == "A1")).one()
        assert (a1.qty, a1.reserved) == (7, 0)
        assert s.scalars(select(OutboundLine.qty_picked).order_by(OutboundLine.id)).first() == 3
        assert run_checks(s).ok
    assert next_task(two_orders, "U1", view.ref).number == 2


def test_wrong_bin_item_and_lot_are_refused_naming_what_to_pick(two_orders):
    view = start(two_orders, "U1")
    first = next_task(two_orders, "U1", view.ref)
    pick(two_orders, "U1", first)
    milk = next_task(two_orders, "U1", view.ref)
    assert (milk.sku, milk.lot_code) == ("MILK", "M-SOON")
    with two_orders.reading() as s:
        with pytest.raises(InvalidInput, match="Wrong bin A1 — go to A2"):
            picking.check_bin(s, milk.id, "A1")
        with pytest.raises(InvalidInput, match="That is PLAIN — pick MILK"):
            picking.check_item(s, milk.id, md.item_by_sku(s, "PLAIN").id)
        with pytest.raises(NotAllowed, match="Wrong lot M-LATE — pick lot M-SOON of MILK"):
            picking.check_lot(s, milk.id, "M-LATE")
    with pytest.raises(NotAllowed, match="pick lot M-SOON"):
        pick(two_orders, "U1", milk, lot="M-LATE")
    with pytest.raises(InvalidInput, match="go to A2"):
        pick(two_orders, "U1", milk, bin_code="A3")
    with two_orders.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "pick")) == 1
    pick(two_orders, "U1", milk)
    with two_orders.reading() as s:
        assert in_tote(s, "TOTE-ORD-1")[("MILK", "PACK")] == 2


def test_picking_more_than_the_task_is_refused_and_less_keeps_the_rest_to_pick(two_orders):
    view = start(two_orders, "U1")
    task = next_task(two_orders, "U1", view.ref)
    with pytest.raises(InvalidInput, match="Only 3 to pick here, not 4"):
        pick(two_orders, "U1", task, qty=4)
    partial = pick(two_orders, "U1", task, qty=1).task
    assert (partial.status, partial.remaining) == ("open", 2)
    assert next_task(two_orders, "U1", view.ref).id == task.id
    with two_orders.reading() as s:
        assert s.scalars(select(Quant.reserved).join(Bin).where(Bin.code == "A1")).one() == 2
        assert run_checks(s).ok


def test_a_pick_needs_a_tote_on_its_order(two_orders):
    with two_orders.transaction() as s:
        picking.claim(s, actor(s, "U1"))
    task = next_task(two_orders, "U1", "PL-00001")
    with pytest.raises(NotAllowed, match="Scan a tote for ORD-1 first"):
        pick(two_orders, "U1", task)


def test_short_pick_raises_an_exception_a_count_task_and_an_audit_entry(two_orders):
    view = start(two_orders, "U1")
    task = next_task(two_orders, "U1", view.ref)
    with pytest.raises(InvalidInput, match="Only 3 to pick"):
        with two_orders.transaction() as s:
            picking.short(s, actor(s, "U1"), task.id, 4)
    with two_orders.transaction() as s:
        result = picking.short(s, actor(s, "U1"), task.id, 1)
    assert (result.found, result.missing, result.task.status) == (1, 2, "short")
    with two_orders.reading() as s:
        exc = s.get(WarehouseException, result.exception_id)
        assert (exc.kind, exc.ref, exc.status) == ("short_pick", "ORD-1", "open")
        assert exc.data == {"pick_list": "PL-00001", "order": "ORD-1", "bin": "A1", "sku": "PLAIN", "lot": None,
                            "expected": 3, "found": 1, "missing": 2}
        count = s.get(CountTask, result.count_task_id)
        assert (s.get(Bin, count.bin_id).code, count.status, count.blind) == ("A1", "open", True)
        assert "PLAIN in A1: 3 to pick, 1 found" in s.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "short_pick")).one()
        assert in_tote(s, "TOTE-ORD-1") == {("PLAIN", "PACK"): 1}
        line = s.scalars(select(OutboundLine).order_by(OutboundLine.id)).first()
        assert (line.qty, line.qty_allocated, line.qty_picked) == (3, 1, 1)
        assert s.scalars(select(Quant.reserved).join(Bin).where(Bin.code == "A1")).one() == 0
        assert run_checks(s).ok
    assert next_task(two_orders, "U1", view.ref).sku == "MILK"


def test_short_with_nothing_found_reuses_the_bins_open_count_task(two_orders):
    view = start(two_orders, "U1")
    with two_orders.transaction() as s:
        existing = CountTask(bin_id=md.bin_by_code(s, "A1").id, blind=True, status="open", reason="cycle")
        s.add(existing)
    task = next_task(two_orders, "U1", view.ref)
    with two_orders.transaction() as s:
        result = picking.short(s, actor(s, "U1"), task.id, 0)
    assert result.missing == 3 and result.count_task_id == existing.id
    with two_orders.reading() as s:
        assert s.scalar(select(func.count()).select_from(CountTask)) == 1
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "pick")) == 0
        assert reserved_total(s) == 3  # only the MILK and OTHER tasks still hold stock


def test_skip_defers_the_task_to_the_end(two_orders):
    view = start(two_orders, "U1")
    first = next_task(two_orders, "U1", view.ref)
    with two_orders.transaction() as s:
        now = picking.skip(s, actor(s, "U1"), first.id)
    assert now.sku == "MILK"
    pick(two_orders, "U1", now)
    pick(two_orders, "U1", next_task(two_orders, "U1", view.ref))  # OTHER
    last = next_task(two_orders, "U1", view.ref)
    assert (last.id, last.status, last.number) == (first.id, "skipped", 3)
    with two_orders.transaction() as s:
        assert picking.skip(s, actor(s, "U1"), last.id).id == first.id  # the only one left comes straight back


def test_zero_check_yes_goes_on_and_no_raises_a_count_task(two_orders):
    view = start(two_orders, "U1")
    for _ in range(2):
        pick(two_orders, "U1", next_task(two_orders, "U1", view.ref))
    other = next_task(two_orders, "U1", view.ref)
    assert (other.bin_code, other.qty) == ("A3", 1)
    result = pick(two_orders, "U1", other)
    assert result.bin_empty  # A3 held exactly the one unit
    with two_orders.transaction() as s:
        assert picking.zero_check(s, actor(s, "U1"), other.id, True) is None
        assert s.scalar(select(func.count()).select_from(CountTask)) == 0
    with two_orders.transaction() as s:
        count_id = picking.zero_check(s, actor(s, "U1"), other.id, False)
    with two_orders.reading() as s:
        count = s.get(CountTask, count_id)
        assert (s.get(Bin, count.bin_id).code, count.status, count.blind) == ("A3", "open", True)
        assert s.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "zero_check_failed")).one()


def test_a_pick_that_leaves_stock_behind_asks_no_zero_check(two_orders):
    view = start(two_orders, "U1")
    assert pick(two_orders, "U1", next_task(two_orders, "U1", view.ref)).bin_empty is False


def test_serial_pick_takes_any_in_stock_serial_lying_in_the_bin(site):
    with site.transaction() as s:
        stock(s, "PHONE", "A2", 0, serials=("SN1", "SN2", "SN3"))
        stock(s, "PHONE", "A3", 0, serials=("SN-ELSEWHERE",))
        order(s, "ORD-1", [("PHONE", 2)])
    release(site)
    view = start(site, "U1")
    task = next_task(site, "U1", view.ref)
    assert (task.bin_code, task.qty, task.serial) == ("A2", 2, True)
    with pytest.raises(InvalidInput, match="scan the serial number"):
        pick(site, "U1", task, qty=1)
    with pytest.raises(InvalidInput, match="one scan per unit"):
        pick(site, "U1", task, qty=2, serial="SN1")
    with pytest.raises(InvariantViolation, match="SN-ELSEWHERE is in A3, not A2"):
        pick(site, "U1", task, qty=1, serial="SN-ELSEWHERE")
    pick(site, "U1", task, qty=1, serial="SN3")
    result = pick(site, "U1", task, qty=1, serial="SN1")
    assert result.task.status == "done" and not result.bin_empty
    with site.reading() as s:
        units = {u.serial: (s.get(Bin, u.bin_id).code, u.container_id is not None) for u in s.scalars(select(SerialUnit))}
        assert units == {"SN1": ("PACK", True), "SN2": ("A2", False), "SN3": ("PACK", True), "SN-ELSEWHERE": ("A3", False)}
        assert run_checks(s).ok


def test_serial_short_asks_for_the_found_serials_to_be_scanned_first(site):
    with site.transaction() as s:
        stock(s, "PHONE", "A2", 0, serials=("SN1", "SN2"))
        order(s, "ORD-1", [("PHONE", 2)])
    release(site)
    view = start(site, "U1")
    task = next_task(site, "U1", view.ref)
    with pytest.raises(InvalidInput, match="Scan each serial you found first"):
        with site.transaction() as s:
            picking.short(s, actor(s, "U1"), task.id, 1)
    pick(site, "U1", task, qty=1, serial="SN2")
    with site.transaction() as s:
        assert picking.short(s, actor(s, "U1"), task.id, 0).missing == 1


def test_finishing_needs_every_task_done_and_marks_the_orders_picked(two_orders):
    view = start(two_orders, "U1")
    with pytest.raises(NotAllowed, match="3 task\\(s\\) left on PL-00001"):
        with two_orders.transaction() as s:
            picking.finish(s, actor(s, "U1"), view.ref)
    while (task := next_task(two_orders, "U1", view.ref)) is not None:
        pick(two_orders, "U1", task)
    with two_orders.transaction() as s:
        slots = picking.finish(s, actor(s, "U1"), view.ref)
    assert [(slot.order_ref, slot.tote_code) for slot in slots] == [("ORD-1", "TOTE-ORD-1"), ("ORD-2", "TOTE-ORD-2")]
    with two_orders.reading() as s:
        assert s.scalars(select(PickList.status)).one() == "done"
        assert set(s.scalars(select(OutboundOrder.status))) == {"picked"}
        assert reserved_total(s) == 0
        assert in_tote(s, "TOTE-ORD-2") == {("OTHER", "PACK"): 1}
        assert run_checks(s).ok
    with pytest.raises(NotAllowed, match="PL-00001 is done"):
        with two_orders.transaction() as s:
            picking.claim(s, actor(s, "U1"), "PL-00001")


def test_claim_is_refused_when_there_is_nowhere_to_take_totes(site):
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 1)
        order(s, "ORD-1", [("PLAIN", 1)])
        for code in ("PACK", "STG"):
            md.bin_by_code(s, code).blocked = True
    release(site)
    with pytest.raises(NotFound, match="No pack or staging bin"):
        with site.transaction() as s:
            picking.claim(s, actor(s, "U1"))


def test_expiry_dated_items_without_lots_are_checked_by_their_date(site):
    expiry = clock.today() + dt.timedelta(days=60)  # a fixed date here expired one day and broke the test
    wrong = expiry + dt.timedelta(days=28)
    with site.transaction() as s:
        md.add_item(s, "SOAP", expiry_required=True)
        stock(s, "SOAP", "A1", 5, lot=expiry.isoformat(), expiry=expiry)
        order(s, "ORD-1", [("SOAP", 2)])
    release(site)
    view = start(site, "U1")
    task = next_task(site, "U1", view.ref)
    assert task.needs_expiry and not task.needs_lot
    with site.reading() as s:
        with pytest.raises(NotAllowed, match=f"Wrong date {wrong:%Y-%m-%d} — pick SOAP expiring {expiry:%Y-%m-%d}"):
            picking.check_expiry(s, task.id, wrong)
        picking.check_expiry(s, task.id, expiry)


@pytest.mark.postgres
def test_release_pick_short_and_finish_on_postgresql(pg_url):
    db = build_site(Database(pg_url))
    try:
        with db.transaction() as s:
            stock(s, "PLAIN", "A1", 5)
            stock(s, "MILK", "A2", 4, lot="M1", expiry=clock.today() + dt.timedelta(days=20))
            order(s, "ORD-1", [("PLAIN", 3), ("MILK", 6)])
        assert release(db) == ["PL-00001"]
        view = start(db, "U1")
        pick(db, "U1", next_task(db, "U1", view.ref))
        milk = next_task(db, "U1", view.ref)
        with db.transaction() as s:
            picking.short(s, actor(s, "U1"), milk.id, 1)
        with db.transaction() as s:
            picking.finish(s, actor(s, "U1"), view.ref)
        with db.reading() as s:
            assert [(line.qty, line.qty_allocated, line.qty_picked) for line in s.scalars(select(OutboundLine).order_by(OutboundLine.id))] == [(3, 3, 3), (6, 1, 1)]
            assert sorted(s.scalars(select(WarehouseException.kind))) == ["backorder", "short_pick"]
            assert reserved_total(s) == 0
            assert run_checks(s).ok
    finally:
        db.dispose()


# --------------------------------------------------------------------------- random interleavings


SKUS = ("PLAIN", "MILK")
PICK_BINS = ("A1", "A2", "R1", "RCV")
MILK_LOTS = {"M1": dt.date(2030, 1, 31), "M2": dt.date(2031, 6, 30), "MX": dt.date(2020, 1, 1)}  # MX has expired
RECEIPT = st.tuples(st.sampled_from(SKUS), st.sampled_from(PICK_BINS), st.integers(1, 8), st.sampled_from(sorted(MILK_LOTS)))
ORDER_LINES = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 6)), min_size=1, max_size=2, unique_by=lambda t: t[0])


@functools.cache
def _template() -> Path:
    """A migrated site with bins, items, lots and pickers, copied for each example."""
    folder = Path(tempfile.mkdtemp(prefix="pick-prop-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(folder / "template.sqlite")
    with db.transaction() as s:
        for code, kind, seq in (("RCV", "receiving", 0), ("A1", "pick", 10), ("R1", "storage", 15), ("A2", "pick", 20),
                                ("PACK", "pack", 900)):
            md.add_bin(s, code, kind=kind, pick_seq=seq)
        md.add_item(s, "PLAIN")
        milk = md.add_item(s, "MILK", tracking="lot", expiry_required=True)
        for code, expiry in MILK_LOTS.items():
            md.lot(s, milk, code, expiry)
        s.add_all([Operator(badge="U1", role="operator", pin_hash="-"), Operator(badge="U2", role="operator", pin_hash="-")])
    db.dispose()
    return folder / "template.sqlite"


class PickMachine(RuleBasedStateMachine):
    """Receipts, new orders, waves, picks, shorts, skips and finishes in any order, by two pickers."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pick-prop-"))
        shutil.copy(_template(), self.dir / "warehouse.sqlite")
        self.db = Database(self.dir / "warehouse.sqlite", migrate=False)
        self.orders = 0
        self.totes = 0
        # What the database holds now, so rules run only where they can do something.
        self.new_orders = 0
        self.released = 0
        self.picking: set[str] = set()

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def attempt(self, operation) -> None:
        try:
            with self.db.transaction() as s:
                operation(s)
        except WarehouseError:
            pass
        self.refresh()

    def refresh(self) -> None:
        with self.db.reading() as s:
            self.new_orders = s.scalar(select(func.count()).select_from(OutboundOrder).where(OutboundOrder.status == "new"))
            self.released = s.scalar(select(func.count()).select_from(PickList).where(PickList.status == "released"))
            self.picking = set(s.scalars(select(Operator.badge).join(PickList, PickList.claimed_by == Operator.id)
                                         .where(PickList.status == "picking")))

    @initialize(receipts=st.lists(RECEIPT, max_size=4), orders=st.lists(ORDER_LINES, max_size=3))
    def opening(self, receipts, orders):
        for receipt in receipts:
            self.receive(*receipt)
        for lines in orders:
            self.new_order(lines)

    @rule(receipt=st.one_of(st.none(), RECEIPT), lines=st.one_of(st.none(), ORDER_LINES))
    def arrive(self, receipt, lines):
        """Goods arrive, or an order does, or both (one rule, so picking gets its share of the steps)."""
        if receipt is not None:
            self.receive(*receipt)
        if lines is not None:
            self.new_order(lines)

    def receive(self, sku, bin_code, qty, lot):
        def op(s):
            item = md.item_by_sku(s, sku)
            post(s, CLI, kind="receipt", item=item, qty=qty, lot=md.lot(s, item, lot) if sku == "MILK" else None,
                 to_bin=md.bin_by_code(s, bin_code), doc_ref="PO-PROP")
        self.attempt(op)

    def new_order(self, lines):
        self.orders += 1
        with self.db.transaction() as s:
            order(s, f"ORD-{self.orders}", lines)
        self.refresh()

    @precondition(lambda self: self.new_orders)
    @rule(batch=st.integers(1, 3), limit=st.one_of(st.none(), st.integers(1, 3)))
    def wave(self, batch, limit):
        self.attempt(lambda s: waves.release(s, CLI, None, limit, batch))

    @precondition(lambda self: self.released or self.picking)
    @rule(badge=st.sampled_from(("U1", "U2")), qty=st.integers(0, 7),
          action=st.sampled_from(("pick all", "pick all", "pick all", "pick", "short", "skip", "finish", "steal")))
    def work(self, badge, action, qty):
        """A picker's next step: claim a list (with totes) when they have none, then act on its next task."""
        if badge not in self.picking:
            self.attempt(lambda s: self._claim_with_totes(s, badge))
        self.attempt(lambda s: self._act(s, badge, action, qty))

    def _claim_with_totes(self, s, badge):
        view = picking.claim(s, actor(s, badge))
        while view.order_without_tote is not None:
            self.totes += 1
            view = picking.assign_tote(s, actor(s, badge), view.ref, view.order_without_tote, f"T-{self.totes}")

    def _act(self, s, badge, action, qty):
        ref = s.scalar(select(PickList.ref).join(Operator, Operator.id == PickList.claimed_by)
                       .where(Operator.badge == badge, PickList.status == "picking").limit(1))
        task = picking.next_task(s, actor(s, badge), ref) if ref else None
        if action == "finish" and ref:
            picking.finish(s, actor(s, badge), ref)
        if task is None:
            return
        if action.startswith("pick") or action == "steal":
            qty = task.remaining if action == "pick all" else qty
            who = ("U2" if badge == "U1" else "U1") if action == "steal" else badge
            picking.confirm_pick(s, actor(s, who), task.id, bin_code=task.bin_code, item_id=task.item_id, qty=qty,
                                 lot_code=task.lot_code)
            assert action != "steal", "a picker picked from another picker's list"
            assert qty <= task.remaining, "picked more than the task asks"
        elif action == "short":
            picking.short(s, actor(s, badge), task.id, qty)
        elif action == "skip":
            picking.skip(s, actor(s, badge), task.id)

    @invariant()
    def never_more_picked_than_ordered_and_the_ledger_holds(self):
        with self.db.reading() as s:
            for line in s.scalars(select(OutboundLine)):
                assert 0 <= line.qty_picked <= line.qty_allocated <= line.qty, (line.qty_picked, line.qty_allocated, line.qty)
                picked = s.scalar(select(func.coalesce(func.sum(PickTask.qty_picked), 0)).where(PickTask.order_line_id == line.id))
                assert picked == line.qty_picked
            # What the totes hold is exactly what was picked.
            in_totes = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(Quant.container_id.is_not(None)))
            assert in_totes == s.scalar(select(func.coalesce(func.sum(OutboundLine.qty_picked), 0)))
            # Every reserved unit is promised to exactly one open task, and never more than is there.
            open_qty = s.scalar(select(func.coalesce(func.sum(PickTask.qty - PickTask.qty_picked), 0))
                                .where(PickTask.status.in_(picking.TO_PICK)))
            assert reserved_total(s) == open_qty
            # Nothing is ever promised from an expired lot, a receiving bin or the pack bin.
            assert s.scalar(select(func.count()).select_from(PickTask).join(Bin, Bin.id == PickTask.bin_id)
                            .where(Bin.code.in_(["RCV", "PACK"]))) == 0
            expired = md.lot(s, md.item_by_sku(s, "MILK"), "MX")
            assert s.scalar(select(func.count()).select_from(PickTask).where(PickTask.lot_id == expired.id)) == 0
            report = run_checks(s)
            assert report.ok, report.render()


PickMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
TestRandomReceiptsAndPicksNeverPickMoreThanOrdered = PickMachine.TestCase
