"""The demo warehouse holds what its docstring promises, and the large one is a consistent ledger."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    Bin,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Lot,
    Movement,
    Operator,
    OutboundOrder,
    OutboxEntry,
    Owner,
    Quant,
    SerialUnit,
)
from warehouse_tui.errors import InvalidInput, NotAllowed
from warehouse_tui.scan.gtin import has_valid_check_digit
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import login, verify_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.demo import build_demo, build_large

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    summary = build_demo(path, today=TODAY)
    assert "U1001" in summary and "1234" in summary and "S9001" in summary and "9999" in summary
    assert "all invariants hold" in summary
    return path


@pytest.fixture
def demo(demo_path):
    database = Database(demo_path)
    yield database
    database.dispose()


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_ledger_is_consistent(demo):
    with demo.reading() as s:
        report = run_checks(s)
        assert report.ok, report.render()
        assert count(s, Movement) == count(s, OutboxEntry) > 0


def test_demo_has_the_promised_layout(demo):
    with demo.reading() as s:
        assert 300 <= count(s, Bin) <= 400
        assert md.bin_by_code(s, "RCV-01").kind == "receiving" and md.bin_by_code(s, "RCV-02").kind == "receiving"
        assert md.bin_by_code(s, "PACK-01").kind == "pack" and md.bin_by_code(s, "SHIP-01").kind == "shipping"
        assert md.bin_by_code(s, "A-01-02-1").kind == "pick" and md.bin_by_code(s, "A-01-02-2").kind == "storage"
        assert [b.code for b in s.scalars(select(Bin).where(Bin.blocked.is_(True)))] == ["B-02-07-3"]
        assert count(s, Quant, Quant.bin_id == md.bin_by_code(s, "B-02-07-3").id) == 0
        # Walking order: A before B before C, and aisle 02 walks the bays back down.
        seq = {code: md.bin_by_code(s, code).pick_seq for code in ("A-01-10-1", "A-02-10-1", "A-02-01-1", "B-01-01-1", "C-01-01-1")}
        assert seq["A-01-10-1"] < seq["A-02-10-1"] < seq["A-02-01-1"] < seq["B-01-01-1"] < seq["C-01-01-1"]


def test_demo_items_cover_every_kind_with_valid_gtins(demo):
    with demo.reading() as s:
        items = s.scalars(select(Item)).all()
        assert 45 <= len(items) <= 60
        by_tracking = {t: [i for i in items if i.tracking == t] for t in ("none", "lot", "serial")}
        assert all(len(v) >= 5 for v in by_tracking.values())
        assert any(i.expiry_required for i in by_tracking["lot"]) and any(not i.expiry_required for i in by_tracking["lot"])
        assert {o.code for o in s.scalars(select(Owner))} == {"MAIN", "NORDIC"}
        assert count(s, Item, Item.owner_id == md.owner(s, "NORDIC", create=False).id) >= 5
        gtins = s.scalars(select(ItemCode.code).where(ItemCode.kind == "gtin")).all()
        assert len(gtins) >= len(items) and all(len(g) == 14 and has_valid_check_digit(g) for g in gtins)
        assert any(not g.startswith("0") for g in gtins)  # case GTIN-14s with an indicator digit
        assert count(s, ItemCode, ItemCode.kind == "alias") >= 5
        ean13 = next(g[1:] for g in gtins if g.startswith("0"))
        assert md.item_by_code(s, ean13) is not None  # scanned as the EAN-13 on the label
        assert md.item_by_code(s, "SUP-ACM-4866").sku == "TAPE-48"


def test_demo_stock_has_lots_an_expired_lot_and_serials(demo):
    with demo.reading() as s:
        assert count(s, Lot, Lot.expiry < TODAY) == 1
        expired = s.scalars(select(Lot).where(Lot.expiry < TODAY)).one()
        assert s.get(Item, expired.item_id).sku == "OAT-MILK-1L"
        assert count(s, Quant, Quant.lot_id == expired.id, Quant.qty > 0) == 1
        assert count(s, SerialUnit, SerialUnit.status == "in_stock") >= 10
        stocked = s.scalars(select(Quant.item_id).distinct()).all()
        assert len(stocked) >= 45


def test_demo_documents_are_open_and_realistic(demo):
    with demo.reading() as s:
        inbound = s.scalars(select(InboundOrder)).all()
        assert {o.ref for o in inbound} == {"PO-1001", "PO-1002", "ASN-2001"}
        assert all(o.status in ("open", "receiving") for o in inbound)
        assert {o.kind for o in inbound} == {"po", "asn"}
        assert count(s, InboundLine, InboundLine.lot.is_not(None), InboundLine.expiry.is_not(None)) >= 3
        # What PO-1001 says is received is in the receiving bin, partly on the supplier's SSCC pallet.
        received = s.scalar(select(func.sum(InboundLine.qty_received)))
        in_rcv = s.scalar(select(func.sum(Quant.qty)).where(Quant.bin_id == md.bin_by_code(s, "RCV-01").id))
        assert received == in_rcv > 0
        assert count(s, Quant, Quant.container_id.is_not(None)) == 1
        orders = s.scalars(select(OutboundOrder).where(OutboundOrder.status != "shipped")).all()
        assert len(orders) == 11  # ORD-10011 waits for a replenishment (issue 16)
        assert len({o.priority for o in orders}) >= 3 and len({o.channel for o in orders}) >= 4
        for order in orders:
            assert order.lines and order.status == "new"
            for line in order.lines:
                assert s.scalar(select(func.sum(Quant.qty)).where(Quant.item_id == line.item_id)) >= line.qty


def test_demo_has_a_shipped_order_with_an_rma_to_try_returns_on(demo):
    from warehouse_tui.db.models import ReturnOrder
    from warehouse_tui.services import returns
    from warehouse_tui.demo import DEMO_RETURN_ORDER, DEMO_RETURN_SSCC, DEMO_RMA

    with demo.reading() as s:
        shipped = s.scalars(select(OutboundOrder).where(OutboundOrder.status == "shipped")).one()
        assert shipped.ref == DEMO_RETURN_ORDER and all(line.qty_shipped == line.qty for line in shipped.lines)
        rma = s.scalars(select(ReturnOrder)).one()
        assert (rma.ref, rma.status, rma.order_id) == (DEMO_RMA, "open", shipped.id)
        assert {(line.sku, line.expected) for line in returns.summary(s, DEMO_RMA)} == {("MUG-300", 1), ("LAPTOP-14", 1)}
        assert returns._order_by_code(s, DEMO_RETURN_SSCC)[0].ref == DEMO_RETURN_ORDER
        assert returns.returns_bin(s, None).code == "RET-01" and returns.quarantine_bin(s, None).code == "QUA-01"


def test_demo_logins_work(demo):
    with demo.reading() as s:
        operator = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        supervisor = s.scalars(select(Operator).where(Operator.badge == "S9001")).one()
        assert (operator.role, supervisor.role) == ("operator", "supervisor")
        assert verify_pin("1234", operator.pin_hash) and verify_pin("9999", supervisor.pin_hash)
        assert not verify_pin("9999", operator.pin_hash)
    with demo.transaction() as s:
        assert login(s, "S9001", "9999", "T1").badge == "S9001"


def test_demo_refuses_to_overwrite_a_warehouse_unless_forced(tmp_path):
    path = tmp_path / "w.sqlite"
    Database(path).dispose()  # an app that started once: schema, no data
    build_demo(path, today=TODAY)
    with pytest.raises(NotAllowed, match="already holds a warehouse"):
        build_demo(path, today=TODAY)

    def snapshot():
        con = sqlite3.connect(path)
        try:
            return (con.execute("SELECT group_concat(code) FROM (SELECT code FROM item_codes ORDER BY code)").fetchone(),
                    con.execute("SELECT group_concat(serial) FROM (SELECT serial FROM serial_units ORDER BY serial)").fetchone(),
                    con.execute("SELECT count(*) FROM movements").fetchone())
        finally:
            con.close()

    before = snapshot()
    build_demo(path, force=True, today=TODAY)
    assert snapshot() == before  # rebuilt from scratch, the same warehouse (seeded)


def test_large_warehouse_is_a_consistent_ledger(tmp_path):
    path = tmp_path / "large.sqlite"
    summary = build_large(path, items=200, bins=100, quants=2000, today=TODAY)
    assert "2,000" in summary
    assert not (tmp_path / "large.sqlite.building").exists()
    database = Database(path)
    try:
        with database.reading() as s:
            report = run_checks(s)
            assert report.ok, report.render()
            assert count(s, Quant) == 2000 and count(s, Item) == 200 and count(s, Bin) == 100
            assert count(s, Movement, Movement.doc_ref == "BENCH-OPENING", Movement.kind == "adjust") == 2000
            # The same item stands in several bins.
            per_item = s.execute(select(Quant.item_id, func.count()).group_by(Quant.item_id)).all()
            assert max(n for _, n in per_item) > 1
            entry = s.scalars(select(OutboxEntry).limit(1)).one()
            movement = s.scalars(select(Movement).where(Movement.uuid == entry.uuid)).one()
            assert entry.payload["id"] == movement.uuid and entry.payload["qty"] == movement.qty
            assert entry.payload["to_bin"] == s.get(Bin, movement.to_bin_id).code
            assert count(s, SerialUnit) > 0 and count(s, Lot) > 0
            assert s.scalars(select(Operator.badge).order_by(Operator.badge)).all() == ["S9001", "U1001"]
    finally:
        database.dispose()
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'quants'")}
        assert {"ix_quants_bin", "ix_quants_item_bin", "ix_quants_container"} <= indexes
    finally:
        con.close()
    with pytest.raises(NotAllowed):
        build_large(path, items=200, bins=100, quants=2000)


def test_large_warehouse_refuses_more_quants_than_fit(tmp_path):
    with pytest.raises(InvalidInput, match="do not fit"):
        build_large(tmp_path / "x.sqlite", items=2, bins=10, quants=100)
    assert not (tmp_path / "x.sqlite").exists()
