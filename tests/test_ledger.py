"""Ledger rules: movements update quants and serials atomically and refuse what breaks an invariant."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from warehouse_tui.db.models import Movement, OutboxEntry, Quant, SerialUnit
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import post, move_container


@pytest.fixture
def site(db):
    with db.transaction() as s:
        md.add_bin(s, "RCV-01", kind="receiving", zone="DOCK")
        md.add_bin(s, "A-01-01", zone="A", kind="pick", pick_seq=1)
        md.add_bin(s, "A-01-02", zone="A", pick_seq=2)
        md.add_bin(s, "X-BLOCK", zone="A", blocked=True)
        md.add_item(s, "PLAIN", gtins=["09501101530003"])
        md.add_item(s, "LOTTED", tracking="lot", expiry_required=True)
        md.add_item(s, "SERIAL", tracking="serial")
    return db


def qty_in(session, sku, bin_code):
    item = md.item_by_sku(session, sku)
    b = md.bin_by_code(session, bin_code)
    return session.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(Quant.item_id == item.id, Quant.bin_id == b.id))


def test_receipt_then_putaway_updates_quants_and_outbox(site, actor):
    with site.transaction() as s:
        item, rcv, a1 = md.item_by_sku(s, "PLAIN"), md.bin_by_code(s, "RCV-01"), md.bin_by_code(s, "A-01-01")
        post(s, actor, kind="receipt", item=item, qty=10, to_bin=rcv, doc_ref="PO1")
        post(s, actor, kind="putaway", item=item, qty=4, from_bin=rcv, to_bin=a1)
    with site.reading() as s:
        assert qty_in(s, "PLAIN", "RCV-01") == 6
        assert qty_in(s, "PLAIN", "A-01-01") == 4
        outbox = s.scalars(select(OutboxEntry).order_by(OutboxEntry.position)).all()
        assert [e.payload["kind"] for e in outbox] == ["receipt", "putaway"]
        assert outbox[1].payload["from_bin"] == "RCV-01" and outbox[1].payload["to_bin"] == "A-01-01"
        assert run_checks(s).ok


def test_taking_more_than_is_there_is_refused_and_changes_nothing(site, actor):
    with site.transaction() as s:
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=3, to_bin=md.bin_by_code(s, "RCV-01"))
    with pytest.raises(InvariantViolation, match="Only 3 of PLAIN in RCV-01"):
        with site.transaction() as s:
            post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=4,
                 from_bin=md.bin_by_code(s, "RCV-01"), to_bin=md.bin_by_code(s, "A-01-01"))
    with site.reading() as s:
        assert qty_in(s, "PLAIN", "RCV-01") == 3
        assert s.scalar(select(func.count()).select_from(Movement)) == 1


def test_moving_stock_that_is_not_there_is_refused(site, actor):
    with pytest.raises(InvariantViolation, match="Only 0 of PLAIN in A-01-02"):
        with site.transaction() as s:
            post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=1,
                 from_bin=md.bin_by_code(s, "A-01-02"), to_bin=md.bin_by_code(s, "A-01-01"))


@pytest.mark.parametrize("qty", [0, -5, 1.5, "3", True, 10**12])
def test_bad_quantities_are_refused(site, actor, qty):
    with pytest.raises(InvalidInput):
        with site.transaction() as s:
            post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=qty, to_bin=md.bin_by_code(s, "RCV-01"))


def test_serial_cannot_be_in_two_places(site, actor):
    with site.transaction() as s:
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN1", to_bin=md.bin_by_code(s, "RCV-01"))
    with pytest.raises(InvariantViolation, match="Serial SN1 of SERIAL is already in RCV-01"):
        with site.transaction() as s:
            post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN1", to_bin=md.bin_by_code(s, "A-01-01"))
    with pytest.raises(InvariantViolation, match="Serial SN1 is in RCV-01"):
        with site.transaction() as s:
            post(s, actor, kind="move", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN1",
                 from_bin=md.bin_by_code(s, "A-01-01"), to_bin=md.bin_by_code(s, "A-01-02"))
    with site.transaction() as s:
        post(s, actor, kind="ship", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN1", from_bin=md.bin_by_code(s, "RCV-01"))
    with site.reading() as s:
        unit = s.scalars(select(SerialUnit)).one()
        assert unit.status == "shipped" and unit.bin_id is None
        assert run_checks(s).ok


def test_tracking_rules(site, actor):
    with site.transaction() as s:
        lotted, serial, plain = (md.item_by_sku(s, k) for k in ("LOTTED", "SERIAL", "PLAIN"))
        rcv = md.bin_by_code(s, "RCV-01")
        with pytest.raises(InvalidInput, match="lot-tracked"):
            post(s, actor, kind="receipt", item=lotted, qty=1, to_bin=rcv)
        with pytest.raises(InvalidInput, match="expiry"):
            post(s, actor, kind="receipt", item=lotted, qty=1, to_bin=rcv, lot=md.lot(s, lotted, "L1"))
        with pytest.raises(InvalidInput, match="one unit per serial"):
            post(s, actor, kind="receipt", item=serial, qty=2, serial="S9", to_bin=rcv)
        with pytest.raises(InvalidInput, match="not serial-tracked"):
            post(s, actor, kind="receipt", item=plain, qty=1, serial="S9", to_bin=rcv)
        post(s, actor, kind="receipt", item=lotted, qty=5, to_bin=rcv, lot=md.lot(s, lotted, "L2", dt.date(2027, 1, 31)))
        assert qty_in(s, "LOTTED", "RCV-01") == 5


def test_blocked_bin_refuses_stock(site, actor):
    with pytest.raises(NotAllowed, match="X-BLOCK is blocked"):
        with site.transaction() as s:
            post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=1, to_bin=md.bin_by_code(s, "X-BLOCK"))


def test_reserved_stock_cannot_be_moved_away(site, actor):
    with site.transaction() as s:
        item, a1, a2 = md.item_by_sku(s, "PLAIN"), md.bin_by_code(s, "A-01-01"), md.bin_by_code(s, "A-01-02")
        post(s, actor, kind="receipt", item=item, qty=5, to_bin=a1)
        s.scalars(select(Quant)).one().reserved = 4
    with pytest.raises(InvariantViolation, match="4 of PLAIN in A-01-01 are reserved"):
        with site.transaction() as s:
            post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=2, from_bin=md.bin_by_code(s, "A-01-01"), to_bin=md.bin_by_code(s, "A-01-02"))
    with site.transaction() as s:  # a pick consumes its own reservation
        post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=4, consume_reserved=4, from_bin=md.bin_by_code(s, "A-01-01"), to_bin=md.bin_by_code(s, "A-01-02"))
        assert s.scalars(select(Quant).where(Quant.bin_id == md.bin_by_code(s, "A-01-01").id)).one().reserved == 0


def test_lpn_moves_with_its_contents(site, actor):
    with site.transaction() as s:
        lpn = md.container(s, "LPN0001")
        rcv = md.bin_by_code(s, "RCV-01")
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=7, to_bin=rcv, to_container=lpn)
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, serial="SN7", to_bin=rcv, to_container=lpn)
    with site.transaction() as s:
        moved = move_container(s, actor, md.container(s, "LPN0001"), md.bin_by_code(s, "A-01-02"), kind="putaway")
        assert len(moved) == 2
    with site.reading() as s:
        assert qty_in(s, "PLAIN", "A-01-02") == 7 and qty_in(s, "SERIAL", "A-01-02") == 1
        assert run_checks(s).ok


def test_taking_a_totes_last_units_with_it_to_another_bin_moves_the_tote(site, actor):
    # Given a tote in RCV-01 holding 2 of PLAIN
    with site.transaction() as s:
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=2, to_bin=md.bin_by_code(s, "RCV-01"),
             to_container=md.container(s, "TOTE1", "tote"))

    # When both are moved, in the tote, to A-01-02: the take empties the tote where it stood
    with site.transaction() as s:
        tote, rcv, a2 = md.container(s, "TOTE1", create=False), md.bin_by_code(s, "RCV-01"), md.bin_by_code(s, "A-01-02")
        post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=2, from_bin=rcv, from_container=tote,
             to_bin=a2, to_container=tote)

    # Then the tote stands in A-01-02 with them
    with site.reading() as s:
        assert md.container(s, "TOTE1", create=False).bin_id == md.bin_by_code(s, "A-01-02").id
        assert qty_in(s, "PLAIN", "A-01-02") == 2 and qty_in(s, "PLAIN", "RCV-01") == 0
        assert run_checks(s).ok


def test_check_reports_a_quant_corrupted_behind_the_ledger(site, actor):
    with site.transaction() as s:
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=10, to_bin=md.bin_by_code(s, "RCV-01"))
    with site.transaction() as s:
        s.execute(text("UPDATE quants SET qty = 11"))
    with site.reading() as s:
        report = run_checks(s)
    assert not report.ok
    assert "PLAIN in RCV-01: quant says 11, movements sum to 10" in report.render()


def test_a_movement_posted_on_a_terminal_is_the_sessions_own_with_its_outbox_entry(site, actor):
    with site.transaction() as s:
        item, rcv = md.item_by_sku(s, "PLAIN"), md.bin_by_code(s, "RCV-01")

        # When a receipt is posted (on a terminal its row and outbox entry are written directly)
        movement = post(s, actor, kind="receipt", item=item, qty=3, to_bin=rcv, doc_ref="PO1")

        # Then the movement handed back is the session's row, numbered, reading like any loaded one
        assert s.get(Movement, movement.seq) is movement
        assert (movement.kind, movement.qty, movement.origin) == ("receipt", 3, "local")
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.uuid == movement.uuid)).one()
        assert (entry.kind, entry.payload["qty"], entry.payload["to_bin"]) == ("movement", 3, "RCV-01")


@pytest.mark.postgres
def test_a_movement_posted_on_an_upstream_is_announced_in_its_feed_and_queued_for_nobody(pg_url, actor):
    from warehouse_tui.db.engine import Database
    from warehouse_tui.db.models import ChangeFeed
    from warehouse_tui.sync import init_upstream

    # Given an upstream (the office posts there directly, e.g. a supervisor's approval)
    init_upstream(pg_url)
    upstream = Database(pg_url)
    try:
        with upstream.transaction() as s:
            md.add_bin(s, "RCV-01", kind="receiving", zone="DOCK")
            md.add_item(s, "PLAIN", gtins=["09501101530003"])
        with upstream.transaction() as s:
            # When a receipt is posted there
            movement = post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=2, to_bin=md.bin_by_code(s, "RCV-01"))
            seq = movement.seq

        # Then it is the upstream's own record: in its change feed, with no outbox entry to push anywhere
        with upstream.reading() as s:
            assert s.get(Movement, seq).origin == "upstream"
            assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 0
            assert s.scalar(select(func.count()).select_from(ChangeFeed).where(ChangeFeed.kind == "movement",
                                                                                ChangeFeed.ref_id == seq)) == 1
    finally:
        upstream.dispose()
