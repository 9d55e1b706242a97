"""Returns in sync: an RMA comes down to two terminals; what each receives back (receipts, return/scrap movements, the
close) reaches the upstream exactly once and the other terminal; an unplanned return made offline goes up with its flag."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import AppliedEntry, Movement, ReturnLine, ReturnOrder, ReturnReceipt, WarehouseException
from warehouse_tui.services import auth, exporting, returns
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.demo import DEMO_RETURN_ORDER, DEMO_RMA, build_demo
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import init_upstream, open_upstream, sync_once
from warehouse_tui.sync.push import pending_count

pytestmark = pytest.mark.postgres


@pytest.fixture
def site(pg_url, tmp_path):
    """The demo warehouse as a PostgreSQL upstream (shipped ORD-20001 and its RMA-30001), terminals T1 and T2 synced once."""
    build_demo(pg_url)
    init_upstream(pg_url)
    upstream = open_upstream(pg_url)
    terminals = {name: Database(tmp_path / f"{name}.sqlite") for name in ("T1", "T2")}
    for name, db in terminals.items():
        sync_once(db, upstream, name)
    yield upstream, terminals
    for db in terminals.values():
        db.dispose()
    upstream.dispose()


def grade(db: Database, terminal: str, sku: str, grade: str, *, serial: str | None = None, reason: str | None = None, ref=DEMO_RMA):
    with db.transaction() as s:
        who = Actor(auth.find_operator(s, "U1001"), terminal)
        returns.receive_return(s, who, ref=ref, item_id=md.item_by_sku(s, sku).id, qty=1, grade=grade, serial=serial, reason=reason)


def picture(db: Database) -> dict:
    """What every database must agree on about the return."""
    with db.reading() as s:
        ret = s.scalars(select(ReturnOrder).where(ReturnOrder.ref == DEMO_RMA)).one()
        return {
            "status": ret.status,
            "lines": sorted((line.uuid, line.qty_expected, line.qty_received) for line in
                            s.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id))),
            "receipts": sorted((r.uuid, r.grade, r.qty, r.serial, r.reason, r.terminal) for r in s.scalars(select(ReturnReceipt))),
            "movements": sorted((m.uuid, m.kind) for m in s.scalars(select(Movement).where(Movement.kind.in_(("return", "scrap"))))),
            "stock": sorted(r for r in exporting.rows(s, "stock") if r[1] in ("RET-01", "QUA-01")),
            "serials": sorted(r for r in exporting.rows(s, "serials") if r[0] == "LAPTOP-14"),
        }


def test_two_terminals_receive_one_rma_and_every_database_agrees_exactly_once(site):
    upstream, t = site
    assert picture(t["T1"])["lines"] == picture(upstream)["lines"]  # the RMA came down
    with t["T2"].reading() as s:
        laptop_serial = s.scalars(select(ReturnLine.serial).where(ReturnLine.serial.is_not(None))).one()

    grade(t["T1"], "T1", "MUG-300", "good", reason="NOFIT")
    grade(t["T2"], "T2", "LAPTOP-14", "damaged", serial=laptop_serial, reason="DOA")
    for name in ("T1", "T2", "T1", "T2"):
        sync_once(t[name], upstream, name)

    up = picture(upstream)
    assert [g for _u, g, *_ in up["receipts"]] and sorted(g for _u, g, *_ in up["receipts"]) == ["damaged", "good"]
    assert [k for _u, k in up["movements"]] == ["return", "return"]
    assert [q for *_, q in up["lines"]] == [1, 1]
    assert ("LAPTOP-14", laptop_serial, None, "QUA-01", None, "quarantined") in up["serials"]
    assert picture(t["T1"]) == picture(t["T2"]) == up
    for db in (upstream, *t.values()):
        with db.reading() as s:
            assert run_checks(s).ok

    # T1 closes it: closed everywhere; syncing again sends nothing twice
    with t["T1"].transaction() as s:
        returns.close_return(s, Actor(auth.find_operator(s, "U1001"), "T1"), DEMO_RMA)
    with upstream.reading() as s:
        applied = s.scalar(select(func.count()).select_from(AppliedEntry))
    for name in ("T1", "T2", "T1", "T2"):
        sync_once(t[name], upstream, name)
    assert picture(upstream)["status"] == picture(t["T2"])["status"] == "closed"
    assert picture(t["T1"]) == picture(t["T2"]) == picture(upstream)
    with upstream.reading() as s:
        # the close is one document entry (status and its audit event), applied once; nothing else went up again
        assert s.scalar(select(func.count()).select_from(AppliedEntry)) == applied + 1
        assert s.scalar(select(func.count()).select_from(AppliedEntry).where(AppliedEntry.outcome != "applied")) == 0
    for db in t.values():
        with db.reading() as s:
            assert pending_count(s) == 0


def test_an_unplanned_return_made_offline_goes_up_flagged_and_comes_down_to_the_other_terminal(site):
    upstream, t = site
    with t["T1"].transaction() as s:
        who = Actor(auth.find_operator(s, "U1001"), "T1")
        # close the RMA first (short: a supervisor decides), so the order number opens a new, unplanned return
        returns.close_return(s, who, DEMO_RMA)
        boss = auth.find_operator(s, "S9001")
        returns.close_by_supervisor(s, Actor(boss, "T1"), DEMO_RMA)
        ref = returns.open_return(s, who, DEMO_RETURN_ORDER).ref
    grade(t["T1"], "T1", "MUG-300", "scrap", ref=ref)
    for name in ("T1", "T2"):
        sync_once(t[name], upstream, name)
    for db in (upstream, t["T2"]):
        with db.reading() as s:
            ret = s.scalars(select(ReturnOrder).where(ReturnOrder.ref == ref)).one()
            assert (ret.kind, ret.status) == ("unplanned", "open")
            flag = s.scalars(select(WarehouseException).where(WarehouseException.kind == returns.UNPLANNED)).one()
            assert flag.ref == ref and flag.status == "open"
            assert [m.kind for m in s.scalars(select(Movement).where(Movement.doc_ref == ref).order_by(Movement.at, Movement.kind))] \
                in (["return", "scrap"], ["scrap", "return"])
            assert s.scalars(select(ReturnOrder).where(ReturnOrder.ref == DEMO_RMA)).one().status == "closed"
            assert run_checks(s).ok
