"""@FULL during a pick: the order's tote is closed full, a new one takes the rest, and pack takes the totes in any order."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_picking import actor, next_task, pick, release, start
from test_waves import build_site, order, stock

from warehouse_tui.db.models import AuditEvent, FullTote
from warehouse_tui.errors import InvalidInput, NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import packing, picking
from warehouse_tui.services.check import run_checks


@pytest.fixture
def half_picked(db):
    """ORD-1 wants 5 PLAIN (A1) and 2 OTHER (A3); 3 PLAIN are picked into TOTE-A."""
    build_site(db)
    with db.transaction() as s:
        stock(s, "PLAIN", "A1", 10)
        stock(s, "OTHER", "A3", 10)
        order(s, "ORD-1", [("PLAIN", 5), ("OTHER", 2)])
        order(s, "ORD-2", [("OTHER", 1)])
    release(db, "ORD-1", "ORD-2", batch_size=1)
    start(db, "U1", "ORD-1", totes=["TOTE-A"])
    start(db, "U2", "ORD-2", totes=["TOTE-Z"])
    pick(db, "U1", next_task(db, "U1", "PL-00001"), qty=3)
    return db


def full(db, code, badge="U1", ref="PL-00001", order_ref="ORD-1"):
    with db.transaction() as s:
        return picking.tote_full(s, actor(s, badge), ref, order_ref, code)


def test_a_full_tote_stays_the_orders_and_a_new_one_takes_the_rest(half_picked):
    view = full(half_picked, "TOTE-B")
    assert [(o.order_ref, o.tote_code) for o in view.orders] == [("ORD-1", "TOTE-B")]
    task = next_task(half_picked, "U1", "PL-00001")
    assert task.tote_code == "TOTE-B" and task.remaining == 2
    pick(half_picked, "U1", task)
    pick(half_picked, "U1", next_task(half_picked, "U1", "PL-00001"))
    with half_picked.reading() as s:
        assert s.scalar(select(AuditEvent.detail).where(AuditEvent.kind == "tote_full")) == "ORD-1 on PL-00001: TOTE-A full, goes on in TOTE-B"
        assert len(s.scalars(select(FullTote)).all()) == 1
    with half_picked.transaction() as s:
        picking.finish(s, actor(s, "U1"), "PL-00001")
    # pack: either tote finds the order, and units come from both
    with half_picked.reading() as s:
        assert packing.order_for_packing(s, "TOTE-B").ref == packing.order_for_packing(s, "TOTE-A").ref == "ORD-1"
        assert packing.progress(s, "ORD-1").totes == ("TOTE-A", "TOTE-B")
    with half_picked.transaction() as s:
        packing.pack_units(s, actor(s, "U1"), order_ref="ORD-1", item_id=md.item_by_sku(s, "PLAIN").id, qty=5)
        packing.pack_units(s, actor(s, "U1"), order_ref="ORD-1", item_id=md.item_by_sku(s, "OTHER").id, qty=2)
    with half_picked.reading() as s:
        assert run_checks(s).ok


def test_full_is_refused_for_an_empty_tote_the_same_tote_and_a_tote_in_use(half_picked):
    with pytest.raises(InvalidInput, match="TOTE-A is the full tote — scan a new, empty tote"):
        full(half_picked, "TOTE-A")
    with pytest.raises(NotAllowed, match="Tote TOTE-Z is in use for ORD-2 on PL-00002"):
        full(half_picked, "TOTE-Z")
    full(half_picked, "TOTE-B")
    with pytest.raises(NotAllowed, match="Tote TOTE-B is empty — keep picking into it"):
        full(half_picked, "TOTE-C")
    # the full tote cannot be handed to another order
    with pytest.raises(NotAllowed, match="Tote TOTE-A is not empty"):
        with half_picked.transaction() as s:
            picking.assign_tote(s, actor(s, "U2"), "PL-00002", "ORD-2", "TOTE-A")
