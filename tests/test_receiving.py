"""Receiving rules, through services only (no UI)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from warehouse_tui import clock
from warehouse_tui.db.models import AuditEvent, Container, InboundLine, InboundOrder, Quant, WarehouseException
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor
from warehouse_tui.services.receiving import (
    OverReceipt,
    close_receipt,
    line_progress,
    open_blind_receipt,
    receipt_summary,
    receive_item,
)
from warehouse_tui.db.models import Operator

NEXT_YEAR = clock.today().replace(month=1, day=1) + dt.timedelta(days=400)


@pytest.fixture
def dock(db):
    with db.transaction() as s:
        md.add_bin(s, "RCV-01", kind="receiving", zone="DOCK")
        plain = md.add_item(s, "PLAIN", gtins=["09501101530003"])
        lotted = md.add_item(s, "MILK", tracking="lot", expiry_required=True)
        serial = md.add_item(s, "PHONE", tracking="serial")
        md.add_item(s, "NOTONPO")
        po = InboundOrder(ref="PO-1", supplier="ACME")
        s.add(po)
        s.flush()
        s.add_all([InboundLine(order_id=po.id, item_id=plain.id, qty_expected=10),
                   InboundLine(order_id=po.id, item_id=lotted.id, qty_expected=5),
                   InboundLine(order_id=po.id, item_id=serial.id, qty_expected=2)])
        s.add(Operator(badge="S1", name="Sue", role="supervisor", pin_hash=hash_pin("9999")))
        s.add(Operator(badge="U1", name="Al", role="operator", pin_hash=hash_pin("1234")))
    return db


def item_id(s, sku):
    return md.item_by_sku(s, sku).id


def test_receipt_lands_in_receiving_bin_and_counts_on_the_po(dock, actor):
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=4)
    with dock.reading() as s:
        assert [(r.sku, r.expected, r.received) for r in receipt_summary(s, "PO-1")] == [("MILK", 5, 0), ("PHONE", 2, 0), ("PLAIN", 10, 4)]
        assert s.scalars(select(Quant)).one().qty == 4
        assert run_checks(s).ok


def test_a_receipt_tells_where_its_item_stands_on_the_document(dock, actor):
    # Given PLAIN expected 10 on PO-1, 4 received already
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=4)

    # When 3 more are received
    with dock.transaction() as s:
        received = receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=3)

    # Then the receipt says 7 of 10, its movement is the one booked, and the document agrees once committed
    assert (received.received, received.expected, received.movement.qty) == (7, 10, 3)
    with dock.reading() as s:
        assert line_progress(s, "PO-1", item_id(s, "PLAIN")) == (7, 10)


def test_item_not_on_po_is_refused(dock, actor):
    with pytest.raises(NotAllowed, match="NOTONPO is not on PO PO-1"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "NOTONPO"), qty=1)


def test_over_receipt_refused_then_approved_by_supervisor(dock, actor):
    with pytest.raises(OverReceipt, match="expected 10 on PO-1, this makes 11"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=11)
    with dock.reading() as s:
        assert s.scalars(select(Quant)).all() == []
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        with dock.transaction() as s:
            op = s.scalars(select(Operator).where(Operator.badge == "U1")).one()
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=11, approved_by=op)
    with dock.transaction() as s:
        sup = s.scalars(select(Operator).where(Operator.badge == "S1")).one()
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=11, approved_by=sup)
    with dock.reading() as s:
        exc = s.scalars(select(WarehouseException)).one()
        assert (exc.kind, exc.status) == ("over_receipt", "approved")
        assert s.scalars(select(AuditEvent.kind)).all() == ["over_receipt_approved"]


def test_tolerance_allows_a_little_more(dock, actor):
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=11, tolerance_pct=10)
    with pytest.raises(OverReceipt):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=1, tolerance_pct=10)


def test_lot_and_expiry_required_for_lotted_item(dock, actor):
    with pytest.raises(InvalidInput, match="lot-tracked"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "MILK"), qty=1)
    with pytest.raises(InvalidInput, match="expiry"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "MILK"), qty=1, lot_code="L1")
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "MILK"), qty=2, lot_code="L1", expiry=NEXT_YEAR)


def test_expired_lot_is_refused(dock, actor):
    with pytest.raises(NotAllowed, match="expired"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "MILK"), qty=1, lot_code="OLD", expiry=dt.date(2020, 1, 1))


def test_duplicate_serial_refused(dock, actor):
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PHONE"), qty=1, serial="SN1")
    with pytest.raises(InvariantViolation, match="SN1"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PHONE"), qty=1, serial="SN1")


def test_lpn_receipt_puts_the_pallet_in_the_receiving_bin(dock, actor):
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref="PO-1", item_id=item_id(s, "PLAIN"), qty=3, lpn_code="LPN-77")
    with dock.reading() as s:
        lpn = s.scalars(select(Container).where(Container.code == "LPN-77")).one()
        assert lpn.bin_id == md.bin_by_code(s, "RCV-01").id
        assert s.scalars(select(Quant)).one().container_id == lpn.id


def test_blind_receipt_accepts_any_item_and_close_summarises(dock, actor):
    with dock.transaction() as s:
        ref = open_blind_receipt(s, actor).ref
    with dock.transaction() as s:
        receive_item(s, actor, receipt_ref=ref, item_id=item_id(s, "NOTONPO"), qty=7)
    with dock.transaction() as s:
        summary = close_receipt(s, actor, ref)
    assert [(r.sku, r.expected, r.received) for r in summary] == [("NOTONPO", 0, 7)]
    with pytest.raises(NotAllowed, match="closed"):
        with dock.transaction() as s:
            receive_item(s, actor, receipt_ref=ref, item_id=item_id(s, "NOTONPO"), qty=1)
