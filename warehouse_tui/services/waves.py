"""Waves: release new customer orders into pick lists, reserving the stock every pick will take.

`release` takes orders of status new — the ones named, or all of them by
priority (highest first, then oldest), at most `max_orders` — and allocates
their lines in that order, so a same-day order gets the stock before a normal
one. Allocation reserves units on the quants (`Quant.reserved`), so two pick
lists never promise the same units, and only ever takes free stock
(qty - reserved):

- loose stock only (not inside an LPN or tote): the picker scans bin, item, lot;
- only pickable bins: kind pick or storage, not blocked (never receiving,
  staging, pack, shipping, returns or quarantine: returned goods are put away
  first, damaged ones never picked);
- lots first-expiry-first-out; a lot whose expiry is before today is never
  allocated; lots without an expiry go oldest lot first;
- with equal expiry, a pick face before reserve storage, then walking order;
- the owner of the stock is the item's owner (3PL stock stays the client's);
- serial items are reserved by quantity in a bin (and lot): the picker may scan
  any serial in stock there;
- an item with a pick face (services/replenishment.py) is picked from its face
  only: what the face lacks is planned as replenishment tasks from storage
  (FEFO) that go first, and the pick tasks for it wait ("waiting for
  replenishment") until a move fills the face.

An order that cannot be fully allocated is released with what exists; the rest
is recorded as one `backorder` exception for the order (open, for a supervisor).
An order of which nothing at all can be allocated is not released: it stays new
and is reported as waiting for stock, so a later wave takes it when stock arrives.

The released orders are grouped into pick lists of `batch_size` orders (a batch
pick list: one tote per order on the picker's cart); a list's priority is its
highest order priority. Its tasks are numbered in walking order (bin pick_seq,
then bin code, item, lot), which is the order the picker is sent in.

Releasing is a supervisor's action: an actor with an operator must be a
supervisor; the command line (`warehouse-tui wave`) acts without an operator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Item,
    Lot,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import replenishment
from warehouse_tui.services.auth import audit, require_supervisor
from warehouse_tui.services.ledger import AVAILABLE, Actor

PICKABLE = (BinKind.PICK.value, BinKind.STORAGE.value)
# A cart with four totes: the orders one picker takes in one walk.
DEFAULT_BATCH_SIZE = 4
MAX_BATCH_SIZE = 50
# Gaps between task numbers leave room to defer a task without renumbering the rest.
SEQ_STEP = 10


@dataclass(frozen=True)
class ReleasedList:
    ref: str
    priority: int
    orders: tuple[str, ...]
    tasks: int


@dataclass(frozen=True)
class Backorder:
    order_ref: str
    sku: str
    ordered: int
    allocated: int

    @property
    def missing(self) -> int:
        return self.ordered - self.allocated


@dataclass
class WaveResult:
    pick_lists: list[ReleasedList] = field(default_factory=list)
    backorders: list[Backorder] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # orders with no stock at all: still new

    def render(self) -> str:
        """The summary `warehouse-tui wave` prints."""
        if not self.pick_lists and not self.waiting:
            return "No new orders to release."
        out = []
        if self.pick_lists:
            orders = sum(len(p.orders) for p in self.pick_lists)
            tasks = sum(p.tasks for p in self.pick_lists)
            out.append(f"Released {len(self.pick_lists)} pick list(s): {orders} order(s), {tasks} task(s)")
            for p in self.pick_lists:
                out.append(f"  {p.ref}  priority {p.priority}  {p.tasks} task(s)  {', '.join(p.orders)}")
        else:
            out.append("No pick list released.")
        if self.backorders:
            out.append(f"Backorders ({len(self.backorders)} line(s), exceptions for a supervisor):")
            for b in self.backorders:
                out.append(f"  {b.order_ref}  {b.sku}  {b.missing} of {b.ordered} missing")
        if self.waiting:
            out.append(f"Waiting for stock, not released: {', '.join(self.waiting)}")
        return "\n".join(out)


@dataclass(frozen=True)
class _Take:
    line: OutboundLine
    bin_id: int
    lot_id: int | None
    quant_id: int | None
    qty: int
    waiting: bool = False  # for a pick face a replenishment fills first


@dataclass
class _Allocation:
    order: OutboundOrder
    takes: list[_Take] = field(default_factory=list)
    short: list[Backorder] = field(default_factory=list)


def release(
    session: Session,
    actor: Actor,
    order_refs: list[str] | None = None,
    max_orders: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    today: dt.date | None = None,
) -> WaveResult:
    """Release orders into pick lists, reserving their stock; one transaction (the caller's).

    Raises NotAllowed (not a supervisor; a named order is not new), NotFound (a
    named order is unknown) and InvalidInput (a bad max_orders or batch_size);
    then nothing changes.
    """
    if actor.operator is not None:
        require_supervisor(actor.operator, "release a wave")
    if max_orders is not None and (isinstance(max_orders, bool) or not isinstance(max_orders, int) or max_orders < 1):
        raise InvalidInput(f"--max-orders must be a whole number of at least 1, not {max_orders!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidInput(f"Batch size must be 1 to {MAX_BATCH_SIZE} orders, not {batch_size!r}")
    today = today or clock.today()
    orders = _orders_to_release(session, order_refs, max_orders)

    result = WaveResult()
    allocations = []
    for order in orders:
        allocation = _allocate(session, actor, order, today)
        if not allocation.takes:
            result.waiting.append(order.ref)
            continue
        allocations.append(allocation)
        if allocation.short:
            result.backorders.extend(allocation.short)
            _record_backorder(session, actor, order, allocation.short)
    for start in range(0, len(allocations), batch_size):
        result.pick_lists.append(_make_pick_list(session, allocations[start:start + batch_size]))
    if result.pick_lists:
        audit(session, "wave_released", operator=actor.operator, terminal=actor.terminal,
              detail="; ".join(f"{p.ref}: {', '.join(p.orders)}" for p in result.pick_lists))
    session.flush()
    return result


def release_from_cli(db, order_refs: list[str] | None, max_orders: int | None, actor: Actor,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> str:
    """`warehouse-tui wave`: release in one transaction and return the summary to print.

    Raises WarehouseError (nothing released) for an unknown or already released
    order or a bad option.
    """
    refs = [r.strip() for r in order_refs if r.strip()] if order_refs is not None else None
    if order_refs is not None and not refs:
        raise InvalidInput("--orders names no order — give refs separated by commas")
    with db.transaction() as session:
        result = release(session, actor, refs, max_orders, batch_size)
    return result.render()


# --------------------------------------------------------------------------- which orders


def _orders_to_release(session: Session, order_refs: list[str] | None, max_orders: int | None) -> list[OutboundOrder]:
    by_priority = (OutboundOrder.priority.desc(), OutboundOrder.created_at, OutboundOrder.id)
    if order_refs is None:
        query = select(OutboundOrder).where(OutboundOrder.status == "new").order_by(*by_priority)
        if max_orders is not None:
            query = query.limit(max_orders)
        return list(session.scalars(query.with_for_update()))
    refs = list(dict.fromkeys(order_refs))
    found = {o.ref: o for o in session.scalars(select(OutboundOrder).where(OutboundOrder.ref.in_(refs)).with_for_update())}
    unknown = [r for r in refs if r not in found]
    if unknown:
        raise NotFound(f"Order(s) not known: {', '.join(unknown)} — nothing released")
    not_new = [f"{o.ref} is {o.status}" for o in found.values() if o.status != "new"]
    if not_new:
        raise NotAllowed(f"Only new orders can be released: {', '.join(not_new)} — nothing released")
    orders = sorted(found.values(), key=lambda o: (-o.priority, o.created_at, o.id))
    return orders[:max_orders] if max_orders is not None else orders


# --------------------------------------------------------------------------- allocation


def free_stock(session: Session, item: Item, today: dt.date) -> list[Quant]:
    """Quants the item may be allocated from, best first (see the module docstring), locked for update."""
    query = (
        select(Quant)
        .join(Bin, Bin.id == Quant.bin_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id)
        .where(
            Quant.item_id == item.id, Quant.owner_id == item.owner_id, Quant.container_id.is_(None),
            Quant.status == AVAILABLE, Quant.qty > Quant.reserved,
            Bin.kind.in_(PICKABLE), Bin.blocked.is_(False),
            or_(Quant.lot_id.is_(None), Lot.expiry.is_(None), Lot.expiry >= today),
        )
        .order_by(
            Lot.expiry.is_(None), Lot.expiry, Lot.id,
            case((Bin.kind == BinKind.PICK.value, 0), else_=1), Bin.pick_seq, Bin.code, Quant.id,
        )
        .with_for_update(of=Quant)
    )
    return list(session.scalars(query))


def _allocate(session: Session, actor: Actor, order: OutboundOrder, today: dt.date) -> _Allocation:
    allocation = _Allocation(order)
    for line in order.lines:
        need = line.qty - line.qty_allocated
        if need <= 0:
            continue
        item = session.get(Item, line.item_id)
        face = replenishment.face_of_item(session, item.id)
        # An item with a pick face is picked there: what the face lacks comes by replenishment first.
        stock = [q for q in free_stock(session, item, today) if face is None or q.bin_id == face.bin_id]
        for quant in stock:
            take = min(need, quant.qty - quant.reserved)
            quant.reserved += take
            line.qty_allocated += take
            allocation.takes.append(_Take(line, quant.bin_id, quant.lot_id, quant.id, take))
            need -= take
            if need == 0:
                break
        if need > 0 and face is not None:
            for task, take in replenishment.plan_for_wave(session, actor, face, need, today):
                line.qty_allocated += take
                allocation.takes.append(_Take(line, face.bin_id, task.lot_id, None, take, waiting=True))
                need -= take
        if need > 0:
            allocation.short.append(Backorder(order.ref, item.sku, line.qty, line.qty_allocated))
    session.flush()
    return allocation


def _record_backorder(session: Session, actor: Actor, order: OutboundOrder, short: list[Backorder]) -> None:
    detail = f"{order.ref} released short: " + ", ".join(f"{b.sku} {b.missing} of {b.ordered} missing" for b in short)
    session.add(WarehouseException(
        kind="backorder", ref=order.ref, detail=detail, status="open",
        created_by=actor.operator_id, terminal=actor.terminal,
        data={"order": order.ref, "lines": [{"sku": b.sku, "ordered": b.ordered, "allocated": b.allocated,
                                             "missing": b.missing} for b in short]},
    ))


# --------------------------------------------------------------------------- pick lists


def next_pick_list_ref(session: Session) -> str:
    n = (session.scalar(select(func.count()).select_from(PickList)) or 0) + 1
    while True:
        ref = f"PL-{n:05d}"
        if session.scalar(select(PickList.id).where(PickList.ref == ref)) is None:
            return ref
        n += 1


def _make_pick_list(session: Session, batch: list[_Allocation]) -> ReleasedList:
    pick_list = PickList(ref=next_pick_list_ref(session), priority=max(a.order.priority for a in batch), status="released")
    session.add(pick_list)
    session.flush()
    tasks = []
    for position, allocation in enumerate(batch):
        allocation.order.status = "released"
        session.add(PickListOrder(pick_list_id=pick_list.id, order_id=allocation.order.id))
        for take in allocation.takes:
            task = PickTask(pick_list_id=pick_list.id, order_line_id=take.line.id, item_id=take.line.item_id, bin_id=take.bin_id,
                            lot_id=take.lot_id, quant_id=take.quant_id, qty=take.qty, qty_picked=0, status="open",
                            waiting=take.waiting)
            tasks.append((task, position))
    bins = {b.id: b for b in session.scalars(select(Bin).where(Bin.id.in_({t.bin_id for t, _ in tasks})))}
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_({t.item_id for t, _ in tasks})))}
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_({t.lot_id for t, _ in tasks if t.lot_id})))}

    def walking_order(entry: tuple[PickTask, int]) -> tuple:
        task, position = entry
        bin_ = bins[task.bin_id]
        lot = lots.get(task.lot_id)
        return bin_.pick_seq, bin_.code, items[task.item_id].sku, lot.code if lot else "", position

    for n, (task, _) in enumerate(sorted(tasks, key=walking_order), start=1):
        task.seq = n * SEQ_STEP
        session.add(task)
    session.flush()
    return ReleasedList(pick_list.ref, pick_list.priority, tuple(a.order.ref for a in batch), len(tasks))
