"""Carriers and tracking numbers in sync: an order's carrier comes down from the upstream, a carton's tracking number goes up,
and one carrier label scanned on two terminals for two cartons is a conflict that keeps it off the second carton."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from warehouse_tui.db.models import Carton, Container, OutboundOrder, WarehouseException
from warehouse_tui.services import carton_tracking
from warehouse_tui.sync import sync_once
from tests.test_sync_cartons import actor, pack_order, pick_order, site  # noqa: F401  (site is a fixture)

pytestmark = pytest.mark.postgres
UPS = "1Z879E930346834440"


def tracking_by_carton(db) -> dict[str, str | None]:
    with db.reading() as s:
        return dict(s.execute(select(Container.code, Carton.tracking).join(Carton, Carton.container_id == Container.id)).all())


def code_of(db, sscc: str) -> str:
    with db.reading() as s:
        return s.scalar(select(Container.code).join(Carton, Carton.container_id == Container.id).where(Carton.sscc == sscc))


def test_one_carrier_label_on_two_terminals_is_a_conflict_and_stays_on_the_first_carton(site):  # noqa: F811
    upstream, open_terminal, orders = site
    with upstream.transaction() as s:
        for order in s.scalars(select(OutboundOrder).where(OutboundOrder.ref.in_(orders))):
            order.carrier, order.service = "ups", "ground"
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    with t2.reading() as s:  # the carrier came down with the order
        assert set(s.execute(select(OutboundOrder.carrier, OutboundOrder.service).where(OutboundOrder.ref.in_(orders)))) == {("ups", "ground")}

    # given both terminals close a carton offline and scan the same UPS label on it
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    pick_order(t2, orders[1], "U1001", "T2", "TOTE-B")
    a = code_of(t1, pack_order(t1, orders[0], "U1001", "T1", ship=False))
    b = code_of(t2, pack_order(t2, orders[1], "U1001", "T2", ship=False))
    for db, code, terminal in ((t1, a, "T1"), (t2, b, "T2")):
        with db.transaction() as s:
            carton_tracking.record(s, actor(s, "U1001", terminal), code, UPS)

    # when both sync
    assert sync_once(t1, upstream, "T1").push.conflict == 0
    assert sync_once(t2, upstream, "T2").push.conflict == 1
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")

    # then the number is on the first carton only, everywhere, and the supervisor is told about the second
    for db in (upstream, t1, t2):
        got = tracking_by_carton(db)
        assert (got[a], got[b]) == (UPS, None)
    with upstream.reading() as s:
        details = [e.detail for e in s.scalars(select(WarehouseException).where(WarehouseException.kind == "sync_conflict"))]
    assert any(f"Tracking {UPS} of carton {b}" in d for d in details)


def test_one_clients_stock_moved_on_a_terminal_stays_that_clients_upstream_and_on_the_other_terminal(pg_url, tmp_path):
    """Two clients with the same SKU in one bin: a terminal's move of one client's units moves none of the other's."""
    from warehouse_tui.db.engine import Database
    from warehouse_tui.db.models import Bin, Owner, Quant
    from warehouse_tui.services import masterdata as md
    from warehouse_tui.services.ledger import Actor, post
    from warehouse_tui.services.putaway import move_stock
    from warehouse_tui.sync import init_upstream, open_upstream

    init_upstream(pg_url)
    upstream = open_upstream(pg_url)
    with upstream.transaction() as s:
        a1, a2 = md.add_bin(s, "A-01", kind="pick"), md.add_bin(s, "A-02", kind="pick")
        acme = md.add_item(s, "WIDGET", owner_code="ACME", aliases=["ACME-W"])
        beta = md.add_item(s, "WIDGET", owner_code="BETA", aliases=["BETA-W"])
        post(s, Actor(None, "OFFICE"), kind="receipt", item=acme, qty=4, to_bin=a1)
        post(s, Actor(None, "OFFICE"), kind="receipt", item=beta, qty=6, to_bin=a1)
    t1, t2 = Database(tmp_path / "T1.sqlite"), Database(tmp_path / "T2.sqlite")
    try:
        sync_once(t1, upstream, "T1")
        sync_once(t2, upstream, "T2")
        with t1.transaction() as s:
            move_stock(s, Actor(None, "T1"), item_id=md.item_by_sku(s, "WIDGET", "ACME").id, from_bin_code="A-01",
                       to_bin_code="A-02", qty=4)
        assert sync_once(t1, upstream, "T1").push.conflict == 0
        sync_once(t2, upstream, "T2")

        def stock(db):
            with db.reading() as s:
                return sorted(s.execute(select(Owner.code, Bin.code, Quant.qty).join(Owner, Owner.id == Quant.owner_id)
                                        .join(Bin, Bin.id == Quant.bin_id).where(Quant.qty != 0)).all())

        assert stock(upstream) == stock(t1) == stock(t2) == [("ACME", "A-02", 4), ("BETA", "A-01", 6)]
    finally:
        t1.dispose()
        t2.dispose()
        upstream.dispose()
