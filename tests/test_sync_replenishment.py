"""Replenishment in sync: faces and tasks come down, moves and claims go up, two replenishers never share a task."""

from __future__ import annotations

import pytest
from fixture_dates import ahead
from sqlalchemy import select

from test_picking import next_task, pick
from test_sync_core import CLOSED_PORT_URL, check_ok, stock
from test_sync_documents import begin, operator, reservations
from test_waves import build_site, order
from test_waves import stock as opening_stock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Item, Lot, Operator, PickFace, PickTask, Quant, ReplenTask, WarehouseException
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import picking, replenishment, waves
from warehouse_tui.services.importing import import_bytes
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import UpstreamUnavailable, init_upstream, open_upstream, sync_once

pytestmark = pytest.mark.postgres
CLI = Actor(None, "CLI")


class Site:
    """Face A1 (PLAIN, min 2 max 10) holds 3 and S1 30 on a PostgreSQL upstream; ORD-1 wants 7: its wave waits for 7 → A1."""

    def __init__(self, url: str, tmp_path) -> None:
        init_upstream(url)
        self.url = url
        self.upstream = build_site(Database(url))
        with self.upstream.transaction() as s:
            md.add_bin(s, "S1", kind="storage", pick_seq=100)
        import_bytes(self.upstream, "pickfaces", b"bin,sku,min,max\nA1,PLAIN,2,10\n", CLI)
        with self.upstream.transaction() as s:
            opening_stock(s, "PLAIN", "A1", 3)
            opening_stock(s, "PLAIN", "S1", 30)
            opening_stock(s, "MILK", "A2", 4, lot="M-A", expiry=ahead(30))
            opening_stock(s, "MILK", "A2", 4, lot="M-B", expiry=ahead(30))
            order(s, "ORD-1", [("PLAIN", 7)])
            order(s, "ORD-2", [("MILK", 3)])
            waves.release(s, CLI, ["ORD-1", "ORD-2"], batch_size=1)
        self.tmp_path = tmp_path
        self.terminals: dict[str, Database] = {}
        self.link = open_upstream(url)

    def terminal(self, name: str) -> Database:
        if name not in self.terminals:
            self.terminals[name] = Database(self.tmp_path / f"{name}.sqlite")
        return self.terminals[name]

    def sync(self, name: str):
        return sync_once(self.terminal(name), self.link, name)

    def close(self) -> None:
        for db in (self.upstream, self.link, *self.terminals.values()):
            db.dispose()


@pytest.fixture
def site(pg_url, tmp_path):
    s = Site(pg_url, tmp_path)
    yield s
    s.close()


def tasks(db):
    with db.reading() as s:
        return [(t.qty, t.qty_moved, t.status, s.get(Operator, t.claimed_by).badge if t.claimed_by else None)
                for t in s.scalars(select(ReplenTask).order_by(ReplenTask.created_at, ReplenTask.uuid))]


def take(db, badge, terminal):
    with db.transaction() as s:
        return replenishment.next_task(s, operator(s, badge, terminal))


def move(db, view, badge, terminal, qty):
    with db.transaction() as s:
        return replenishment.move(s, operator(s, badge, terminal), view.id, face_code=view.to_bin, qty=qty, item_id=view.item_id,
                                  lot_code=view.lot_code)


def waiting(db):
    with db.reading() as s:
        return s.scalar(select(PickTask.id).where(PickTask.waiting.is_(True))) is not None


def test_faces_tasks_and_waiting_picks_come_down_with_the_source_reserved(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    with t1.reading() as s:
        face = s.scalars(select(PickFace)).one()
        assert (face.min_qty, face.max_qty) == (2, 10)
    assert tasks(t1) == tasks(site.upstream) == [(7, 0, "open", None)]
    assert waiting(t1)
    assert reservations(t1) == reservations(site.upstream) == {("PLAIN", "A1"): 3, ("PLAIN", "S1"): 7, ("MILK", "A2"): 3}
    assert check_ok(t1)


def test_a_move_on_one_terminal_releases_the_picks_everywhere(site):
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    job = take(t1, "U1", "T1")
    move(t1, job, "U1", "T1", 7)
    site.sync("T1"), site.sync("T2")
    for db in (site.upstream, t1, t2):
        assert tasks(db) == [(7, 7, "done", "U1")]
        assert not waiting(db)
        assert reservations(db) == {("PLAIN", "A1"): 7, ("MILK", "A2"): 3}
        assert stock(db) == stock(site.upstream)
        assert check_ok(db)
    # the picker on T2 picks the released task
    view = begin(t2, "U2", "T2", "ORD-1")
    for _ in range(2):
        pick(t2, "U2", next_task(t2, "U2", view.ref, terminal="T2"), terminal="T2")
    site.sync("T2")
    with site.upstream.reading() as s:
        assert sorted(t.qty_picked for t in s.scalars(select(PickTask).join(Item).where(Item.sku == "PLAIN"))) == [3, 4]
    assert check_ok(site.upstream)


def test_an_online_claim_is_taken_upstream_so_a_second_replenisher_is_told_no(site):
    from warehouse_tui.sync.claims import TAKEN
    from warehouse_tui.sync.worker import SyncWorker

    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    uuid = tasks_uuid(site.upstream)
    w1, w2 = SyncWorker(t1, site.url, "T1"), SyncWorker(t2, site.url, "T2")
    w1.run_once(), w2.run_once()
    try:
        assert w1.claim("replen_task", uuid, "U1") == TAKEN
        with pytest.raises(NotAllowed, match="Replenishment RP-.* is being worked by U1 on T1"):
            w2.claim("replen_task", uuid, "U2")
    finally:
        w1.stop(), w2.stop()


def tasks_uuid(db):
    with db.reading() as s:
        return s.scalars(select(ReplenTask.uuid)).one()


def test_a_task_taken_offline_on_two_terminals_is_one_conflict_and_both_moves_are_kept(site):
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    for db, badge, name in ((t1, "U1", "T1"), (t2, "U2", "T2")):
        job = take(db, badge, name)
        move(db, job, badge, name, 3)
    with pytest.raises(UpstreamUnavailable):
        sync_once(t2, open_upstream(CLOSED_PORT_URL), "T2")
    site.sync("T1")
    assert site.sync("T2").push.conflict == 1
    site.sync("T1")
    assert tasks(site.upstream) == [(7, 6, "open", "U1")]  # the claim stays with the first; both moves booked
    for db in (site.upstream, t1, t2):
        with db.reading() as s:
            conflict = s.scalars(select(WarehouseException).where(WarehouseException.kind == "sync_conflict")).one()
        assert "claimed twice: by U1 on T1 and by U2 on T2" in conflict.detail
        assert stock(db) == stock(site.upstream)
        assert check_ok(db)


def test_a_task_raised_by_a_pick_on_a_terminal_goes_up_and_to_the_other_terminal(site):
    t1, t2 = site.terminal("T1"), site.terminal("T2")
    with site.upstream.transaction() as s:  # the wave's task done upstream: the face holds 10
        job = replenishment.next_task(s, operator(s, "U2", "HQ"))
        replenishment.move(s, operator(s, "U2", "HQ"), job.id, face_code="A1", qty=7, item_id=job.item_id)
    site.sync("T1"), site.sync("T2")
    view = begin(t1, "U1", "T1", "ORD-1")
    for _ in range(2):
        pick(t1, "U1", next_task(t1, "U1", view.ref))  # 7 picked: 3 left, at or below min? no (min 2)
    assert len(tasks(t1)) == 1
    site.sync("T1")
    with site.upstream.transaction() as s:
        order(s, "ORD-3", [("PLAIN", 1)])
        waves.release(s, CLI, ["ORD-3"])
    site.sync("T1")
    view = begin(t1, "U1", "T1", "ORD-3")
    pick(t1, "U1", next_task(t1, "U1", view.ref))  # 2 left: at min
    assert [t[:3] for t in tasks(t1)] == [(7, 7, "done"), (8, 0, "open")]
    site.sync("T1"), site.sync("T2")
    for db in (site.upstream, t2):
        assert [t[:3] for t in tasks(db)] == [(7, 7, "done"), (8, 0, "open")]
        assert reservations(db).get(("PLAIN", "S1")) == 8
        assert check_ok(db)


def test_a_lot_changed_at_the_face_moves_the_reservation_upstream_too(site):
    t1 = site.terminal("T1")
    site.sync("T1")
    view = begin(t1, "U1", "T1", "ORD-2")
    task = next_task(t1, "U1", view.ref)
    assert task.lot_code == "M-A"
    with t1.transaction() as s:
        picking.change_lot(s, operator(s, "U1", "T1"), task.id, "M-B")
    site.sync("T1")
    with site.upstream.reading() as s:
        lot = s.scalars(select(Lot.code).join(PickTask, PickTask.lot_id == Lot.id).join(Item).where(Item.sku == "MILK")).one()
        assert lot == "M-B"
    assert reservations(site.upstream)[("MILK", "A2")] == 3
    with site.upstream.reading() as s:
        by_lot = dict(s.execute(select(Lot.code, Quant.reserved).join(Quant, Quant.lot_id == Lot.id)).all())
    assert by_lot == {"M-A": 0, "M-B": 3}
    assert check_ok(site.upstream) and check_ok(t1)


def test_a_full_tote_goes_up_and_to_the_other_terminal_so_pack_finds_the_order_there(site):
    from warehouse_tui.db.models import FullTote
    from warehouse_tui.services import packing

    t1, t2 = site.terminal("T1"), site.terminal("T2")
    site.sync("T1"), site.sync("T2")
    view = begin(t1, "U1", "T1", "ORD-2")  # 3 MILK into TOTE-T1-ORD-2
    pick(t1, "U1", next_task(t1, "U1", view.ref), qty=1)
    with t1.transaction() as s:
        picking.tote_full(s, operator(s, "U1", "T1"), view.ref, "ORD-2", "TOTE-NEW")
    pick(t1, "U1", next_task(t1, "U1", view.ref))
    site.sync("T1"), site.sync("T2")
    for db in (site.upstream, t2):
        with db.reading() as s:
            assert len(s.scalars(select(FullTote)).all()) == 1
            assert packing.order_for_packing(s, "TOTE-T1-ORD-2").ref == packing.order_for_packing(s, "TOTE-NEW").ref == "ORD-2"
        assert stock(db) == stock(site.upstream)
        assert check_ok(db)
