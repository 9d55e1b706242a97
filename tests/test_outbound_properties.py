"""Property test of the whole outbound flow with cycle counts in between, through the services only.

Random interleavings of receipts (receiving.receive_item), putaways, new orders,
waves, picks (claim, totes, pick, short, skip, finish), packing (pack units,
close a carton with a weight, ship) and cycle counts (create, claim, record,
close, a supervisor approving or rejecting the variance and other exceptions),
each in its own transaction on a real SQLite file. Many requests are wrong on
purpose (bad quantities, wrong lots, operators doing supervisors' work, weights
no scale gives); a refusal raises a WarehouseError and must change nothing.

After every step: `run_checks` holds; no order line has more shipped than
ordered, more packed than picked or more picked than ordered; no quant is
negative or reserved beyond what it holds; what lies in totes is exactly what
is picked and not packed, what lies in unshipped cartons exactly what is packed
and not shipped; every reserved unit is promised to one open pick task; and
units shipped per item never exceed the units ordered.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select, text

from test_waves import order
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    Container,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services import counting, packing, picking, putaway, receiving, supervisor, waves
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor

PREFIX = "0950110"
PO = "PO-PROP"
SKUS = ("PLAIN", "MILK")
MILK_LOTS = {"M1": dt.date(2030, 1, 31), "M2": dt.date(2031, 6, 30), "MX": dt.date(2020, 1, 1)}  # MX has expired
STOCK_BINS = ("A1", "R1", "A2")
COUNT_BINS = ("RCV", "A1", "R1", "A2", "PACK")
# Tables a refused operation must leave exactly as they were.
TABLES = ("quants", "movements", "serial_units", "containers", "inbound_lines", "inbound_orders", "outbound_orders",
          "outbound_lines", "pick_lists", "pick_list_orders", "pick_tasks", "cartons", "carton_lines", "sscc_counters",
          "count_tasks", "count_lines", "exceptions", "audit_events", "outbox")

ORDER_LINES = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=2, unique_by=lambda t: t[0])
LOT_CHOICE = st.sampled_from(["M1", "M1", "M2", "M2", "MX", None])


def actor(s, badge: str | None, terminal: str = "T1") -> Actor:
    if badge is None:
        return Actor(None, "CLI")
    return Actor(s.scalars(select(Operator).where(Operator.badge == badge)).one(), terminal)


@functools.cache
def _template() -> Path:
    """A migrated site with bins, items, lots, operators and an open PO, copied for each example."""
    folder = Path(tempfile.mkdtemp(prefix="outbound-prop-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(folder / "template.sqlite")
    with db.transaction() as s:
        for code, kind, seq in (("RCV", "receiving", 0), ("A1", "pick", 10), ("R1", "storage", 15), ("A2", "pick", 20),
                                ("PACK", "pack", 900), ("SHIP", "shipping", 950)):
            md.add_bin(s, code, kind=kind, pick_seq=seq)
        plain = md.add_item(s, "PLAIN")
        milk = md.add_item(s, "MILK", tracking="lot", expiry_required=True)
        md.add_item(s, "OTHER")  # not on the PO: receiving it is refused
        for code, expiry in MILK_LOTS.items():
            md.lot(s, milk, code, expiry)
        s.add_all([Operator(badge=b, name=b, role=r, pin_hash="-")
                   for b, r in (("U1", "operator"), ("U2", "operator"), ("U3", "operator"), ("SUP", "supervisor"))])
        po = InboundOrder(ref=PO, kind="po", supplier="ACME", status="open")
        s.add(po)
        s.flush()
        s.add_all([InboundLine(order_id=po.id, item_id=plain.id, qty_expected=100_000, qty_received=0),
                   InboundLine(order_id=po.id, item_id=milk.id, qty_expected=100_000, qty_received=0)])
    db.dispose()
    return folder / "template.sqlite"


class OutboundMachine(RuleBasedStateMachine):
    """Receive, put away, order, release, pick, pack, ship and count, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="outbound-prop-"))
        shutil.copy(_template(), self.dir / "warehouse.sqlite")
        self.db = Database(self.dir / "warehouse.sqlite", migrate=False)
        self.orders = 0
        self.totes = 0
        self.refresh()

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ running an operation

    def snapshot(self, s) -> tuple:
        return tuple(tuple(tuple(r) for r in s.execute(text(f"SELECT * FROM {t} ORDER BY 1"))) for t in TABLES)

    def attempt(self, name: str, operation) -> bool:
        """Run one operation in its own transaction; a refusal must leave every table as it was."""
        with self.db.reading() as s:
            before = self.snapshot(s)
        try:
            with self.db.transaction() as s:
                operation(s)
        except WarehouseError as exc:
            with self.db.reading() as s:
                assert self.snapshot(s) == before, f"refused {name} changed the database: {exc}"
            event(f"{name}: refused {type(exc).__name__}")
            self.refresh()
            return False
        event(f"{name}: done")
        self.refresh()
        return True

    def refresh(self) -> None:
        """What the database holds now, so rules run where they can do something."""
        with self.db.reading() as s:
            self.new_orders = s.scalar(select(func.count()).select_from(OutboundOrder).where(OutboundOrder.status == "new"))
            self.released = s.scalar(select(func.count()).select_from(PickList).where(PickList.status == "released"))
            self.picking = set(s.scalars(select(Operator.badge).join(PickList, PickList.claimed_by == Operator.id)
                                         .where(PickList.status == "picking")))
            self.packable = sorted(s.scalars(
                select(OutboundOrder.ref).join(OutboundLine, OutboundLine.order_id == OutboundOrder.id)
                .where(OutboundOrder.status.not_in(packing.CLOSED_STATES),
                       OutboundLine.qty_picked > OutboundLine.qty_packed).distinct()))
            self.packing = sorted(s.scalars(
                select(OutboundOrder.ref).join(OutboundLine, OutboundLine.order_id == OutboundOrder.id)
                .where(OutboundOrder.status.not_in(packing.CLOSED_STATES), OutboundLine.qty_packed > 0).distinct()))
            self.counting = s.scalar(select(CountTask.id).join(Operator, Operator.id == CountTask.claimed_by)
                                     .where(Operator.badge == "U3", CountTask.status.in_(counting.IN_HAND)).limit(1))
            self.counts_open = s.scalar(select(func.count()).select_from(CountTask).where(CountTask.status == "open"))
            self.exceptions = list(s.scalars(select(WarehouseException.id).where(WarehouseException.status == "open")
                                             .order_by(WarehouseException.id)))

    # ------------------------------------------------------------------ inbound

    @initialize(receipts=st.lists(st.tuples(st.sampled_from(SKUS), st.sampled_from(STOCK_BINS), st.integers(5, 20),
                                            st.sampled_from(["M1", "M2", "MX"])), min_size=2, max_size=5),
                orders=st.lists(ORDER_LINES, min_size=1, max_size=3), release=st.sampled_from([True, True, False]))
    def opening(self, receipts, orders, release):
        """Stock on the shelves and orders waiting; mostly a first wave released (so later steps reach packing)."""
        for sku, bin_code, qty, lot in receipts:
            self.receive(sku, bin_code, qty, lot, with_expiry=False)
        for lines in orders:
            self.new_order(lines)
        if release:
            self.attempt("wave", lambda s: waves.release(s, actor(s, "SUP"), None, None, 2))

    @rule(sku=st.sampled_from(SKUS + SKUS + ("OTHER",)), bin_code=st.sampled_from((None,) + STOCK_BINS),
          qty=st.sampled_from([1, 2, 3, 5, 8, 0, -1]), lot=LOT_CHOICE, with_expiry=st.booleans(),
          then=st.one_of(st.none(), st.tuples(st.sampled_from(STOCK_BINS + ("PACK",)), st.sampled_from([None, None, 1, 3, 50]))))
    def receive(self, sku, bin_code, qty, lot, with_expiry, then=None):
        """A receipt on the PO, into the dock or straight to a shelf; OTHER, bad qtys, missing or expired lots refused."""
        def op(s):
            receiving.receive_item(s, actor(s, "U1"), receipt_ref=PO, item_id=md.item_by_sku(s, sku).id, qty=qty,
                                   lot_code=lot if sku == "MILK" else None,
                                   expiry=MILK_LOTS.get(lot) if sku == "MILK" and with_expiry else None,
                                   bin_code=bin_code)
        self.attempt("receive", op)
        if then is not None:
            self.put_away(sku, lot, *then)

    def put_away(self, sku, lot, to_bin, qty):
        def op(s):
            putaway.putaway_item(s, actor(s, "U1"), item_id=md.item_by_sku(s, sku).id, from_bin_code="RCV",
                                 to_bin_code=to_bin, qty=qty, lot_code=lot if sku == "MILK" else None)
        self.attempt("putaway", op)

    # ------------------------------------------------------------------ orders, waves, picking

    @rule(lines=ORDER_LINES)
    def new_order(self, lines):
        self.orders += 1
        with self.db.transaction() as s:
            order(s, f"ORD-{self.orders}", lines)
        self.refresh()

    @precondition(lambda self: self.new_orders)
    @rule(badge=st.sampled_from(["SUP", "SUP", None, "U1"]), batch=st.integers(1, 3),
          limit=st.one_of(st.none(), st.integers(1, 3)))
    def wave(self, badge, batch, limit):
        self.attempt("wave", lambda s: waves.release(s, actor(s, badge), None, limit, batch))

    @precondition(lambda self: self.released or self.picking)
    @rule(badge=st.sampled_from(("U1", "U2")), qty=st.integers(0, 6),
          action=st.sampled_from(("pick all", "pick all", "pick all", "pick all", "pick", "short", "short", "skip", "finish",
                                  "finish", "wrong lot")))
    def pick(self, badge, action, qty):
        """A picker's next step: claim a list (with totes) when they have none, then act on its next task."""
        if badge not in self.picking:
            self.attempt("claim", lambda s: self._claim_with_totes(s, badge))
        self.attempt(action, lambda s: self._act(s, badge, action, qty))

    def _claim_with_totes(self, s, badge):
        view = picking.claim(s, actor(s, badge))
        while view.order_without_tote is not None:
            self.totes += 1
            view = picking.assign_tote(s, actor(s, badge), view.ref, view.order_without_tote, f"T-{self.totes}")

    def _act(self, s, badge, action, qty):
        ref = s.scalar(select(PickList.ref).join(Operator, Operator.id == PickList.claimed_by)
                       .where(Operator.badge == badge, PickList.status == "picking").limit(1))
        if ref is None:
            event(f"{action}: {badge} has no list")
            return
        task = picking.next_task(s, actor(s, badge), ref)
        if task is None or action == "finish":
            picking.finish(s, actor(s, badge), ref)
            event(f"{action}: list finished")
            return
        if action in ("pick all", "pick", "wrong lot"):
            lot = task.lot_code
            if action == "wrong lot":
                lot = "M2" if lot == "M1" else "M1"
            picking.confirm_pick(s, actor(s, badge), task.id, bin_code=task.bin_code, item_id=task.item_id,
                                 qty=task.remaining if action == "pick all" else qty, lot_code=lot)
            assert action != "wrong lot", f"picked lot {lot} for a task of lot {task.lot_code}"
        elif action == "short":
            # Mostly a real shortfall (fewer found than asked); 6 is often all of it or more: refused.
            picking.short(s, actor(s, badge), task.id, qty if qty == 6 else min(qty, task.remaining - 1))
        elif action == "skip":
            picking.skip(s, actor(s, badge), task.id)

    @precondition(lambda self: self.released or self.picking)
    @rule(badge=st.sampled_from(("U1", "U2")))
    def pick_whole_list(self, badge):
        """A picker walks a whole list: claim, every task picked in full (one transaction each), finish."""
        if badge not in self.picking:
            self.attempt("claim", lambda s: self._claim_with_totes(s, badge))
        for _ in range(12):
            if not self.attempt("pick all", lambda s: self._act(s, badge, "pick all", 0)):
                break
            if badge not in self.picking:
                break

    # ------------------------------------------------------------------ packing and shipping

    @precondition(lambda self: self.released or self.picking or self.packable)
    @rule()
    def shift_end(self):
        """Both pickers work their lists through, then every order with picked units is packed and shipped."""
        for badge in ("U1", "U2"):
            if self.released or badge in self.picking:
                self.pick_whole_list(badge)
        for ref in list(self.packable):
            self.pack_and_ship(ref)

    @precondition(lambda self: self.packable)
    @rule(data=st.data())
    def pack_and_ship_order(self, data):
        self.pack_and_ship(data.draw(st.sampled_from(self.packable)))

    def pack_and_ship(self, ref):
        """A packer clears an order: every picked unit packed (one transaction each), the carton closed, shipped."""
        for sku in SKUS:
            for lot in ("M1", "M2") if sku == "MILK" else (None,):
                self.pack_units(ref, sku, lot, "all")
        self.attempt("close carton", lambda s: packing.close_carton(s, actor(s, "U2", "PACK1"), order_ref=ref,
                                                                     weight="2.5", company_prefix=PREFIX))
        self.attempt("ship", lambda s: packing.ship_order(s, actor(s, "U2", "PACK1"), ref))

    @precondition(lambda self: self.packable)
    @rule(data=st.data(), lot=st.sampled_from([None, None, "M1", "M2"]), how=st.sampled_from(["all", "all", "one", "too many"]))
    def pack(self, data, lot, how):
        self.pack_units(data.draw(st.sampled_from(self.packable)), data.draw(st.sampled_from(SKUS)), lot, how)

    def pack_units(self, ref, sku, lot, how):
        def op(s):
            item = md.item_by_sku(s, sku)
            line = s.scalars(select(OutboundLine).join(OutboundOrder)
                             .where(OutboundOrder.ref == ref, OutboundLine.item_id == item.id)).first()
            left = max(1, line.qty_picked - line.qty_packed) if line is not None else 1
            if how == "all" and sku == "MILK" and lot:  # as many as the order's totes hold of that lot
                totes = packing.progress(s, ref).totes
                held = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0))
                                .join(Container, Container.id == Quant.container_id).where(
                                    Container.code.in_(totes), Quant.item_id == item.id,
                                    Quant.lot_id == md.lot(s, item, lot).id))
                left = max(1, min(left, held))
            qty = {"all": left, "one": 1, "too many": left + 1}[how]
            packing.pack_units(s, actor(s, "U2", "PACK1"), order_ref=ref, item_id=item.id, qty=qty,
                               lot_code=lot if sku == "MILK" else None)
        self.attempt("pack", op)

    @precondition(lambda self: self.packing)
    @rule(data=st.data(), weight=st.sampled_from(["1.25", "1.25", Decimal("7.5"), 3, "0", "-2", "abc", "1000.001", 1.0001]),
          ship=st.booleans())
    def close_carton_or_ship(self, data, weight, ship):
        """Close the open carton with a weight (some no scale gives), or try to ship (refused until all is packed)."""
        ref = data.draw(st.sampled_from(self.packing))
        if ship:
            self.attempt("ship", lambda s: packing.ship_order(s, actor(s, "U2", "PACK1"), ref))
        else:
            self.attempt("close carton", lambda s: packing.close_carton(s, actor(s, "U2", "PACK1"), order_ref=ref,
                                                                         weight=weight, company_prefix=PREFIX))

    # ------------------------------------------------------------------ cycle counts

    @rule(bins=st.lists(st.sampled_from(COUNT_BINS), min_size=1, max_size=3, unique=True), blind=st.booleans(),
          badge=st.sampled_from(["SUP", "SUP", "SUP", "U3"]))
    def create_counts(self, bins, blind, badge):
        self.attempt("count create", lambda s: supervisor.create_counts(s, actor(s, badge), bins=bins, blind=blind))

    def start_count(self, bin_code):
        """The counter takes the next open task, or scans a bin (an unplanned count when it has no task)."""
        if bin_code is None:
            self.attempt("count next", lambda s: counting.next_task(s, actor(s, "U3")))
        else:
            self.attempt("count bin", lambda s: counting.start_bin(s, actor(s, "U3"), bin_code))

    @precondition(lambda self: self.counting is None)
    @rule(bin_code=st.one_of(st.none(), st.sampled_from(COUNT_BINS)), off=st.sampled_from([0, 1, -1, -1, 3]),
          extra=st.booleans(), through=st.sampled_from([True, True, False]))
    def count_bin(self, bin_code, off, extra, through):
        """The counter takes the next task or scans a bin; then (`through`) counts every loose position (the first
        one off by `off`) and closes, and recounts alike; else leaves the count in hand for other steps to interleave."""
        self.start_count(bin_code)
        if not through or self.counting is None:
            return
        for _ in range(2):
            with self.db.reading() as s:
                task = s.get(CountTask, self.counting)
                positions = s.execute(select(Item.sku, Quant.lot_id).join(Item, Item.id == Quant.item_id).where(
                    Quant.bin_id == task.bin_id, Quant.container_id.is_(None), Quant.qty > 0).order_by(Quant.id)).all()
                positions = [(sku, s.scalar(text("SELECT code FROM lots WHERE id = :i"), {"i": lot_id}) if lot_id else None)
                             for sku, lot_id in positions]
            if extra:
                positions.append(("PLAIN", None))
            for n, (sku, lot) in enumerate(positions):
                self.record_count(sku, lot, off if n == 0 else 0)
            self.close_count()
            if self.counting is None:
                return

    @precondition(lambda self: self.counting is not None)
    @rule(sku=st.sampled_from(SKUS), lot=LOT_CHOICE, off=st.sampled_from([0, 0, 0, 1, -1, 2]))
    def record_count(self, sku, lot, off):
        """Count an item in the bin: what the books say, or a few more or less (a variance)."""
        task_id = self.counting

        def op(s):
            task = s.get(CountTask, task_id)
            item = md.item_by_sku(s, sku)
            lot_row = md.lot(s, item, lot) if sku == "MILK" and lot else None
            book = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).where(
                Quant.bin_id == task.bin_id, Quant.item_id == item.id, Quant.container_id.is_(None),
                Quant.lot_id == lot_row.id if lot_row else Quant.lot_id.is_(None)))
            counting.record(s, actor(s, "U3"), task_id, item_id=item.id, qty=book + off,
                            lot_code=lot if sku == "MILK" else None)
        self.attempt("count record", op)

    @precondition(lambda self: self.counting is not None)
    @rule()
    def close_count(self):
        task_id = self.counting
        self.attempt("count close", lambda s: counting.close_bin(s, actor(s, "U3"), task_id))

    @precondition(lambda self: self.exceptions)
    @rule(data=st.data(), decision=st.sampled_from(["approve", "approve", "reject", "reject without reason", "operator"]))
    def decide(self, data, decision):
        """A supervisor decides an open exception (a variance's approval posts the count); operators are refused."""
        exception_id = data.draw(st.sampled_from(self.exceptions))

        def op(s):
            if decision == "approve":
                supervisor.approve(s, actor(s, "SUP"), exception_id)
            elif decision == "operator":
                supervisor.approve(s, actor(s, "U1"), exception_id)
            else:
                supervisor.reject(s, actor(s, "SUP"), exception_id, "" if decision.endswith("reason") else "count again")
        self.attempt(f"decide {decision}", op)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def outbound_quantities_and_the_ledger_hold(self):
        with self.db.reading() as s:
            report = run_checks(s)
            assert report.ok, report.render()
            for line in s.scalars(select(OutboundLine)):
                state = (line.qty, line.qty_allocated, line.qty_picked, line.qty_packed, line.qty_shipped)
                assert 0 <= line.qty_shipped <= line.qty_packed <= line.qty_picked <= line.qty_allocated <= line.qty, state
            assert s.scalar(select(func.count()).select_from(Quant)
                            .where((Quant.qty < 0) | (Quant.reserved < 0) | (Quant.reserved > Quant.qty))) == 0
            # Totes hold what is picked and not packed; open and closed cartons what is packed and not shipped.
            def held_in(kind):
                return s.scalar(select(func.coalesce(func.sum(Quant.qty), 0))
                                .join(Container, Container.id == Quant.container_id).where(Container.kind == kind))

            in_totes, in_cartons = held_in("tote"), held_in("carton")
            picked, packed, shipped = s.execute(select(func.coalesce(func.sum(OutboundLine.qty_picked), 0),
                                                       func.coalesce(func.sum(OutboundLine.qty_packed), 0),
                                                       func.coalesce(func.sum(OutboundLine.qty_shipped), 0))).one()
            assert in_totes == picked - packed
            assert in_cartons == packed - shipped
            # Every reserved unit is promised to exactly one open pick task.
            open_qty = s.scalar(select(func.coalesce(func.sum(PickTask.qty - PickTask.qty_picked), 0))
                                .where(PickTask.status.in_(picking.TO_PICK)))
            assert s.scalar(select(func.coalesce(func.sum(Quant.reserved), 0))) == open_qty
            # Per item: units shipped (by the ledger and by the lines) never exceed units ordered.
            for item in s.scalars(select(Item)):
                ordered = s.scalar(select(func.coalesce(func.sum(OutboundLine.qty), 0)).where(OutboundLine.item_id == item.id))
                on_lines = s.scalar(select(func.coalesce(func.sum(OutboundLine.qty_shipped), 0))
                                    .where(OutboundLine.item_id == item.id))
                by_ledger = s.scalar(select(func.coalesce(func.sum(Movement.qty), 0))
                                     .where(Movement.item_id == item.id, Movement.kind == "ship"))
                assert by_ledger == on_lines <= ordered, (item.sku, by_ledger, on_lines, ordered)
            # A shipped order shipped every unit it ordered.
            for o in s.scalars(select(OutboundOrder).where(OutboundOrder.status == "shipped")):
                assert all(ln.qty_shipped == ln.qty for ln in o.lines), o.ref


OutboundMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
TestRandomOutboundAndCountsKeepQuantitiesConsistent = OutboundMachine.TestCase
