"""The login, receive, putaway, move and inquiry state machines, driven without a UI on the demo warehouse.

Each test feeds RawScans to a workflow object the way the floor screen does
(`workflow.submit`) and checks the state it lands in and what the database
holds: prompts appear only when the item needs them and the scan did not carry
the value, refusals leave the state and the stock as they were, @CANCEL drops
the pending line, and supervisor-only approvals are enforced.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from drivers.base import RawScan
from fixture_dates import FAR as FAR_DAY
from fixture_dates import FAR_YYMMDD as FAR  # a best-before years ahead of the clock, as scanned
from warehouse_tui.config import Settings
from warehouse_tui.db.models import AuditEvent, Bin, Container, InboundLine, InboundOrder, Lot, Movement, Operator, Quant, WarehouseException
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor
from warehouse_tui.services.receiving import receive_item
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.inquiry import Inquiry
from warehouse_tui.workflows.login import Home, Login
from warehouse_tui.workflows.putaway import Move, Putaway
from warehouse_tui.workflows.receive import Receive

# Demo warehouse codes (warehouse_tui/demo/).
TAPE = "09501101010031"             # TAPE-48, untracked; 271 in A-01-01-2
MARKER = "9501101010406"            # MARKER-BLK, untracked, EAN-13 of a GTIN-14; on PO-1001
PASSATA = "09501101017467"          # PASSATA-700, lot + expiry; on PO-1002 (96, no lot announced)
OLIVE = "09501101016415"            # OLIVE-OIL-1L, lot + expiry; on PO-1002 (60)
SANITISER = "09501101016057"        # SANITISER-500, expiry without lot
STOVE = "05901234021357"            # NO-STOVE, serial; on ASN-2001
PAPER_CASE = "19501101010205"       # PAPER-A4 case; 2 loose in RCV-01, pick face A-01-02-1


def scan(text: str) -> RawScan:
    return RawScan(text=text, source="test")


@pytest.fixture
def terminal(demo_db) -> Terminal:
    return Terminal(demo_db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")


def log_in(terminal: Terminal, badge: str = "U1001", pin: str = "1234") -> None:
    login = Login(terminal)
    login.submit(scan(badge))
    outcome = login.submit(scan(pin))
    assert outcome.ok and outcome.navigate == "HOME", outcome


@pytest.fixture
def operator(terminal) -> Terminal:
    log_in(terminal)
    return terminal


def movements(db) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Movement))


def receiving(terminal: Terminal, doc: str) -> Receive:
    wf = Receive(terminal)
    assert wf.submit(scan(doc)).ok
    assert wf.state == "item"
    return wf


# --------------------------------------------------------------------------- login


def test_login_sets_the_operator_and_goes_home(terminal):
    login = Login(terminal)
    assert login.submit(scan("U1001")).ok and login.state == "pin"
    outcome = login.submit(scan("1234"))
    assert outcome.navigate == "HOME"
    assert terminal.operator is not None and terminal.operator.badge == "U1001"


def test_fifth_wrong_pin_locks_the_badge_and_the_right_pin_is_then_refused(terminal, demo_db):
    login = Login(terminal)
    for _ in range(5):
        login.submit(scan("U1001"))
        assert not login.submit(scan("0000")).ok
    login.submit(scan("U1001"))
    outcome = login.submit(scan("1234"))
    assert not outcome.ok and "locked" in outcome.message
    assert terminal.operator is None and login.state == "badge"
    with demo_db.reading() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        assert op.locked
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.badge == "U1001")).all()
    assert kinds.count("login_failed") == 5  # four wrong PINs and the refusal of the locked badge
    assert "badge_locked" in kinds and "login" not in kinds


def test_commands_before_login_are_refused(terminal):
    login = Login(terminal)
    for command in ("@RECEIVE", "@INQUIRY", "@HOME", "@DONE"):
        outcome = login.submit(scan(command))
        assert not outcome.ok and outcome.navigate is None
        assert login.state == "badge"
    assert terminal.operator is None


def test_home_menu_digit_navigates(operator):
    home = Home(operator)
    assert home.submit(scan("1")).navigate == "RECEIVE"
    assert home.submit(scan("9")).navigate == "RETURN"
    assert not home.submit(scan("42")).ok


# --------------------------------------------------------------------------- receive: which prompts appear


def test_untracked_item_asks_only_for_the_quantity(operator):
    wf = receiving(operator, "PO-1001")
    wf.submit(scan(MARKER))
    assert wf.state == "qty"
    assert wf.submit(scan("5")).ok
    assert wf.state == "item" and wf.pending is None


def test_lot_item_asks_lot_then_expiry_then_qty(operator):
    wf = receiving(operator, "PO-1002")
    wf.submit(scan(PASSATA))
    assert wf.state == "lot"
    wf.submit(scan("10D9T"))  # looks like AI 10 but is the lot as it stands
    assert (wf.state, wf.pending.lot) == ("expiry", "10D9T")
    wf.submit(scan(FAR))
    assert wf.state == "qty" and wf.pending.expiry == FAR_DAY


def test_gs1_scan_carrying_lot_and_expiry_skips_those_prompts(operator):
    wf = receiving(operator, "PO-1002")
    wf.submit(scan(f"(01){PASSATA}(17){FAR}(10)PX-1"))
    assert wf.state == "qty"
    assert (wf.pending.lot, str(wf.pending.expiry)) == ("PX-1", str(FAR_DAY))


def test_gs1_scan_carrying_everything_is_recorded_at_once(operator, demo_db):
    before = movements(demo_db)
    wf = receiving(operator, "PO-1002")
    outcome = wf.submit(RawScan(text=f"01{PASSATA}17{FAR}10PX-2\x1d303", symbology="C1"))
    assert outcome.ok and outcome.message.startswith("Received 3")
    assert wf.state == "item" and movements(demo_db) == before + 1


def test_known_lot_brings_its_expiry_so_no_expiry_prompt(operator):
    wf = receiving(operator, "PO-1002")
    wf.submit(scan(PASSATA))
    wf.submit(scan("PA4916B"))  # a lot of PASSATA-700 already in stock, with its expiry
    assert wf.state == "qty" and wf.pending.expiry is not None


def test_expiry_only_item_asks_expiry_but_no_lot(operator):
    wf = Receive(operator)
    wf.submit(scan("@BLIND"))
    wf.submit(scan(SANITISER))
    assert wf.state == "expiry"


def test_serial_item_asks_serial_and_never_a_quantity(operator, demo_db):
    wf = receiving(operator, "ASN-2001")
    wf.submit(scan(STOVE))
    assert wf.state == "serial"
    assert wf.submit(scan("SN-A")).ok
    assert wf.state == "item"
    # A GS1 scan with AI 21 goes straight through.
    assert wf.submit(scan(f"(01){STOVE}(21)SN-B")).ok and wf.state == "item"
    with demo_db.reading() as s:
        qtys = s.scalars(select(Movement.qty).where(Movement.doc_ref == "ASN-2001")).all()
    assert qtys == [1, 1]


def test_duplicate_serial_is_refused_and_drops_the_line(operator, demo_db):
    wf = receiving(operator, "ASN-2001")
    wf.submit(scan(f"(01){STOVE}(21)SN-DUP"))
    before = movements(demo_db)
    outcome = wf.submit(scan(f"(01){STOVE}(21)SN-DUP"))
    assert not outcome.ok and "already in RCV-01" in outcome.message
    assert wf.state == "item" and wf.pending is None
    assert movements(demo_db) == before


def test_a_scan_refused_after_it_wrote_something_leaves_nothing_behind(operator, demo_db):
    # Given a GS1 label of PASSATA naming a new lot that expired years ago
    wf = receiving(operator, "PO-1002")
    before = movements(demo_db)

    # When it is scanned: the lot is made, then the receipt is refused
    outcome = wf.submit(scan(f"(01){PASSATA}(17)200101(10)PX-EXPIRED(30)2"))

    # Then the scan's one transaction is gone whole: no lot, no movement
    assert not outcome.ok and "expired" in outcome.message
    with demo_db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Lot).where(Lot.code == "PX-EXPIRED")) == 0
    assert movements(demo_db) == before


def test_a_scan_that_fails_to_record_leaves_the_line_as_it_was(operator, demo_db):
    # Given the quantity prompt of a line, and a database that refuses every new movement (a real SQLite failure)
    wf = receiving(operator, "PO-1001")
    wf.submit(scan(MARKER))
    line_before = (wf.state, wf.pending.sku, wf.pending.qty, wf.last)
    with demo_db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_movements BEFORE INSERT ON movements BEGIN SELECT RAISE(ABORT, 'no'); END")
    before = movements(demo_db)

    # When the quantity is typed and the write fails (a fault, not an operator's mistake)
    with pytest.raises(DBAPIError):
        wf.submit(scan("5"))

    # Then nothing is recorded and the same line still waits for its quantity
    assert (wf.state, wf.pending.sku, wf.pending.qty, wf.last) == line_before
    assert movements(demo_db) == before


# --------------------------------------------------------------------------- receive: cancel and refusals


@pytest.mark.parametrize("state_scans", [[PASSATA], [PASSATA, "LOT-X"], [PASSATA, "LOT-X", FAR]],
                         ids=["at-lot", "at-expiry", "at-qty"])
def test_cancel_returns_to_scan_item_and_drops_the_pending_line(operator, demo_db, state_scans):
    wf = receiving(operator, "PO-1002")
    for text in state_scans:
        assert wf.submit(scan(text)).ok
    before = movements(demo_db)
    assert wf.submit(scan("@CANCEL")).ok
    assert wf.state == "item" and wf.pending is None
    assert wf.ref == "PO-1002"  # the receipt itself stays open
    assert movements(demo_db) == before


@pytest.mark.parametrize("typed", ["abc", "-5", "0", "1.5", "1e3", "12345678901234567890", "٣", "", "\x07"])
def test_refused_quantity_leaves_state_and_stock_unchanged(operator, demo_db, typed):
    wf = receiving(operator, "PO-1001")
    wf.submit(scan(MARKER))
    pending_before = (wf.pending.sku, wf.pending.qty)
    before = movements(demo_db)
    outcome = wf.submit(scan(typed))
    assert not outcome.ok
    assert wf.state == "qty" and (wf.pending.sku, wf.pending.qty) == pending_before
    assert movements(demo_db) == before


def test_megabyte_scan_is_refused_without_changing_state(operator):
    wf = receiving(operator, "PO-1001")
    outcome = wf.submit(scan("9" * 1_000_000))
    assert not outcome.ok and "too long" in outcome.message
    assert wf.state == "item"


def test_expiry_in_the_past_is_refused_and_asked_again(operator):
    wf = receiving(operator, "PO-1002")
    wf.submit(scan(PASSATA))
    wf.submit(scan("LOT-OLD"))
    assert not wf.submit(scan("200101")).ok
    assert wf.state == "expiry" and wf.pending.expiry is None


# --------------------------------------------------------------------------- receive: over-receipt approval


def over_receipt(operator: Terminal) -> Receive:
    wf = receiving(operator, "PO-1002")
    outcome = wf.submit(scan(f"(01){OLIVE}(17){FAR}(10)OO2611A(30)61"))
    assert not outcome.ok and "Over-receipt" in outcome.message
    assert wf.state == "supervisor_badge"
    return wf


def test_operator_cannot_approve_an_over_receipt_with_their_own_badge(operator, demo_db):
    wf = over_receipt(operator)
    before = movements(demo_db)
    wf.submit(scan("U1001"))
    outcome = wf.submit(scan("1234"))
    assert not outcome.ok and "Only a supervisor" in outcome.message
    assert wf.state == "supervisor_badge" and wf.pending.qty == 61
    assert movements(demo_db) == before
    with demo_db.reading() as s:
        assert s.scalar(select(func.count()).select_from(WarehouseException)) == 0


def test_supervisor_badge_and_pin_approve_the_over_receipt(operator, demo_db):
    wf = over_receipt(operator)
    wf.submit(scan("S9001"))
    outcome = wf.submit(scan("9999"))
    assert outcome.ok and wf.state == "item"
    with demo_db.reading() as s:
        exc = s.scalars(select(WarehouseException)).one()
        assert (exc.kind, exc.status, exc.ref) == ("over_receipt", "approved", "PO-1002")
        sup = s.scalars(select(Operator).where(Operator.badge == "S9001")).one()
        assert exc.resolved_by == sup.id
        assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "over_receipt_approved")).one().operator_id == sup.id
        line = s.scalars(select(InboundLine).join(InboundOrder).where(InboundOrder.ref == "PO-1002", InboundLine.lot == "OO2611A")).one()
        assert line.qty_received == 61
        assert run_checks(s).ok
    # The terminal stays with the operator who logged in, not the supervisor who approved.
    assert operator.operator.badge == "U1001"


def test_service_refuses_an_over_receipt_approved_by_an_operator(demo_db):
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        with demo_db.transaction() as s:
            op = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
            item = md.item_by_sku(s, "OLIVE-OIL-1L")
            receive_item(s, Actor(op, "T1"), receipt_ref="PO-1002", item_id=item.id, qty=61, lot_code="OO2611A",
                         approved_by=op)
    with demo_db.reading() as s:  # the transaction rolled back: nothing received
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.doc_ref == "PO-1002")) == 0


# --------------------------------------------------------------------------- putaway


def test_putaway_enter_alone_puts_away_all(operator, demo_db):
    wf = Putaway(operator)
    wf.submit(scan(PAPER_CASE))
    assert (wf.state, wf.available, wf.suggested) == ("qty", 2, "A-01-02-1")
    assert wf.submit(scan("")).ok
    assert wf.state == "to_bin" and wf.goods.qty == 2
    assert wf.submit(scan("A-01-02-1")).ok and wf.state == "source"
    with demo_db.reading() as s:
        m = s.scalars(select(Movement).where(Movement.kind == "putaway")).one()
        assert m.qty == 2
        assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "putaway_override")).first() is None


def test_putaway_to_another_bin_is_recorded_as_override(operator, demo_db):
    wf = Putaway(operator)
    wf.submit(scan(PAPER_CASE))
    wf.submit(scan("1"))
    outcome = wf.submit(scan("A-01-01-3"))
    assert outcome.ok and "(override)" in outcome.message
    with demo_db.reading() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "putaway_override")).one()
        assert "suggested A-01-02-1" in event.detail and "A-01-01-3" in event.detail
        assert event.badge == "U1001" and event.terminal == "T1"


@pytest.mark.parametrize("typed", ["3", "0", "-1", "1.5"])
def test_putaway_refused_quantity_keeps_the_qty_prompt(operator, typed):
    wf = Putaway(operator)
    wf.submit(scan(PAPER_CASE))
    assert not wf.submit(scan(typed)).ok
    assert wf.state == "qty" and wf.goods.qty is None


def test_putaway_refuses_unknown_and_blocked_bins_and_keeps_the_suggestion(operator, demo_db):
    wf = Putaway(operator)
    wf.submit(scan(PAPER_CASE))
    wf.submit(scan(""))
    before = movements(demo_db)
    for bad in ("Z-99-99-9", "B-02-07-3", "RCV-02"):
        assert not wf.submit(scan(bad)).ok
        assert wf.state == "to_bin" and wf.suggested == "A-01-02-1"
    assert movements(demo_db) == before


# --------------------------------------------------------------------------- move


def test_move_between_bins_then_back_to_scan_item_at_the_same_bin(operator, demo_db):
    wf = Move(operator)
    wf.submit(scan("A-01-01-2"))
    wf.submit(scan(TAPE))
    assert wf.state == "qty"
    wf.submit(scan("10"))
    assert wf.state == "to"
    assert wf.submit(scan("A-01-01-1")).ok
    assert (wf.state, wf.from_bin) == ("item", "A-01-01-2")
    with demo_db.reading() as s:
        tape = md.item_by_sku(s, "TAPE-48")
        here = dict(s.execute(select(Bin.code, Quant.qty).join(Bin, Bin.id == Quant.bin_id)
                              .where(Quant.item_id == tape.id, Quant.container_id.is_(None))).all())
    assert here["A-01-01-1"] == 23 and here["A-01-01-2"] == 261


def test_move_into_an_empty_tote_fills_it_where_the_operator_stands(operator, demo_db):
    wf = Move(operator)
    wf.submit(scan("A-01-01-2"))
    wf.submit(scan(TAPE))
    wf.submit(scan("4"))
    outcome = wf.submit(scan("TOTE-0003"))
    assert outcome.ok, outcome.message
    with demo_db.reading() as s:
        tote = s.scalars(select(Container).where(Container.code == "TOTE-0003")).one()
        assert s.get(Bin, tote.bin_id).code == "A-01-01-2"
        assert s.scalars(select(Quant.qty).where(Quant.container_id == tote.id)).one() == 4
        assert run_checks(s).ok


def test_move_of_too_many_is_refused_and_nothing_moves(operator, demo_db):
    wf = Move(operator)
    wf.submit(scan("A-01-01-2"))
    wf.submit(scan(TAPE))
    wf.submit(scan("272"))
    before = movements(demo_db)
    outcome = wf.submit(scan("A-01-01-1"))
    assert not outcome.ok and "Only 271" in outcome.message
    assert wf.state == "to" and movements(demo_db) == before


DEMO_PALLET = "359012340000778016"  # the supplier's SSCC pallet of 72 TAPE-48 in RCV-01 (PO-1001)


def test_move_from_a_pallet_takes_its_content_barcode_as_the_label_of_that_pallet(operator, demo_db):
    # GS1 asks (37) for (00) on the same label, not in the same barcode: the pallet scanned as the source is it.
    wf = Move(operator)
    assert wf.submit(scan(f"00{DEMO_PALLET}")).ok and wf.from_lpn == DEMO_PALLET
    outcome = wf.submit(RawScan(f"]C102{TAPE}3712", source="test"))
    assert outcome.ok and (wf.state, wf.goods.qty) == ("to", 12), outcome.message
    assert wf.submit(scan("A-01-01-1")).ok
    with demo_db.reading() as s:
        pallet = s.scalars(select(Container).where(Container.code == DEMO_PALLET)).one()
        assert s.scalar(select(Quant.qty).where(Quant.container_id == pallet.id)) == 60
        assert run_checks(s).ok


def test_move_from_a_bin_refuses_a_content_barcode_without_its_pallet(operator, demo_db):
    wf = Move(operator)
    wf.submit(scan("A-01-01-2"))
    before = movements(demo_db)
    outcome = wf.submit(RawScan(f"]C102{TAPE}3712", source="test"))
    assert not outcome.ok and "AI (37) needs AI (00)" in outcome.message and wf.state == "item"
    assert movements(demo_db) == before


# --------------------------------------------------------------------------- inquiry


@pytest.mark.parametrize(("code", "headline"), [
    (TAPE, "Item TAPE-48"),
    ("A-01-01-2", "Bin A-01-01-2"),
    ("359012340000778016", "SSCC 359012340000778016 in RCV-01"),
    ("OL5523A", "Lot OL5523A of OLIVE-OIL-1L"),
    ("NFLT36590851", "SN NFLT36590851 of NO-FILTER: C-02-03-1"),
    ("PO-1002", "PO PO-1002"),
])
def test_inquiry_answers_what_a_scan_is(operator, code, headline):
    wf = Inquiry(operator)
    outcome = wf.submit(scan(code))
    assert outcome.ok and outcome.message.startswith(headline), outcome.message
    assert wf.state == "scan"


def test_inquiry_of_an_unknown_code_is_refused(operator):
    wf = Inquiry(operator)
    outcome = wf.submit(scan("NOTHING-HERE"))
    assert not outcome.ok and "Nothing known as NOTHING-HERE" in outcome.message


def test_bad_scans_at_scan_item_record_nothing(operator, demo_db):
    before = movements(demo_db)
    wf = receiving(operator, "PO-1002")
    for text in ("GARBAGE\x07", "(01)123", "@UNKNOWN", "9501101017468", "@BLIND"):
        assert not wf.submit(scan(text)).ok
    assert wf.state == "item"
    with demo_db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement)) == before


def test_unknown_code_at_receive_item_prompt_is_refused_not_a_phantom_lpn(demo_db):
    """A stray qty or garbage at "Scan item or LPN" must not open a new pallet; an LPN-looking code does."""
    from drivers.base import RawScan
    from warehouse_tui.config import Settings
    from warehouse_tui.workflows.base import Terminal
    from warehouse_tui.workflows.receive import Receive

    terminal = Terminal(demo_db, Settings(db="x", terminal="T1"), "T1")
    with demo_db.reading() as s:
        from sqlalchemy import select

        from warehouse_tui.db.models import Operator

        terminal.operator = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
    wf = Receive(terminal)
    assert wf.submit(RawScan("PO-1002")).ok
    for stray in ("4", "GARBAGE-XYZ"):
        outcome = wf.submit(RawScan(stray))
        assert not outcome.ok and outcome.message.startswith("Not an item or LPN"), outcome
        assert wf.lpn is None and wf.state == "item"
    assert wf.submit(RawScan("LPN-NEW-1")).ok
    assert wf.lpn == "LPN-NEW-1"
