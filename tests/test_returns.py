"""Customer returns: the rules of services/returns.py on a real SQLite file, with an order really picked, packed and shipped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.test_packing import PREFIX, build_station, close, pack_everything
from warehouse_tui.db.models import (
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickTask,
    Quant,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    SerialUnit,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound, WarehouseError
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import inquiry, packing, picking, returns, supervisor, waves
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post


@pytest.fixture
def shipped(db, actor):
    """ORD-1 shipped in one carton: 5 PLAIN, 3 MILK of lot L1, PHONE serials SN-1 and SN-2 (SN-9 stays on the shelf).

    Bins RET-1 (returns) and QUA-1 (quarantine) are set up; the carton's SSCC is in `db.sscc`.
    """
    build_station(db, actor)
    pack_everything(db, actor)
    label = close(db, actor)
    with db.transaction() as s:
        packing.ship_order(s, actor, "ORD-1")
        md.add_bin(s, "RET-1", kind="returns")
        md.add_bin(s, "QUA-1", kind="quarantine")
        md.add_bin(s, "B-01", kind="storage", zone="A")
    db.sscc = label.sscc
    return db


def add_rma(db, ref="RMA-1", lines=(("PLAIN", 2, None), ("PHONE", 1, "SN-1"))):
    with db.transaction() as s:
        order = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "ORD-1")).one()
        ret = ReturnOrder(ref=ref, order_id=order.id, kind="rma")
        s.add(ret)
        s.flush()
        for sku, qty, serial in lines:
            item = md.item_by_sku(s, sku)
            line = s.scalars(select(OutboundLine).where(OutboundLine.order_id == order.id, OutboundLine.item_id == item.id)).one()
            s.add(ReturnLine(return_id=ret.id, order_line_id=line.id, item_id=item.id, qty_expected=qty, serial=serial, reason="NOFIT"))


def give_back(db, actor, ref, sku, qty=1, grade="good", **kw):
    with db.transaction() as s:
        return returns.receive_return(s, actor, ref=ref, item_id=md.item_by_sku(s, sku).id, qty=qty, grade=grade, **kw)


def stock(db, bin_code, sku) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(
            Quant.bin_id == md.bin_by_code(s, bin_code).id, Quant.item_id == md.item_by_sku(s, sku).id)))


def counts(db) -> tuple[int, int, int, int]:
    """Movements, return receipts, returns, exceptions: what a refusal must leave alone."""
    with db.reading() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Movement, ReturnReceipt, ReturnOrder, WarehouseException))


def refused(db, fn, exc=WarehouseError, match=None):
    before = counts(db)
    with pytest.raises(exc, match=match):
        with db.transaction() as s:
            fn(s)
    assert counts(db) == before


# --------------------------------------------------------------------------- finding the shipment


def test_rma_scan_opens_the_announced_return(shipped, actor):
    add_rma(shipped)
    with shipped.transaction() as s:
        view = returns.open_return(s, actor, "RMA-1")
    assert (view.ref, view.order, view.kind, view.status) == ("RMA-1", "ORD-1", "rma", "open")
    assert {(line.sku, line.expected, line.received) for line in view.lines} == {("PLAIN", 2, 0), ("PHONE", 1, 0)}


@pytest.mark.parametrize("how", ["order", "sscc", "serial"])
def test_no_paperwork_opens_an_unplanned_return_flagged_for_the_supervisor(shipped, actor, how):
    code = {"order": "ORD-1", "sscc": shipped.sscc, "serial": "SN-2"}[how]
    with shipped.transaction() as s:
        view = returns.open_return(s, actor, code)
    assert view.kind == "unplanned" and view.order == "ORD-1" and view.status == "open"
    with shipped.reading() as s:
        flagged = s.scalars(select(WarehouseException).where(WarehouseException.kind == returns.UNPLANNED)).one()
    assert flagged.status == "open" and flagged.ref == view.ref and "ORD-1" in flagged.detail


def test_the_order_number_finds_its_open_rma_instead_of_a_new_return(shipped, actor):
    add_rma(shipped)
    with shipped.transaction() as s:
        assert returns.open_return(s, actor, "ORD-1").ref == "RMA-1"
    assert counts(shipped)[2] == 1


@pytest.mark.parametrize("code", ["NOPE-42", "SN-9", "A-01"])
def test_unknown_rma_order_sscc_or_a_serial_never_shipped_is_refused(shipped, actor, code):
    refused(shipped, lambda s: returns.open_return(s, actor, code), NotFound, "no RMA, order, shipped carton or shipped serial")


def test_an_order_that_never_shipped_is_refused(shipped, actor):
    with shipped.transaction() as s:
        s.add(OutboundOrder(ref="ORD-NEW", status="new"))
    refused(shipped, lambda s: returns.open_return(s, actor, "ORD-NEW"), NotAllowed, "has not shipped")


def test_a_closed_rma_is_refused(shipped, actor):
    add_rma(shipped, lines=(("PLAIN", 1, None),))
    give_back(shipped, actor, "RMA-1", "PLAIN")
    with shipped.transaction() as s:
        returns.close_return(s, actor, "RMA-1")
    refused(shipped, lambda s: returns.open_return(s, actor, "RMA-1"), NotAllowed, "RMA-1 is closed")


# --------------------------------------------------------------------------- grading and where stock goes


def test_good_units_go_to_the_returns_bin_as_available_stock(shipped, actor):
    add_rma(shipped)
    done = give_back(shipped, actor, "RMA-1", "PLAIN", 2, reason="NOFIT")
    assert (done.bin_code, done.line_received, done.line_expected) == ("RET-1", 2, 2)
    with shipped.reading() as s:
        quant = s.scalars(select(Quant).where(Quant.bin_id == md.bin_by_code(s, "RET-1").id)).one()
        movement = s.scalars(select(Movement).where(Movement.kind == "return")).one()
        receipt = s.scalars(select(ReturnReceipt)).one()
    assert (quant.qty, quant.status) == (2, "available")
    assert (movement.doc_ref, movement.qty, movement.from_bin_id) == ("RMA-1", 2, None)
    assert (receipt.grade, receipt.reason, receipt.qty, receipt.terminal) == ("good", "NOFIT", 2, "T1")


def test_damaged_units_go_to_quarantine_and_scrap_is_booked_out(shipped, actor):
    add_rma(shipped, lines=(("PLAIN", 3, None),))
    give_back(shipped, actor, "RMA-1", "PLAIN", 1, "damaged")
    give_back(shipped, actor, "RMA-1", "PLAIN", 1, "scrap")
    assert stock(shipped, "QUA-1", "PLAIN") == 1
    assert stock(shipped, "RET-1", "PLAIN") == 0
    with shipped.reading() as s:
        kinds = [m.kind for m in s.scalars(select(Movement).where(Movement.doc_ref == "RMA-1").order_by(Movement.seq))]
        scrap = s.scalars(select(Movement).where(Movement.kind == "scrap")).one()
        assert run_checks(s).ok
    assert kinds == ["return", "return", "scrap"]
    assert scrap.to_bin_id is None and scrap.qty == 1


def test_a_returned_serial_is_back_in_stock_and_a_scrapped_one_is_removed(shipped, actor):
    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1")
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-2", grade="scrap")
    with shipped.reading() as s:
        units = {u.serial: (u.status, u.bin_id) for u in s.scalars(select(SerialUnit))}
        ret_bin = md.bin_by_code(s, "RET-1").id
        history = inquiry.serial_history(s, "SN-1")
        scrapped = inquiry.serial_history(s, "SN-2")
    assert units["SN-1"] == ("in_stock", ret_bin)
    assert units["SN-2"] == ("removed", None)
    # @INQUIRY tells the serial's life, oldest first, then the movements newest first
    assert history[:2] == ["SN SN-1 of PHONE: RET-1", "booked → shipped → returned"]
    assert history[2].split(" ")[2:4] == ["return", "1"] and history[2].endswith("->RET-1 RMA-1")
    assert scrapped[:2] == ["SN SN-2 of PHONE: removed", "booked → shipped → returned → scrapped"]


def test_a_serial_that_did_not_ship_on_the_order_is_refused_naming_the_orders_serials(shipped, actor):
    add_rma(shipped)
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, "PHONE").id, qty=1, grade="good",
                                                       serial="SN-9"), NotAllowed, r"Serial SN-9 did not ship on ORD-1 \(2 serials of PHONE did\)")


def test_a_serial_already_returned_is_refused(shipped, actor):
    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1")
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, "PHONE").id, qty=1, grade="good",
                                                       serial="SN-1"), NotAllowed, "already returned on RMA-1")


def test_more_than_shipped_minus_returned_is_refused(shipped, actor):
    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PLAIN", 4)
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, "PLAIN").id, qty=2, grade="good"),
            NotAllowed, r"Over-return: 2 × PLAIN but only 1 of 5 shipped on ORD-1 can come back \(4 already returned\)")
    # across returns of the same order too
    with shipped.transaction() as s:
        other = returns.open_return(s, actor, shipped.sscc).ref  # RMA-1 is open: the SSCC finds it
    assert other == "RMA-1"
    give_back(shipped, actor, "RMA-1", "PLAIN", 1)
    assert stock(shipped, "RET-1", "PLAIN") == 5


def test_an_item_not_on_the_order_is_refused(shipped, actor):
    add_rma(shipped)
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, "OTHER").id, qty=1, grade="good"),
            NotAllowed, "OTHER is not on order ORD-1")


def test_the_shipped_lot_is_taken_and_another_lot_refused(shipped, actor):
    add_rma(shipped, lines=(("MILK", 2, None),))
    with shipped.reading() as s:
        assert returns.returnable(s, "RMA-1", md.item_by_sku(s, "MILK").id).lots == ("L1",)
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, "MILK").id, qty=1, grade="good",
                                                       lot_code="L2"), NotAllowed, r"Lot L2 of MILK did not ship on order ORD-1 \(shipped: L1\)")
    give_back(shipped, actor, "RMA-1", "MILK")  # the one shipped lot, without asking
    with shipped.reading() as s:
        quant = s.scalars(select(Quant).where(Quant.bin_id == md.bin_by_code(s, "RET-1").id)).one()
        assert s.get(type(md.lot(s, md.item_by_sku(s, "MILK"), "L1")), quant.lot_id).code == "L1"


@pytest.mark.parametrize("grade,item,message", [
    ("good", None, "Scan the returned item before grading it"),
    (None, "PLAIN", "Grade the unit"),
    ("resell", "PLAIN", "Grade must be good, damaged or scrap"),
])
def test_grading_without_a_scan_or_a_grade_is_refused(shipped, actor, grade, item, message):
    add_rma(shipped)
    refused(shipped, lambda s: returns.receive_return(s, actor, ref="RMA-1", item_id=md.item_by_sku(s, item).id if item else None, qty=1,
                                                       grade=grade), InvalidInput, message)


def test_a_return_of_a_3pl_clients_goods_stays_the_clients_stock(db, actor):
    with db.transaction() as s:
        face = md.add_bin(s, "A-01", kind="pick")
        md.add_bin(s, "RET-1", kind="returns")
        md.add_bin(s, "QUA-1", kind="quarantine")
        client_item = md.add_item(s, "ACME-1", owner_code="ACME")
        post(s, actor, kind="adjust", item=client_item, qty=3, to_bin=face)
        post(s, actor, kind="ship", item=client_item, qty=2, from_bin=face, doc_ref="ORD-C")
        order = OutboundOrder(ref="ORD-C", status="shipped")
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=client_item.id, qty=2, qty_shipped=2))
    with db.transaction() as s:
        ref = returns.open_return(s, actor, "ORD-C").ref
    give_back(db, actor, ref, "ACME-1", 1, "damaged")
    with db.reading() as s:
        quant = s.scalars(select(Quant).where(Quant.bin_id == md.bin_by_code(s, "QUA-1").id)).one()
        assert quant.owner_id == md.owner(s, "ACME", create=False).id


# --------------------------------------------------------------------------- quarantine is never allocated


def test_quarantine_and_returns_stock_is_never_allocated_by_a_wave(shipped, actor):
    add_rma(shipped, lines=(("PLAIN", 2, None),))
    give_back(shipped, actor, "RMA-1", "PLAIN", 1, "damaged")
    give_back(shipped, actor, "RMA-1", "PLAIN", 1, "good")
    with shipped.transaction() as s:
        plain = md.item_by_sku(s, "PLAIN")
        face = md.bin_by_code(s, "A-01")
        # empty the pick face: only the returned units are left in the warehouse
        left = s.scalar(select(Quant.qty).where(Quant.bin_id == face.id, Quant.item_id == plain.id))
        post(s, actor, kind="adjust", item=plain, qty=left, from_bin=face)
        order = OutboundOrder(ref="ORD-2", status="new")
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=plain.id, qty=2))
    with shipped.transaction() as s:
        result = waves.release(s, actor, ["ORD-2"])
    assert result.waiting == ["ORD-2"] and not result.pick_lists
    with shipped.reading() as s:
        assert s.scalar(select(func.count()).select_from(PickTask).where(PickTask.bin_id.in_(
            [md.bin_by_code(s, "QUA-1").id, md.bin_by_code(s, "RET-1").id]))) == 0
        assert s.scalar(select(func.sum(Quant.reserved)).where(Quant.item_id == md.item_by_sku(s, "PLAIN").id)) in (0, None)


def test_a_picker_cannot_take_a_task_from_the_quarantine_bin(shipped, actor):
    add_rma(shipped, lines=(("PLAIN", 1, None),))
    give_back(shipped, actor, "RMA-1", "PLAIN", 1, "damaged")
    with shipped.transaction() as s:
        plain = md.item_by_sku(s, "PLAIN")
        order = OutboundOrder(ref="ORD-3", status="new")
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=plain.id, qty=1))
        waves.release(s, actor, ["ORD-3"])
        task = s.scalars(select(PickTask).join(OutboundLine).where(OutboundLine.order_id == order.id)).one()
        assert md.bin_by_code(s, "A-01").id == task.bin_id  # allocated from the pick face, not quarantine
        with pytest.raises(InvalidInput, match="Wrong bin QUA-1"):
            picking.check_bin(s, task.id, "QUA-1")


# --------------------------------------------------------------------------- closing


def test_done_with_everything_received_closes_the_return(shipped, actor):
    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PLAIN", 2)
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1")
    with shipped.transaction() as s:
        lines = returns.close_return(s, actor, "RMA-1")
        assert s.scalars(select(ReturnOrder)).one().status == "closed"
    assert all(line.difference == 0 for line in lines)


def test_a_short_return_stays_open_until_a_supervisor_closes_it(shipped, actor):
    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PLAIN", 1)
    with shipped.transaction() as s:
        lines = returns.close_return(s, actor, "RMA-1")
    assert {(x.sku, x.expected, x.received) for x in lines} == {("PLAIN", 2, 1), ("PHONE", 1, 0)}
    with shipped.reading() as s:
        assert s.scalars(select(ReturnOrder)).one().status == "short"
        short = s.scalars(select(WarehouseException).where(WarehouseException.kind == returns.SHORT)).one()
    # still receivable: the rest of the parcel may come
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1")
    with pytest.raises(NotAllowed):
        with shipped.transaction() as s:
            returns.close_by_supervisor(s, actor, "RMA-1")  # no operator: not a supervisor
    with shipped.transaction() as s:
        boss = Operator(badge="S1", name="Boss", role="supervisor", pin_hash=hash_pin("1234"))
        s.add(boss)
        s.flush()
        supervisor.approve(s, Actor(boss, "T1"), short.id)
    with shipped.reading() as s:
        assert s.scalars(select(ReturnOrder)).one().status == "closed"


# --------------------------------------------------------------------------- import and export


def import_returns(db, text: str):
    from warehouse_tui.services.importing import import_bytes

    return import_bytes(db, "returns", text.encode(), Actor(None, "T1"), source="returns.csv")


def test_import_returns_makes_one_rma_per_ref_against_the_shipped_order(shipped):
    result = import_returns(shipped, "ref,order,sku,qty,serial,reason\n"
                                     "RMA-7,ORD-1,PLAIN,2,,NOFIT\n"
                                     "RMA-7,ORD-1,PHONE,1,SN-2,BROKEN\n"
                                     "RMA-8,ORD-1,MILK,1,,\n")
    assert (result.rows, result.created) == (3, 2)
    with shipped.reading() as s:
        view = returns.return_view(s, "RMA-7")
        line = s.scalars(select(ReturnLine).where(ReturnLine.serial == "SN-2")).one()
    assert (view.order, view.kind, view.status) == ("ORD-1", "rma", "open")
    assert {(x.sku, x.expected) for x in view.lines} == {("PLAIN", 2), ("PHONE", 1)}
    assert (line.reason, line.qty_expected) == ("BROKEN", 1)


@pytest.mark.parametrize("row,message", [
    ("RMA-9,ORD-404,PLAIN,1,,", "line 2: order ORD-404 is not known"),
    ("RMA-9,ORD-1,OTHER,1,,", "line 2: SKU OTHER is not on order ORD-1"),
    ("RMA-9,ORD-1,PLAIN,6,,", "line 2: 6 × PLAIN is more than can come back on order ORD-1: 5 shipped, 5 left to return"),
    ("RMA-9,ORD-1,PHONE,1,SN-9,", "line 2: serial 'SN-9' of PHONE did not ship on order ORD-1"),
    ("RMA-9,ORD-1,PLAIN,0,,", "line 2: "),
])
def test_an_import_row_against_what_did_not_ship_is_refused_with_its_line_and_nothing_is_imported(shipped, row, message):
    from warehouse_tui.services.importing import ImportFailed

    before = counts(shipped)
    with pytest.raises(ImportFailed, match=message):
        import_returns(shipped, "ref,order,sku,qty,serial,reason\n" + row + "\nRMA-OK,ORD-1,PLAIN,1,,\n")
    assert counts(shipped) == before


def test_import_refuses_a_ref_already_known_and_an_unshipped_order(shipped, actor):
    from warehouse_tui.services.importing import ImportFailed

    add_rma(shipped)
    with shipped.transaction() as s:
        s.add(OutboundOrder(ref="ORD-NEW", status="new"))
        s.flush()
        order = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "ORD-NEW")).one()
        s.add(OutboundLine(order_id=order.id, item_id=md.item_by_sku(s, "PLAIN").id, qty=1))
    with pytest.raises(ImportFailed) as failed:
        import_returns(shipped, "ref,order,sku,qty\nRMA-1,ORD-1,PLAIN,1\nRMA-2,ORD-NEW,PLAIN,1\n")
    assert "line 2: RMA RMA-1 is already in the database" in str(failed.value)
    assert "line 3: order ORD-NEW has not shipped PLAIN" in str(failed.value)


def test_export_returns_says_what_the_oms_needs_to_refund(shipped, actor):
    import io
    import json

    from warehouse_tui.services import exporting

    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1", grade="damaged", reason="CRACKED")
    give_back(shipped, actor, "RMA-1", "PLAIN", 2)
    out = io.StringIO()
    with shipped.reading() as s:
        exporting.export(s, "returns", "json", out)
    rows = json.loads(out.getvalue())
    assert [r["sku"] for r in rows] == ["PHONE", "PLAIN"]
    assert {k: rows[0][k] for k in ("ref", "order", "serial", "qty", "grade", "reason", "terminal", "operator")} == {
        "ref": "RMA-1", "order": "ORD-1", "serial": "SN-1", "qty": 1, "grade": "damaged", "reason": "CRACKED", "terminal": "T1",
        "operator": None}
    assert rows[1]["reason"] == "NOFIT"  # the RMA line's reason when none was scanned
    assert rows[0]["received_at"].endswith("Z")
    assert list(rows[0]) == list(exporting.EXPORT_KEYS["returns"])
    out = io.StringIO()
    with shipped.reading() as s:
        exporting.export(s, "returns", "csv", out)
    assert out.getvalue().splitlines()[0] == "ref,order,channel,sku,lot,serial,qty,grade,reason,received_at,operator,terminal"


def test_export_serials_shows_a_returned_serial_back_in_stock_or_quarantined(shipped, actor):
    import io
    import json

    from warehouse_tui.services import exporting

    add_rma(shipped)
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-1", grade="good")
    give_back(shipped, actor, "RMA-1", "PHONE", serial="SN-2", grade="damaged")
    out = io.StringIO()
    with shipped.reading() as s:
        exporting.export(s, "serials", "json", out)
    status = {r["serial"]: (r["status"], r["bin"]) for r in json.loads(out.getvalue())}
    assert status["SN-1"] == ("in_stock", "RET-1")
    assert status["SN-2"] == ("quarantined", "QUA-1")
    assert status["SN-9"] == ("in_stock", "A-01")
    with shipped.reading() as s:
        assert inquiry.serial_history(s, "SN-2")[0] == "SN SN-2 of PHONE: QUA-1 quarantined"
        assert inquiry.lookup_text(s, "RMA-1")[:2] == ["RMA RMA-1 open", "Order ORD-1"]


# --------------------------------------------------------------------------- the @RETURN workflow, scan by scan (no UI)


@pytest.fixture
def floor(shipped):
    from warehouse_tui.config import Settings
    from warehouse_tui.workflows.base import Terminal
    from warehouse_tui.workflows.returns import Return

    with shipped.transaction() as s:
        s.add(Operator(badge="U1", name="Uma", role="operator", pin_hash=hash_pin("1234")))
    with shipped.reading() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U1")).one()
        s.expunge(op)
    wf = Return(Terminal(shipped, Settings(gs1_company_prefix=PREFIX), "T1", operator=op))

    def scan(text: str):
        from drivers.base import RawScan

        return wf.submit(RawScan(text=text))

    wf.scan = scan
    return wf


def test_workflow_rma_good_and_damaged_units_then_done_shows_expected_vs_received(floor, shipped):
    add_rma(shipped)
    assert floor.scan("RMA-1").ok and floor.state == "item"
    assert floor.scan("PLAIN").ok and floor.state == "qty"
    assert floor.scan("1").ok and floor.state == "grade"
    assert floor.scan("NOFIT").ok  # an optional reason code
    done = floor.scan("@GOOD")
    assert done.ok and "to RET-1" in done.message and floor.state == "item"
    assert floor.scan("PHONE").ok and floor.state == "serial"
    assert floor.scan("SN-1").ok and floor.state == "grade"
    assert floor.scan("@DAMAGED").ok
    outcome = floor.scan("@DONE")
    assert outcome.ok and "supervisor" in outcome.message and floor.state == "summary"
    assert any(line.startswith("PLAIN") and line.split()[1:] == ["2", "1", "-1"] for line in floor.lines())
    assert stock(shipped, "RET-1", "PLAIN") == 1 and stock(shipped, "QUA-1", "PHONE") == 1


def test_workflow_without_paperwork_the_sscc_opens_an_unplanned_return(floor, shipped):
    outcome = floor.scan(shipped.sscc)
    assert outcome.ok and "flagged for the supervisor" in outcome.message
    assert floor.header.startswith("Unplanned UR-ORD-1-")


def test_workflow_a_gs1_label_answers_item_and_serial_at_once(floor, shipped):
    add_rma(shipped)
    floor.scan("RMA-1")
    with shipped.transaction() as s:
        from warehouse_tui.db.models import ItemCode

        # PHONE has no GTIN in the station: give it one
        s.add(ItemCode(item_id=md.item_by_sku(s, "PHONE").id, code="09501101530072", kind="gtin"))
    assert floor.scan("(01)09501101530072(21)SN-2").ok and floor.state == "grade"
    assert floor.unit.serial == "SN-2"


@pytest.mark.parametrize("first,message", [
    ("@GOOD", "Scan the RMA first"),
    ("NOPE", "no RMA, order, shipped carton or shipped serial"),
    ("SN-9", "no RMA, order, shipped carton or shipped serial"),
])
def test_workflow_refusals_before_a_return_change_nothing(floor, shipped, first, message):
    before = counts(shipped)
    outcome = floor.scan(first)
    assert not outcome.ok and message in outcome.message and floor.state == "source"
    assert counts(shipped) == before


def test_workflow_grading_without_an_item_and_a_wrong_serial_are_refused(floor, shipped):
    add_rma(shipped)
    floor.scan("RMA-1")
    before = counts(shipped)
    outcome = floor.scan("@SCRAP")
    assert not outcome.ok and outcome.message == "Scan the returned item before grading it"
    floor.scan("PHONE")
    outcome = floor.scan("SN-9")
    assert not outcome.ok and "(2 serials of PHONE did)" in outcome.message and floor.state == "serial"
    outcome = floor.scan("@CANCEL")
    assert outcome.ok and floor.state == "item" and floor.unit is None
    floor.scan("PLAIN")
    outcome = floor.scan("6")
    assert not outcome.ok and "Only 5 of PLAIN can come back" in outcome.message and floor.state == "qty"
    assert counts(shipped) == before


def test_workflow_has_a_handler_for_every_state_of_its_table():
    from warehouse_tui.workflows.returns import MACHINE, Return, State

    assert {s.value for s in State} <= MACHINE.targets() | {"source"}
    for state in State:
        assert hasattr(Return, f"on_{state.value}"), state


def test_good_returns_are_put_away_by_the_normal_putaway(floor, shipped):
    from drivers.base import RawScan
    from warehouse_tui.workflows.putaway import Putaway

    add_rma(shipped)
    give_back(shipped, Actor(None, "T1"), "RMA-1", "PLAIN", 2)
    with shipped.transaction() as s:
        md.add_bin(s, "RCV-1", kind="receiving")
    putaway = Putaway(floor.terminal)
    for text in ("PLAIN", "2", "B-01"):
        outcome = putaway.submit(RawScan(text=text))
        assert outcome.ok, outcome.message
    assert stock(shipped, "RET-1", "PLAIN") == 0 and stock(shipped, "B-01", "PLAIN") == 2
