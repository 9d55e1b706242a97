"""Cartons, SSCCs and audit events in sync: what a packer does on a terminal reaches the upstream and the other
terminals; terminals packing offline never issue the same SSCC; a login on a terminal is audited upstream once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    AppliedEntry,
    AuditEvent,
    Carton,
    CartonLine,
    Container,
    OutboundOrder,
    PickList,
    SsccCounter,
    SsccRange,
    WarehouseException,
)
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import auth, packing, picking, waves
from warehouse_tui.services.check import run_checks
from warehouse_tui.demo import build_demo
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import DEFAULT_COMPANY_PREFIX, init_upstream, open_upstream, sync_once
from warehouse_tui.sync.sscc_leases import block_size

pytestmark = pytest.mark.postgres
PREFIX = DEFAULT_COMPANY_PREFIX


def actor(s, badge: str, terminal: str) -> Actor:
    return Actor(auth.find_operator(s, badge), terminal)


@pytest.fixture
def site(pg_url, tmp_path):
    """The demo warehouse upstream, two orders released upstream; returns (upstream, open_terminal)."""
    build_demo(pg_url)
    init_upstream(pg_url)
    upstream = open_upstream(pg_url)
    with upstream.transaction() as s:
        orders = _unserialised_orders(s)[:2]
        waves.release(s, actor(s, "S9001", "OFFICE"), orders, batch_size=1)
    terminals = []

    def open_terminal(name: str, path=None) -> Database:
        db = Database(path or tmp_path / f"{name}.sqlite")
        terminals.append(db)
        return db

    yield upstream, open_terminal, orders
    for db in terminals:
        db.dispose()
    upstream.dispose()


def _unserialised_orders(s) -> list[str]:
    """Demo orders none of whose items is serial-tracked (packing them needs no serial scans)."""
    from warehouse_tui.db.models import Item, OutboundLine

    serial = set(s.scalars(select(OutboundOrder.ref).join(OutboundLine).join(Item, Item.id == OutboundLine.item_id)
                           .where(Item.tracking == "serial")))
    return [r for r in s.scalars(select(OutboundOrder.ref).where(OutboundOrder.status == "new").order_by(OutboundOrder.ref))
            if r not in serial]


def pick_order(db: Database, order_ref: str, badge: str, terminal: str, tote: str) -> None:
    """A picker takes the order's list, puts it in a tote and picks every task in full."""
    with db.transaction() as s:
        ref = _list_of(s, order_ref)
        who = actor(s, badge, terminal)
        view = picking.claim(s, who, ref)
        if view.order_without_tote is not None:
            picking.assign_tote(s, who, ref, view.order_without_tote, tote)
    while True:
        with db.transaction() as s:
            who = actor(s, badge, terminal)
            task = picking.next_task(s, who, ref)
            if task is None:
                picking.finish(s, who, ref)
                return
            picking.confirm_pick(s, who, task.id, bin_code=task.bin_code, item_id=task.item_id,
                                 qty=task.qty - task.qty_picked, lot_code=task.lot_code)


def _list_of(s, order_ref: str) -> str:
    from warehouse_tui.db.models import PickListOrder

    return s.scalar(select(PickList.ref).join(PickListOrder, PickListOrder.pick_list_id == PickList.id)
                    .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id).where(OutboundOrder.ref == order_ref))


def pack_order(db: Database, order_ref: str, badge: str, terminal: str, *, ship: bool = True) -> str:
    """Pack every picked unit into one carton, close it at 2.5 kg; ship when asked. Returns the SSCC."""
    from warehouse_tui.db.models import OutboundLine

    with db.reading() as s:
        lines = s.execute(select(OutboundLine.item_id, OutboundLine.qty_picked - OutboundLine.qty_packed)
                          .join(OutboundOrder).where(OutboundOrder.ref == order_ref)).all()
    for item_id, qty in lines:
        with db.transaction() as s:
            goods = packing.check_goods(s, order_ref, item_id, qty=qty)
            lots = goods.lots or ((goods.lot,) if goods.lot else (None,))
        for lot in lots:
            with db.transaction() as s:
                packing.pack_units(s, actor(s, badge, terminal), order_ref=order_ref, item_id=item_id,
                                   qty=_in_totes(s, order_ref, item_id, lot, qty), lot_code=lot)
    with db.transaction() as s:
        label = packing.close_carton(s, actor(s, badge, terminal), order_ref=order_ref, weight="2.5", company_prefix=PREFIX)
    if ship:
        with db.transaction() as s:
            packing.ship_order(s, actor(s, badge, terminal), order_ref)
    return label.sscc


def _in_totes(s, order_ref, item_id, lot, wanted) -> int:
    from warehouse_tui.db.models import Lot, PickListOrder, Quant

    query = (select(func.coalesce(func.sum(Quant.qty), 0)).join(PickListOrder, PickListOrder.tote_id == Quant.container_id)
             .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
             .where(OutboundOrder.ref == order_ref, Quant.item_id == item_id))
    if lot is not None:
        query = query.join(Lot, Lot.id == Quant.lot_id).where(Lot.code == lot)
    return min(wanted, int(s.scalar(query)))


def cartons(db: Database) -> dict:
    """Every carton packed here as (container code) -> (order, sscc, weight, status, box status, box in a bin, sorted lines).

    The demo's own shipped carton (DEMO_RETURN_ORDER's, there to try returns on) is left out.
    """
    from warehouse_tui.demo import DEMO_RETURN_ORDER

    with db.reading() as s:
        out = {}
        for carton, code, box_status, box_bin, order in s.execute(
                select(Carton, Container.code, Container.status, Container.bin_id, OutboundOrder.ref)
                .join(Container, Container.id == Carton.container_id).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
                .where(OutboundOrder.ref != DEMO_RETURN_ORDER)):
            lines = sorted((ln.uuid, ln.qty, ln.serial) for ln in s.scalars(select(CartonLine).where(CartonLine.carton_id == carton.id)))
            out[code] = (order, carton.sscc, str(carton.weight_kg), carton.status, box_status, box_bin is not None, lines)
        return out


def test_a_carton_packed_on_one_terminal_reaches_the_upstream_and_the_other_terminal(site):
    upstream, open_terminal, orders = site
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    order = orders[0]

    # when T1 picks, packs and ships the order, then syncs, and T2 syncs after it
    pick_order(t1, order, "U1001", "T1", "TOTE-A")
    sscc = pack_order(t1, order, "U1001", "T1")
    assert sync_once(t1, upstream, "T1").push.conflict == 0
    sync_once(t2, upstream, "T2")

    # then all three hold the same shipped carton with its SSCC, weight and lines, the box gone from the warehouse
    mine = cartons(t1)
    assert len(mine) == 1
    (code, (ref, label, weight, status, box_status, in_bin, lines)), = mine.items()
    assert (ref, label, weight, status, box_status, in_bin) == (order, sscc, "2.500", "shipped", "shipped", False)
    assert lines and all(qty > 0 for _, qty, _ in lines)
    assert cartons(upstream) == mine
    assert cartons(t2) == mine
    for db in (t1, t2, upstream):
        with db.reading() as s:
            assert s.scalar(select(OutboundOrder.status).where(OutboundOrder.ref == order)) == "shipped"
            assert run_checks(s).ok


def test_terminals_packing_offline_with_one_prefix_issue_different_ssccs(site):
    upstream, open_terminal, orders = site
    t1, t2 = open_terminal("T1"), open_terminal("T2")
    # given both terminals synced once (each leases its own block of SSCC numbers)
    sync_once(t1, upstream, "T1")
    sync_once(t2, upstream, "T2")
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    pick_order(t2, orders[1], "U1001", "T2", "TOTE-B")

    # when both close a carton while offline
    a = pack_order(t1, orders[0], "U1001", "T1", ship=False)
    b = pack_order(t2, orders[1], "U1001", "T2", ship=False)

    # then their SSCCs differ, and after both sync the upstream holds both with no conflict
    assert a != b
    assert sync_once(t1, upstream, "T1").push.conflict == 0
    assert sync_once(t2, upstream, "T2").push.conflict == 0
    sync_once(t1, upstream, "T1")
    assert sorted(c[1] for c in cartons(upstream).values()) == sorted([a, b])
    assert cartons(t1) == cartons(t2) == cartons(upstream)
    # and the upstream's counter stands past both leases: the office's own next SSCC is neither
    with upstream.transaction() as s:
        assert s.get(SsccCounter, PREFIX).last_serial >= 2 * block_size(PREFIX)
        assert packing.allocate_sscc(s, PREFIX) not in (a, b)


def test_a_terminal_without_leased_numbers_refuses_to_close_a_carton_and_changes_nothing(site):
    upstream, open_terminal, orders = site
    t1 = open_terminal("T1")
    sync_once(t1, upstream, "T1")
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    with t1.transaction() as s:  # every leased number used up
        for block in s.scalars(select(SsccRange)):
            block.next_serial = block.last_serial + 1
    with pytest.raises(NotAllowed, match="sync with the upstream"):
        pack_order(t1, orders[0], "U1001", "T1", ship=False)
    with t1.reading() as s:
        mine = select(Carton).join(OutboundOrder, OutboundOrder.id == Carton.order_id).where(OutboundOrder.ref == orders[0])
        carton = s.scalars(mine).one()
        assert carton.status == "open"
        assert carton.sscc is None
    # and a sync leases a new block, after which the carton closes
    assert sync_once(t1, upstream, "T1").sscc_leased == block_size(PREFIX)
    with t1.transaction() as s:
        label = packing.close_carton(s, actor(s, "U1001", "T1"), order_ref=orders[0], weight="1.5", company_prefix=PREFIX)
    assert label.sscc


def test_a_sync_killed_between_the_lease_and_its_local_record_never_reuses_a_number(site, tmp_path):
    upstream, open_terminal, orders = site
    t1 = open_terminal("T1")
    t1.dispose()
    url = str(upstream.engine.url.render_as_string(hide_password=False))
    env = {**os.environ, "WAREHOUSE_SYNC_CRASH": "after_sscc_lease"}
    cmd = [sys.executable, "-c", "import sys; from warehouse_tui.cli import main; sys.exit(main())", "sync", "--db", str(tmp_path / "T1.sqlite"), "--upstream", url, "--terminal", "T1"]
    # when the first sync dies right after the upstream leased a block
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    with upstream.reading() as s:
        lost = s.execute(select(SsccRange.first_serial, SsccRange.last_serial).where(SsccRange.terminal == "T1")).one()
    t1 = open_terminal("T1b", tmp_path / "T1.sqlite")
    with t1.reading() as s:
        assert s.scalar(select(func.count()).select_from(SsccRange)) == 0
    # then the next sync leases a fresh block past it, and the terminal's first SSCC is not from the lost one
    sync_once(t1, upstream, "T1")
    with t1.reading() as s:
        first = s.scalar(select(SsccRange.first_serial))
    assert first > lost[1]
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    sscc = pack_order(t1, orders[0], "U1001", "T1", ship=False)
    assert int(sscc[1 + len(PREFIX):17]) + int(sscc[0]) * 10 ** (16 - len(PREFIX)) == first


def test_a_terminal_cloned_from_another_reuses_its_leases_and_the_second_sscc_becomes_a_conflict(site, tmp_path):
    upstream, open_terminal, orders = site
    t1 = open_terminal("T1")
    sync_once(t1, upstream, "T1")
    t1.dispose()
    # given T2's database restored from a copy of T1's (the same leased block on two terminals)
    shutil.copy(tmp_path / "T1.sqlite", tmp_path / "T2.sqlite")
    t1, t2 = open_terminal("T1x", tmp_path / "T1.sqlite"), open_terminal("T2", tmp_path / "T2.sqlite")
    pick_order(t1, orders[0], "U1001", "T1", "TOTE-A")
    pick_order(t2, orders[1], "U1001", "T2", "TOTE-B")
    a = pack_order(t1, orders[0], "U1001", "T1", ship=False)
    b = pack_order(t2, orders[1], "U1001", "T2", ship=False)
    assert a == b

    # when both sync
    assert sync_once(t1, upstream, "T1").push.conflict == 0
    result = sync_once(t2, upstream, "T2")

    # then the second carton's SSCC is a conflict for the supervisor (relabel), the carton itself is kept
    assert result.push.conflict == 1
    with upstream.reading() as s:
        assert s.scalar(select(func.count()).select_from(Carton).where(Carton.sscc == a)) == 1
        from warehouse_tui.demo import DEMO_RETURN_ORDER  # the demo's own shipped carton is not one of these

        assert s.scalar(select(func.count()).select_from(Carton).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
                        .where(OutboundOrder.ref != DEMO_RETURN_ORDER)) == 2
        detail = s.scalar(select(WarehouseException.detail).where(WarehouseException.kind == "sync_conflict"))
        assert f"SSCC {a}" in detail and "relabel" in detail
        assert run_checks(s).ok
    sync_once(t1, upstream, "T1")
    with t1.reading() as s:
        assert s.scalar(select(func.count()).select_from(WarehouseException).where(
            WarehouseException.kind == "sync_conflict", WarehouseException.status == "open")) == 1


def test_logins_on_a_terminal_are_audited_upstream_exactly_once(site):
    upstream, open_terminal, _ = site
    t1 = open_terminal("T1")
    sync_once(t1, upstream, "T1")
    with t1.transaction() as s:
        auth.audit(s, "login", operator=auth.find_operator(s, "U1001"), terminal="T1", detail="shift start")
        auth.audit(s, "login_failed", badge="U1001", terminal="T1", detail="wrong PIN")
    sync_once(t1, upstream, "T1")
    sync_once(t1, upstream, "T1")
    with upstream.reading() as s:
        rows = s.execute(select(AuditEvent.kind, AuditEvent.badge, AuditEvent.terminal, AuditEvent.detail, AuditEvent.operator_id)
                         .where(AuditEvent.terminal == "T1").order_by(AuditEvent.id)).all()
        assert [r[:4] for r in rows] == [("login", "U1001", "T1", "shift start"), ("login_failed", "U1001", "T1", "wrong PIN")]
        assert rows[0].operator_id == auth.find_operator(s, "U1001").id
        assert s.scalar(select(func.count()).select_from(AppliedEntry).where(AppliedEntry.terminal == "T1")) >= 1
