"""Documents in sync: receipts counted from two terminals, pick lists claimed once, shorts and counts going up."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from test_picking import next_task, pick, release
from test_sync_core import CLOSED_PORT_URL, check_ok, stock
from test_waves import build_site, order
from test_waves import stock as opening_stock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import CountTask, InboundLine, InboundOrder, Item, Operator, PickList, PickTask, Quant, WarehouseException
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import picking, receiving
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import UpstreamUnavailable, init_upstream, open_upstream, sync_once

pytestmark = pytest.mark.postgres


class Warehouse:
    """The waves test site on a PostgreSQL upstream, with stock, a PO and two released pick lists; terminals on SQLite."""

    def __init__(self, url: str, tmp_path) -> None:
        init_upstream(url)
        self.url = url
        self.upstream = build_site(Database(url))
        with self.upstream.transaction() as s:
            opening_stock(s, "PLAIN", "A1", 10)
            opening_stock(s, "OTHER", "A2", 5)
            order(s, "ORD-1", [("PLAIN", 3)], priority=5)
            order(s, "ORD-2", [("PLAIN", 2), ("OTHER", 1)], priority=1)
            po = InboundOrder(ref="PO-1", kind="po", supplier="ACME")
            s.add(po)
            s.flush()
            s.add(InboundLine(order_id=po.id, item_id=md.item_by_sku(s, "OTHER").id, qty_expected=10))
        self.lists = release(self.upstream, batch_size=1)
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
def wh(pg_url, tmp_path):
    w = Warehouse(pg_url, tmp_path)
    yield w
    w.close()


def operator(s, badge: str, terminal: str) -> Actor:
    return Actor(s.scalars(select(Operator).where(Operator.badge == badge)).one(), terminal)


def begin(db: Database, badge: str, terminal: str, ref: str):
    """Claim a list on a terminal and put a tote on each of its orders."""
    with db.transaction() as s:
        view = picking.claim(s, operator(s, badge, terminal), ref)
        for slot in view.orders:
            view = picking.assign_tote(s, operator(s, badge, terminal), view.ref, slot.order_ref, f"TOTE-{terminal}-{slot.order_ref}")
        return view


def received(db: Database, ref: str) -> int:
    with db.reading() as s:
        return sum(line.qty_received for line in s.scalars(select(InboundLine).join(InboundOrder).where(InboundOrder.ref == ref)))


def reservations(db: Database) -> dict:
    with db.reading() as s:
        return {(sku, q.bin_id and s.get(md.Bin, q.bin_id).code): q.reserved
                for q, sku in s.execute(select(Quant, Item.sku).join(Item, Item.id == Quant.item_id).where(Quant.reserved > 0))}


def test_two_terminals_receiving_on_one_po_both_count(wh):
    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    for db, name, qty in ((t1, "T1", 4), (t2, "T2", 3)):
        with db.transaction() as s:
            item = md.item_by_sku(s, "OTHER")
            receiving.receive_item(s, operator(s, "U1", name), receipt_ref="PO-1", item_id=item.id, qty=qty, bin_code="RCV")
    wh.sync("T1"), wh.sync("T2"), wh.sync("T1")
    for db in (wh.upstream, t1, t2):
        assert received(db, "PO-1") == 7
    with t2.transaction() as s:
        receiving.close_receipt(s, operator(s, "U1", "T2"), "PO-1")
    wh.sync("T2"), wh.sync("T1")
    with t1.reading() as s:
        assert s.scalars(select(InboundOrder.status).where(InboundOrder.ref == "PO-1")).one() == "closed"
    for db in (wh.upstream, t1, t2):
        assert stock(db) == stock(wh.upstream)
        assert check_ok(db)


def test_released_pick_lists_come_down_with_their_reservations(wh):
    t1 = wh.terminal("T1")
    wh.sync("T1")
    with t1.reading() as s:
        assert sorted(s.scalars(select(PickList.ref))) == sorted(wh.lists)
        assert s.scalar(select(PickTask.id).where(PickTask.quant_id.is_(None))) is None
    assert reservations(t1) == reservations(wh.upstream) == {("PLAIN", "A1"): 5, ("OTHER", "A2"): 1}
    assert check_ok(t1)


def test_a_pick_list_claimed_and_picked_on_one_terminal_is_not_handed_to_another(wh):
    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    view = begin(t1, "U1", "T1", "ORD-2")
    pick(t1, "U1", next_task(t1, "U1", view.ref))  # the PLAIN task; OTHER is left to pick
    wh.sync("T1")
    wh.sync("T2")
    # then the upstream knows the claim and the progress, and T2 refuses the list to another operator
    with wh.upstream.reading() as s:
        pl = s.scalars(select(PickList).where(PickList.ref == view.ref)).one()
        assert (s.get(Operator, pl.claimed_by).badge, pl.claimed_terminal, pl.status) == ("U1", "T1", "picking")
        assert sorted(t.qty_picked for t in s.scalars(select(PickTask).where(PickTask.pick_list_id == pl.id))) == [0, 2]
    with pytest.raises(NotAllowed, match="being picked by U1"):
        with t2.transaction() as s:
            picking.claim(s, operator(s, "U2", "T2"), view.ref)
    assert reservations(t2) == reservations(t1) == reservations(wh.upstream) == {("PLAIN", "A1"): 3, ("OTHER", "A2"): 1}
    # and finishing it on T1 closes it everywhere
    pick(t1, "U1", next_task(t1, "U1", view.ref))
    with t1.transaction() as s:
        picking.finish(s, operator(s, "U1", "T1"), view.ref)
    wh.sync("T1"), wh.sync("T2")
    with t2.reading() as s:
        assert s.scalars(select(PickList.status).where(PickList.ref == view.ref)).one() == "done"
    for db in (wh.upstream, t1, t2):
        assert stock(db) == stock(wh.upstream)
        assert check_ok(db)


def test_a_pick_list_claimed_offline_on_two_terminals_is_one_conflict_and_nothing_is_lost(wh):
    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    ref = wh.lists[0]
    # both claim the same list while offline, and both pick a unit of it
    for db, badge, name in ((t1, "U1", "T1"), (t2, "U2", "T2")):
        view = begin(db, badge, name, ref)
        pick(db, badge, next_task(db, badge, view.ref, terminal=name), qty=1, terminal=name)
    with pytest.raises(UpstreamUnavailable):
        sync_once(t2, open_upstream(CLOSED_PORT_URL), "T2")
    wh.sync("T1")
    second = wh.sync("T2")
    assert second.push.conflict == 1
    wh.sync("T1")
    # then the claim stays with the first, both picks are booked, and the conflict is in every supervisor queue
    with wh.upstream.reading() as s:
        pl = s.scalars(select(PickList).where(PickList.ref == ref)).one()
        assert s.get(Operator, pl.claimed_by).badge == "U1"
        assert [t.qty_picked for t in s.scalars(select(PickTask).where(PickTask.pick_list_id == pl.id))] == [2]
    for db in (wh.upstream, t1, t2):
        with db.reading() as s:
            conflicts = s.scalars(select(WarehouseException).where(WarehouseException.kind == "sync_conflict")).all()
        assert len(conflicts) == 1
        assert "claimed twice: by U1 on T1 and by U2 on T2" in conflicts[0].detail
        assert stock(db) == stock(wh.upstream)
        assert check_ok(db)
    with t2.reading() as s:
        assert s.scalars(select(PickList.claimed_by).where(PickList.ref == ref)).one() == s.scalar(
            select(Operator.id).where(Operator.badge == "U1"))


def test_a_short_pick_sends_its_exception_and_count_task_up_and_to_every_terminal(wh):
    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    view = begin(t1, "U1", "T1", "ORD-1")
    task = next_task(t1, "U1", view.ref)
    with t1.transaction() as s:
        result = picking.short(s, operator(s, "U1", "T1"), task.id, 1)
    wh.sync("T1"), wh.sync("T2")
    for db in (wh.upstream, t2):
        with db.reading() as s:
            (short,) = s.scalars(select(WarehouseException).where(WarehouseException.kind == "short_pick")).all()
            assert short.data["missing"] == 2 and short.terminal == "T1"
            (count,) = s.scalars(select(CountTask)).all()
            assert count.status == "open" and s.get(md.Bin, count.bin_id).code == "A1"
    # the short released ORD-1's reservation everywhere; ORD-2's list keeps its own
    assert reservations(wh.upstream) == reservations(t1) == reservations(t2) == {("PLAIN", "A1"): 2, ("OTHER", "A2"): 1}
    with t1.reading() as s:
        assert s.get(WarehouseException, result.exception_id).uuid == short.uuid
    for db in (wh.upstream, t1, t2):
        assert stock(db) == stock(wh.upstream)
        assert check_ok(db)


def test_a_lockout_at_a_terminal_goes_up_and_a_supervisors_unlock_comes_down(wh):
    from warehouse_tui.services import auth

    t1 = wh.terminal("T1")
    with wh.upstream.transaction() as s:
        s.scalars(select(Operator).where(Operator.badge == "U1")).one().pin_hash = auth.hash_pin("1234")
    wh.sync("T1")
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises((auth.InvalidInput, auth.NotAllowed)):
            auth.attempt_login(t1, "U1", "0000", "T1")
    wh.sync("T1")
    with wh.upstream.transaction() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U1")).one()
        assert op.locked is True
        op.locked, op.failed_logins = False, 0
    wh.sync("T1")
    assert auth.attempt_login(t1, "U1", "1234", "T1").badge == "U1"


def test_documents_changed_before_a_terminal_ever_synced_are_not_queued(tmp_path):
    # a plain local database (demo, tests) writes no document entries: only a terminal does
    db = build_site(Database(tmp_path / "plain.sqlite"))
    with db.transaction() as s:
        order(s, "ORD-9", [("PLAIN", 1)])
    with db.reading() as s:
        from warehouse_tui.db.models import OutboxEntry

        assert s.scalars(select(OutboxEntry)).all() == []
    db.dispose()


def test_receiving_on_a_po_closed_upstream_is_kept_and_reported(wh):
    t1 = wh.terminal("T1")
    wh.sync("T1")
    with wh.upstream.transaction() as s:
        s.scalars(select(InboundOrder).where(InboundOrder.ref == "PO-1")).one().status = "closed"
    with t1.transaction() as s:
        item = md.item_by_sku(s, "OTHER")
        receiving.receive_item(s, operator(s, "U1", "T1"), receipt_ref="PO-1", item_id=item.id, qty=2, bin_code="RCV")
    result = wh.sync("T1")
    assert result.push.conflict == 1 and result.push.applied == 1  # the movement is booked; the document change conflicts
    assert received(wh.upstream, "PO-1") == 2
    with wh.upstream.reading() as s:
        (conflict,) = s.scalars(select(WarehouseException).where(WarehouseException.kind == "sync_conflict")).all()
        assert "receipt PO-1 was closed upstream" in conflict.detail
    assert stock(t1) == stock(wh.upstream)


def test_a_count_created_upstream_is_counted_on_a_terminal_and_its_variance_approved_upstream(wh):
    from warehouse_tui.services import count_tasks, counting, supervisor

    with wh.upstream.transaction() as s:
        count_tasks.create_counts(s, operator(s, "SUP", "UP"), bins=["A2"], blind=True)
    t1 = wh.terminal("T1")
    wh.sync("T1")
    # the operator counts 4 OTHER in A2 (the books say 5) twice: a variance for the supervisor
    with t1.transaction() as s:
        view = counting.next_task(s, operator(s, "U1", "T1"))
        other = md.item_by_sku(s, "OTHER").id
    for _ in range(2):
        with t1.transaction() as s:
            counting.record(s, operator(s, "U1", "T1"), view.task_id, item_id=other, qty=4)
            closed = counting.close_bin(s, operator(s, "U1", "T1"), view.task_id)
    assert closed.outcome == "review"
    wh.sync("T1")
    with wh.upstream.reading() as s:
        (task,) = s.scalars(select(CountTask)).all()
        assert (task.status, task.attempt, s.get(Operator, task.claimed_by).badge) == ("review", 2, "U1")
        (variance,) = s.scalars(select(WarehouseException).where(WarehouseException.kind == "variance")).all()
        assert variance.data["count_task"] == task.id  # the upstream's own id for the terminal's task
    # the supervisor approves upstream; the adjustment comes down
    with wh.upstream.transaction() as s:
        supervisor.approve(s, operator(s, "SUP", "UP"), variance.id)
    wh.sync("T1")
    assert ("OTHER", "A2", None, None, None, "MAIN", "available", 4) in stock(t1)
    with t1.reading() as s:
        assert s.scalars(select(CountTask.status)).one() == "approved"
        assert s.scalars(select(WarehouseException.status).where(WarehouseException.kind == "variance")).one() == "approved"
    for db in (wh.upstream, t1):
        assert stock(db) == stock(wh.upstream)
        assert check_ok(db)


def test_an_online_claim_is_taken_upstream_first_so_a_second_terminal_is_told_no_before_any_work(wh):
    from warehouse_tui.sync.claims import PROVISIONAL, TAKEN, claim_upstream
    from warehouse_tui.sync.worker import SyncWorker

    t1, t2 = wh.terminal("T1"), wh.terminal("T2")
    wh.sync("T1"), wh.sync("T2")
    ref = wh.lists[0]
    w1, w2 = SyncWorker(t1, wh.url, "T1"), SyncWorker(t2, wh.url, "T2")
    w1.run_once(), w2.run_once()
    assert w1.claim("pick_list", ref, "U1") == TAKEN
    with pytest.raises(NotAllowed, match="being worked by U1 on T1"):
        w2.claim("pick_list", ref, "U2")  # T2 has not pulled the claim yet: the upstream says no
    assert claim_upstream(wh.link, "pick_list", "PL-99999", "U2", "T2") == PROVISIONAL
    begin(t1, "U1", "T1", ref)  # the local claim; its push changes nothing upstream
    assert wh.sync("T1").push.conflict == 0
    offline = SyncWorker(t2, CLOSED_PORT_URL, "T2")
    offline.run_once()
    assert offline.claim("pick_list", wh.lists[1], "U2") == PROVISIONAL
    for w in (w1, w2, offline):
        w.stop()
