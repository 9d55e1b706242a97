"""3PL clients (owners): one client's stock never serves another's order, move or count; exports and the activity
report give one client's figures; an owner that does not exist is refused."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from warehouse_tui import clock
from warehouse_tui.db.models import CountLine, Item, Operator, OutboundLine, OutboundOrder, Owner, Quant
from warehouse_tui.errors import InvalidInput, InvariantViolation, WarehouseError
from warehouse_tui.services import counting, exporting, reports, waves
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.services.putaway import move_stock

PIN_HASH = hash_pin("1234")


@pytest.fixture
def site(db):
    """Two clients, ACME and BETA, each with its own WIDGET; BETA's 10 in A-01, ACME's 3 in A-02 (and BETA's 5 there too)."""
    with db.transaction() as s:
        md.add_bin(s, "A-01", kind="pick", zone="A", pick_seq=1)
        md.add_bin(s, "A-02", kind="pick", zone="A", pick_seq=2)
        md.add_bin(s, "A-03", kind="storage", zone="A", pick_seq=3)
        acme = md.add_item(s, "WIDGET", owner_code="ACME", aliases=["ACME-WIDGET"])
        beta = md.add_item(s, "WIDGET", owner_code="BETA", aliases=["BETA-WIDGET"])
        setup = Actor(None, "SETUP")
        post(s, setup, kind="receipt", item=beta, qty=10, to_bin=md.bin_by_code(s, "A-01"))
        post(s, setup, kind="receipt", item=acme, qty=3, to_bin=md.bin_by_code(s, "A-02"))
        post(s, setup, kind="receipt", item=beta, qty=5, to_bin=md.bin_by_code(s, "A-02"))
        s.add_all([Operator(badge="U1", name="U1", role="operator", pin_hash=PIN_HASH),
                   Operator(badge="S1", name="S1", role="supervisor", pin_hash=PIN_HASH)])
    return db


def item(s, owner: str):
    return md.item_by_sku(s, "WIDGET", owner)


def quants(db) -> dict[tuple[str, str], tuple[int, int]]:
    with db.reading() as s:
        rows = s.execute(select(Quant.owner_id, Quant.bin_id, Quant.qty, Quant.reserved)).all()
        return {(s.get(Owner, o).code, md_bin(s, b)): (q, r) for o, b, q, r in rows if q}


def md_bin(s, bin_id):
    from warehouse_tui.db.models import Bin

    return s.get(Bin, bin_id).code


def test_a_wave_never_reserves_another_clients_stock(site):
    with site.transaction() as s:
        order = OutboundOrder(ref="ACME-1", status="new")
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=item(s, "ACME").id, qty=8))
    with site.transaction() as s:
        waves.release(s, Actor(None, "OFFICE"), ["ACME-1"])
    with site.reading() as s:
        line = s.scalars(select(OutboundLine)).one()
        assert line.qty_allocated == 3  # ACME's 3 only, though BETA holds 15 WIDGETs
    assert quants(site) == {("BETA", "A-01"): (10, 0), ("ACME", "A-02"): (3, 3), ("BETA", "A-02"): (5, 0)}


def test_a_move_of_one_clients_item_takes_none_of_anothers(site, db):
    with pytest.raises(InvariantViolation), site.transaction() as s:
        move_stock(s, Actor(None, "T1"), item_id=item(s, "ACME").id, from_bin_code="A-01", to_bin_code="A-03", qty=1)
    with site.transaction() as s:
        move_stock(s, Actor(None, "T1"), item_id=item(s, "ACME").id, from_bin_code="A-02", to_bin_code="A-03", qty=3)
    assert quants(site) == {("BETA", "A-01"): (10, 0), ("ACME", "A-03"): (3, 0), ("BETA", "A-02"): (5, 0)}


def test_a_count_of_a_shared_bin_keeps_each_clients_stock_apart(site):
    with site.reading() as s:
        u1 = Actor(s.scalars(select(Operator).where(Operator.badge == "U1")).one(), "T1")
        s.expunge(u1.operator)
    with site.transaction() as s:
        task = counting.start_bin(s, u1, "A-02")
        counting.record(s, u1, task.task_id, item_id=item(s, "ACME").id, qty=3)
        counting.record(s, u1, task.task_id, item_id=item(s, "BETA").id, qty=4)
    with site.transaction() as s:
        result = counting.close_bin(s, u1, task.task_id)
    # BETA's 5 counted as 4 is BETA's variance alone; ACME's 3 matches
    with site.reading() as s:
        lines = {(s.get(Item, ln.item_id).owner.code, ln.expected, ln.counted)
                 for ln in s.scalars(select(CountLine).where(CountLine.task_id == task.task_id))}
    assert lines == {("ACME", 3, 3), ("BETA", 5, 4)}
    assert result.outcome in ("recount", "review")


def export(db, kind, owner):
    out = io.StringIO()
    with db.reading() as s:
        exporting.export(s, kind, "json", out, owner=owner)
    return json.loads(out.getvalue())


def test_exports_for_one_owner_hold_only_that_clients_rows(site):
    assert {(r["owner"], r["bin"], r["qty"]) for r in export(site, "stock", "ACME")} == {("ACME", "A-02", 3)}
    assert {r["to_bin"] for r in export(site, "ledger", "BETA")} == {"A-01", "A-02"}
    assert len(export(site, "ledger", "BETA")) == 2
    assert export(site, "shipments", "ACME") == []


def test_an_owner_that_does_not_exist_is_refused_naming_the_known_ones(site):
    with pytest.raises(InvalidInput, match="Owner 'NOPE' does not exist — the owners are ACME, BETA"):
        export(site, "stock", "NOPE")
    with pytest.raises(InvalidInput, match="--owner is for"):
        export(site, "serials", "ACME")


def activity(db, owner=None, start=None, end=None):
    out = io.StringIO()
    with db.reading() as s:
        reports.run(s, "activity", reports.options(owner, start, end), "json", out)
    return json.loads(out.getvalue())


def test_activity_report_gives_each_clients_day(site):
    today = clock.utcnow().date().isoformat()
    rows = activity(site, start=today)
    by_owner = {r["owner"]: r for r in rows}
    assert set(by_owner) == {"ACME", "BETA"} and all(r["date"] == today for r in rows)
    assert (by_owner["BETA"]["received_units"], by_owner["BETA"]["received_lines"], by_owner["BETA"]["bin_days"]) == (15, 2, 2)
    assert (by_owner["ACME"]["received_units"], by_owner["ACME"]["received_lines"], by_owner["ACME"]["bin_days"]) == (3, 1, 1)
    assert [r["owner"] for r in activity(site, "ACME", today)] == ["ACME"]


def test_activity_report_counts_storage_on_days_without_moves(site):
    today = clock.utcnow().date()
    later = (today + dt.timedelta(days=2)).isoformat()
    rows = activity(site, "BETA", (today + dt.timedelta(days=1)).isoformat(), later)
    assert [(r["date"], r["received_units"], r["bin_days"]) for r in rows] == [
        ((today + dt.timedelta(days=1)).isoformat(), 0, 2), (later, 0, 2)]


def test_activity_report_refuses_bad_days_and_owners(site):
    with pytest.raises(InvalidInput, match="--from"):
        reports.options(None, "2026-13-01", None)
    with pytest.raises(InvalidInput, match="after"):
        reports.options(None, "2026-12-02", "2026-12-01")
    with pytest.raises(WarehouseError, match="does not exist"):
        activity(site, "NOPE")
    with pytest.raises(InvalidInput, match="no report"):
        with site.reading() as s:
            reports.run(s, "nope", reports.options(None, None, None), "csv", io.StringIO())
