"""Documents in sync: inbound and outbound orders (with their cartons), pick lists, count tasks, exceptions,
operators' lock state, and (up only) audit events.

Down (pull): the upstream's document as it is, by natural keys — order refs,
pick list refs, and uuids for rows a terminal may also create (lines, tasks,
count tasks and lines, exceptions). A terminal replaces its copy with it, except
for a document it changed itself and has not pushed yet: its own change goes up
first and comes back merged. After a pick list comes down, the reservations of
the quants its tasks name are set to what the open tasks still need.

Up (push): what an operator changes in a document leaves through the outbox
like a movement, in the same transaction: a session hook on every terminal
database (`capture`) turns each flush's changes into field operations, written
at commit as one outbox entry of kind "document":

- add: counters (received, picked, packed, shipped, allocated) travel as
  differences, so two terminals receiving on one PO both count;
- set: states and values (a list done, a task skipped, a count closed);
- create / delete: rows a terminal makes (a blind receipt and its lines, an
  unexpected lot's line, a count task, count lines, an exception, a carton and
  its lines, an audit event) or drops;
- claim: who took a pick list or a count task. Upstream, a claim on a document
  nobody holds (or the same operator holds) is taken; one held by another
  operator stays theirs and the entry's outcome is a conflict: a double claim
  made offline becomes a `sync_conflict` exception for the supervisor, while
  the work done under it (movements, counts) is kept.

Upstream (`apply_document_entry`), the operations are applied in order to the
rows found by natural key; a change to a document the upstream already closed
is applied too and reported as a conflict (the physical work happened).

Cartons are found by their container's code, carton lines by uuid. An SSCC is
unique: one that reaches the upstream already on another carton (possible only
for a terminal that issued SSCCs before it first synced; synced terminals use
leased blocks, sync/sscc.py) is kept off the second carton and reported as a
conflict so someone relabels it. Audit events are appended upstream once and
never come back down.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, delete, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    CountLine,
    FullTote,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    Lot,
    Operator,
    OutboundLine,
    OutboundOrder,
    OutboxEntry,
    Owner,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    ReplenTask,
    WarehouseException,
    new_uuid,
    quant_key,
    utcnow,
)
from warehouse_tui.sync import feed
from warehouse_tui.sync import replenishment as replen_sync
from warehouse_tui.sync.booking import parse_time

_INFO_KEY = "warehouse_doc_ops"
TO_PICK = ("open", "skipped")
CLOSED = {"inbound": {"closed"}, "outbound": {"shipped", "cancelled"}, "pick_list": {"done"},
          "count_task": {"closed", "approved", "rejected"}, "exception": {"approved", "rejected"},
          "replen_task": {"done", "short"}}


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _kg(value) -> str | None:
    """A weight as text: Decimal does not survive JSON, and float would round it."""
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# =========================================================================== down: snapshots (upstream side)


def _badges(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    return dict(session.execute(select(Operator.id, Operator.badge).where(Operator.id.in_(ids))).all()) if ids else {}


def _item_keys(session, ids) -> dict[int, tuple[str, str]]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {i: (owner, sku) for i, sku, owner in session.execute(
        select(Item.id, Item.sku, Owner.code).join(Owner, Owner.id == Item.owner_id).where(Item.id.in_(ids)))}


def inbound_snapshots(session: Session, ids) -> list[dict]:
    lines = defaultdict(list)
    rows = session.execute(select(InboundLine).where(ids.of(InboundLine.order_id)).order_by(InboundLine.id)).scalars().all()
    items = _item_keys(session, [r.item_id for r in rows])
    for r in rows:
        owner, sku = items[r.item_id]
        lines[r.order_id].append({"uuid": r.uuid, "owner": owner, "sku": sku, "qty_expected": r.qty_expected,
                                  "qty_received": r.qty_received, "lot": r.lot, "expiry": _iso(r.expiry)})
    return [{"ref": o.ref, "kind": o.kind, "supplier": o.supplier, "status": o.status, "created_at": _iso(o.created_at),
             "closed_at": _iso(o.closed_at), "lines": lines[o.id]}
            for o in session.execute(select(InboundOrder).where(ids.of(InboundOrder.id))).scalars()]


def outbound_snapshots(session: Session, ids) -> list[dict]:
    lines = defaultdict(list)
    rows = session.execute(select(OutboundLine).where(ids.of(OutboundLine.order_id)).order_by(OutboundLine.id)).scalars().all()
    items = _item_keys(session, [r.item_id for r in rows])
    for r in rows:
        owner, sku = items[r.item_id]
        lines[r.order_id].append({"uuid": r.uuid, "owner": owner, "sku": sku, "qty": r.qty, "qty_allocated": r.qty_allocated,
                                  "qty_picked": r.qty_picked, "qty_packed": r.qty_packed, "qty_shipped": r.qty_shipped})
    cartons = _carton_snapshots(session, ids)
    return [{"ref": o.ref, "channel": o.channel, "ship_to": o.ship_to, "priority": o.priority, "status": o.status,
             "created_at": _iso(o.created_at), "lines": lines[o.id], "cartons": cartons[o.id]}
            for o in session.execute(select(OutboundOrder).where(ids.of(OutboundOrder.id))).scalars()]


def _carton_snapshots(session: Session, ids) -> dict[int, list[dict]]:
    """The orders' cartons by order id, each with its lines, named by container code and line uuids."""
    by_order: dict[int, list[dict]] = defaultdict(list)
    cartons = session.execute(select(Carton, Container.code).join(Container, Container.id == Carton.container_id)
                              .where(ids.of(Carton.order_id)).order_by(Carton.id)).all()
    if not cartons:
        return by_order
    rows = session.execute(select(CartonLine, OutboundLine.uuid, Lot.code, Lot.expiry)
                           .join(OutboundLine, OutboundLine.id == CartonLine.order_line_id).outerjoin(Lot, Lot.id == CartonLine.lot_id)
                           .where(CartonLine.carton_id.in_([c.id for c, _ in cartons])).order_by(CartonLine.id)).all()
    items = _item_keys(session, [r.item_id for r, *_ in rows])
    lines = defaultdict(list)
    for r, line_uuid, lot, expiry in rows:
        owner, sku = items[r.item_id]
        lines[r.carton_id].append({"uuid": r.uuid, "line": line_uuid, "owner": owner, "sku": sku, "lot": lot,
                                   "expiry": _iso(expiry), "serial": r.serial, "qty": r.qty})
    for c, code in cartons:
        by_order[c.order_id].append({"code": code, "sscc": c.sscc, "weight_kg": _kg(c.weight_kg), "status": c.status,
                                     "closed_at": _iso(c.closed_at), "lines": lines[c.id]})
    return by_order


def pick_list_snapshots(session: Session, ids) -> list[dict]:
    lists = session.execute(select(PickList).where(ids.of(PickList.id))).scalars().all()
    slots = session.execute(
        select(PickListOrder.pick_list_id, OutboundOrder.ref, Container.code, Container.kind)
        .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id).outerjoin(Container, Container.id == PickListOrder.tote_id)
        .where(ids.of(PickListOrder.pick_list_id)).order_by(PickListOrder.id)).all()
    tasks = session.execute(select(PickTask, OutboundLine.uuid, Bin.code, Lot.code, Lot.expiry)
                            .join(OutboundLine, OutboundLine.id == PickTask.order_line_id).join(Bin, Bin.id == PickTask.bin_id)
                            .outerjoin(Lot, Lot.id == PickTask.lot_id).where(ids.of(PickTask.pick_list_id)).order_by(PickTask.id)).all()
    items = _item_keys(session, [t.item_id for t, *_ in tasks])
    badges = _badges(session, [p.claimed_by for p in lists])
    full = defaultdict(list)  # (list id, order ref) -> the totes it filled (@FULL)
    for list_id, order, code, kind in session.execute(
            select(PickListOrder.pick_list_id, OutboundOrder.ref, Container.code, Container.kind)
            .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id).join(FullTote, FullTote.pick_list_order_id == PickListOrder.id)
            .join(Container, Container.id == FullTote.tote_id).where(ids.of(PickListOrder.pick_list_id)).order_by(FullTote.id)):
        full[(list_id, order)].append({"code": code, "kind": kind})
    by_list = defaultdict(lambda: {"orders": [], "tasks": []})
    for list_id, order, tote, tote_kind in slots:
        by_list[list_id]["orders"].append({"order": order, "tote": tote, "tote_kind": tote_kind, "full": full[(list_id, order)]})
    for t, line_uuid, bin_code, lot_code, expiry in tasks:
        owner, sku = items[t.item_id]
        by_list[t.pick_list_id]["tasks"].append({"uuid": t.uuid, "line": line_uuid, "owner": owner, "sku": sku, "bin": bin_code,
                                                 "lot": lot_code, "expiry": _iso(expiry), "qty": t.qty, "qty_picked": t.qty_picked,
                                                 "seq": t.seq, "status": t.status, "waiting": bool(t.waiting)})
    return [{"ref": p.ref, "priority": p.priority, "status": p.status, "claimed_by": badges.get(p.claimed_by),
             "claimed_terminal": p.claimed_terminal, "created_at": _iso(p.created_at), **by_list[p.id]} for p in lists]


def count_task_snapshots(session: Session, ids) -> list[dict]:
    tasks = session.execute(select(CountTask, Bin.code).join(Bin, Bin.id == CountTask.bin_id).where(ids.of(CountTask.id))).all()
    lines = session.execute(select(CountLine, Lot.code, Lot.expiry, Container.code, Container.kind).outerjoin(Lot, Lot.id == CountLine.lot_id)
                            .outerjoin(Container, Container.id == CountLine.container_id)
                            .where(ids.of(CountLine.task_id)).order_by(CountLine.id)).all()
    items = _item_keys(session, [line.item_id for line, *_ in lines])
    badges = _badges(session, [t.claimed_by for t, _ in tasks] + [t.created_by for t, _ in tasks])
    by_task = defaultdict(list)
    for line, lot, expiry, container, container_kind in lines:
        owner, sku = items[line.item_id]
        by_task[line.task_id].append({"uuid": line.uuid, "owner": owner, "sku": sku, "lot": lot, "expiry": _iso(expiry),
                                      "container": container, "container_kind": container_kind, "serial": line.serial, "attempt": line.attempt,
                                      "expected": line.expected, "counted": line.counted})
    return [{"uuid": t.uuid, "bin": bin_code, "blind": bool(t.blind), "status": t.status, "attempt": t.attempt, "reason": t.reason,
             "claimed_by": badges.get(t.claimed_by), "claimed_terminal": t.claimed_terminal, "created_by": badges.get(t.created_by),
             "created_at": _iso(t.created_at), "started_at": _iso(t.started_at), "lines": by_task[t.id]} for t, bin_code in tasks]


feed.register("inbound", inbound_snapshots)
feed.register("outbound", outbound_snapshots)
feed.register("pick_list", pick_list_snapshots)
feed.register("count_task", count_task_snapshots)


# =========================================================================== down: applying (terminal side)


def _upsert(session, table, rows, keys, columns):
    from warehouse_tui.sync.pull import upsert

    upsert(session, table, rows, keys, columns)


def pending_documents(session: Session) -> set[tuple[str, str]]:
    """Documents this terminal changed and has not pushed yet: (kind, key)."""
    found = set()
    for (payload,) in session.execute(select(OutboxEntry.payload).where(OutboxEntry.pushed_at.is_(None), OutboxEntry.kind == "document")):
        for op in payload.get("ops", []):
            found.add((op["doc"], op["key"]))
    return found


class _Local:
    """Natural keys -> local ids, cached for one applied chunk."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.items: dict[tuple[str, str], tuple[int, int]] = {}
        self.bins: dict[str, int] = {}
        self.ops: dict[str, int | None] = {}

    def item(self, owner: str, sku: str) -> tuple[int, int]:
        """(item id, owner id)."""
        if (owner, sku) not in self.items:
            row = self.s.execute(select(Item.id, Item.owner_id).join(Owner, Owner.id == Item.owner_id)
                                 .where(Item.sku == sku, Owner.code == owner)).first()
            if row is None:
                from warehouse_tui.sync.pull import PullError

                raise PullError(f"item {sku} of owner {owner} is not known here — the upstream feed is missing it")
            self.items[(owner, sku)] = (row[0], row[1])
        return self.items[(owner, sku)]

    def bin(self, code: str) -> int:
        if code not in self.bins:
            found = self.s.scalar(select(Bin.id).where(Bin.code == code))
            if found is None:
                from warehouse_tui.sync.pull import PullError

                raise PullError(f"bin {code} is not known here — the upstream feed is missing it")
            self.bins[code] = found
        return self.bins[code]

    def operator(self, badge: str | None) -> int | None:
        if badge is None:
            return None
        if badge not in self.ops:
            self.ops[badge] = self.s.scalar(select(Operator.id).where(Operator.badge == badge))
        return self.ops[badge]

    def lot(self, item_id: int, code: str | None, expiry: str | None) -> int | None:
        if code is None:
            return None
        found = self.s.scalar(select(Lot.id).where(Lot.item_id == item_id, Lot.code == code))
        if found is None:
            self.s.execute(insert(Lot.__table__).values(item_id=item_id, code=code, expiry=dt.date.fromisoformat(expiry) if expiry else None))
            found = self.s.scalar(select(Lot.id).where(Lot.item_id == item_id, Lot.code == code))
        return found

    def container(self, code: str | None, kind: str | None) -> int | None:
        if code is None:
            return None
        found = self.s.scalar(select(Container.id).where(Container.code == code))
        if found is None:
            valid = {k.value for k in ContainerKind}
            self.s.execute(insert(Container.__table__).values(code=code, kind=kind if kind in valid else ContainerKind.TOTE.value, status="active"))
            found = self.s.scalar(select(Container.id).where(Container.code == code))
        return found


def _replace_children(session, table, parent_column, parent_id: int, rows: list[dict], update_columns: list[str]) -> None:
    keep = [r["uuid"] for r in rows]
    stale = delete(table).where(table.c[parent_column] == parent_id)
    if keep:
        stale = stale.where(table.c.uuid.not_in(keep))
    session.execute(stale)
    _upsert(session, table, rows, ["uuid"], update_columns)


def apply_inbound(session: Session, snaps: list[dict]) -> int:
    local, pending = _Local(session), pending_documents(session)
    applied = 0
    for s in snaps:
        if ("inbound", s["ref"]) in pending:
            continue
        _upsert(session, InboundOrder.__table__, [{"ref": s["ref"], "kind": s["kind"], "supplier": s["supplier"], "status": s["status"],
                                                   "created_at": parse_time(s["created_at"]), "closed_at": parse_time(s["closed_at"])}],
                ["ref"], ["kind", "supplier", "status", "created_at", "closed_at"])
        order_id = session.scalar(select(InboundOrder.id).where(InboundOrder.ref == s["ref"]))
        rows = [{"uuid": line["uuid"], "order_id": order_id, "item_id": local.item(line["owner"], line["sku"])[0],
                 "qty_expected": line["qty_expected"], "qty_received": line["qty_received"], "lot": line["lot"],
                 "expiry": dt.date.fromisoformat(line["expiry"]) if line["expiry"] else None} for line in s["lines"]]
        _replace_children(session, InboundLine.__table__, "order_id", order_id, rows,
                          ["order_id", "item_id", "qty_expected", "qty_received", "lot", "expiry"])
        applied += 1
    return applied


def apply_outbound(session: Session, snaps: list[dict]) -> int:
    local, pending = _Local(session), pending_documents(session)
    applied = 0
    for s in snaps:
        if ("outbound", s["ref"]) in pending:
            continue
        _upsert(session, OutboundOrder.__table__, [{"ref": s["ref"], "channel": s["channel"], "ship_to": s["ship_to"],
                                                    "priority": s["priority"], "status": s["status"],
                                                    "created_at": parse_time(s["created_at"])}],
                ["ref"], ["channel", "ship_to", "priority", "status", "created_at"])
        order_id = session.scalar(select(OutboundOrder.id).where(OutboundOrder.ref == s["ref"]))
        counters = ["qty", "qty_allocated", "qty_picked", "qty_packed", "qty_shipped"]
        rows = [{"uuid": line["uuid"], "order_id": order_id, "item_id": local.item(line["owner"], line["sku"])[0],
                 **{c: line[c] for c in counters}} for line in s["lines"]]
        _replace_children(session, OutboundLine.__table__, "order_id", order_id, rows, ["order_id", "item_id", *counters])
        _apply_cartons(session, local, order_id, s.get("cartons", []))
        applied += 1
    return applied


def _apply_cartons(session: Session, local: _Local, order_id: int, cartons: list[dict]) -> None:
    """The order's cartons as the upstream has them (cartons are only ever added, so none is dropped here)."""
    lines_by_uuid = dict(session.execute(select(OutboundLine.uuid, OutboundLine.id).where(OutboundLine.order_id == order_id)).all())
    for c in cartons:
        container_id = local.container(c["code"], ContainerKind.CARTON.value)
        _container_follows(session, container_id, c["status"])
        if c["sscc"]:
            # The upstream's carton owns its SSCC; a local one with the same number (a cloned terminal) is a
            # sync conflict already, to be relabelled.
            session.execute(update(Carton).where(Carton.sscc == c["sscc"], Carton.container_id != container_id).values(sscc=None))
        _upsert(session, Carton.__table__, [{"container_id": container_id, "order_id": order_id, "sscc": c["sscc"],
                                             "weight_kg": _decimal(c["weight_kg"]), "status": c["status"], "closed_at": parse_time(c["closed_at"])}],
                ["container_id"], ["order_id", "sscc", "weight_kg", "status", "closed_at"])
        carton_id = session.scalar(select(Carton.id).where(Carton.container_id == container_id))
        rows = []
        for line in c["lines"]:
            item_id = local.item(line["owner"], line["sku"])[0]
            rows.append({"uuid": line["uuid"], "carton_id": carton_id, "order_line_id": lines_by_uuid[line["line"]], "item_id": item_id,
                         "lot_id": local.lot(item_id, line["lot"], line["expiry"]), "serial": line["serial"], "qty": line["qty"]})
        _replace_children(session, CartonLine.__table__, "carton_id", carton_id, rows,
                          ["carton_id", "order_line_id", "item_id", "lot_id", "serial", "qty"])


def _container_follows(session: Session, container_id: int, carton_status: str) -> None:
    """A carton's box is closed with it, and leaves the warehouse (no bin) when it ships — as packing.ship_order does."""
    if carton_status == "shipped":
        session.execute(update(Container).where(Container.id == container_id).values(status="shipped", bin_id=None))
    elif carton_status == "closed":
        session.execute(update(Container).where(Container.id == container_id).values(status="closed"))


def apply_pick_lists(session: Session, snaps: list[dict]) -> int:
    local, pending = _Local(session), pending_documents(session)
    applied = 0
    touched: set[tuple[int, int, int | None]] = set()
    for s in snaps:
        if ("pick_list", s["ref"]) in pending:
            continue
        _upsert(session, PickList.__table__, [{"ref": s["ref"], "priority": s["priority"], "status": s["status"],
                                               "claimed_by": local.operator(s["claimed_by"]), "claimed_terminal": s["claimed_terminal"],
                                               "created_at": parse_time(s["created_at"])}],
                ["ref"], ["priority", "status", "claimed_by", "claimed_terminal", "created_at"])
        list_id = session.scalar(select(PickList.id).where(PickList.ref == s["ref"]))
        touched |= set(session.execute(select(PickTask.item_id, PickTask.bin_id, PickTask.lot_id).where(PickTask.pick_list_id == list_id)).all())
        orders = dict(session.execute(select(OutboundOrder.ref, OutboundOrder.id).where(OutboundOrder.ref.in_([o["order"] for o in s["orders"]]))).all())
        session.execute(delete(PickListOrder).where(PickListOrder.pick_list_id == list_id,
                                                    PickListOrder.order_id.not_in(list(orders.values()) or [-1])))
        _upsert(session, PickListOrder.__table__, [{"pick_list_id": list_id, "order_id": orders[o["order"]],
                                                    "tote_id": local.container(o["tote"], o["tote_kind"])} for o in s["orders"]],
                ["pick_list_id", "order_id"], ["tote_id"])
        for o in s["orders"]:
            if o.get("full"):
                slot_id = session.scalar(select(PickListOrder.id).where(PickListOrder.pick_list_id == list_id,
                                                                        PickListOrder.order_id == orders[o["order"]]))
                _upsert(session, FullTote.__table__, [{"pick_list_order_id": slot_id, "tote_id": local.container(t["code"], t["kind"]),
                                                       "closed_at": utcnow()} for t in o["full"]],
                        ["pick_list_order_id", "tote_id"], ["closed_at"])
        lines = dict(session.execute(select(OutboundLine.uuid, OutboundLine.id).where(OutboundLine.uuid.in_([t["line"] for t in s["tasks"]]))).all())
        rows = []
        for t in s["tasks"]:
            item_id, owner_id = local.item(t["owner"], t["sku"])
            bin_id, lot_id = local.bin(t["bin"]), local.lot(item_id, t["lot"], t["expiry"])
            touched.add((item_id, bin_id, lot_id))
            rows.append({"uuid": t["uuid"], "pick_list_id": list_id, "order_line_id": lines[t["line"]], "item_id": item_id, "bin_id": bin_id,
                         "lot_id": lot_id, "quant_id": None, "qty": t["qty"], "qty_picked": t["qty_picked"], "seq": t["seq"], "status": t["status"],
                         "waiting": bool(t.get("waiting", False))})
        _replace_children(session, PickTask.__table__, "pick_list_id", list_id, rows,
                          ["pick_list_id", "order_line_id", "item_id", "bin_id", "lot_id", "qty", "qty_picked", "seq", "status", "waiting"])
        applied += 1
    recompute_reservations(session, touched)
    return applied


def recompute_for_lists(session: Session, refs: list[str]) -> None:
    places = set()
    for start in range(0, len(refs), 2000):
        places |= set(session.execute(select(PickTask.item_id, PickTask.bin_id, PickTask.lot_id).join(PickList, PickList.id == PickTask.pick_list_id)
                                      .where(PickList.ref.in_(refs[start:start + 2000]))).all())
    recompute_reservations(session, places)


def reserve_for_open_tasks(session: Session, item_ids) -> None:
    """Reservations of the open pick tasks on these items, set again after pulled movements moved their stock.

    A place emptied here (offline) loses its quant, and with it the reservation;
    stock a pulled movement brings back must be reserved for the task again.
    """
    item_ids = sorted({i for i in item_ids if i is not None})
    places = set()
    for start in range(0, len(item_ids), 2000):
        places |= set(session.execute(select(PickTask.item_id, PickTask.bin_id, PickTask.lot_id).where(
            PickTask.item_id.in_(item_ids[start:start + 2000]), PickTask.status.in_(TO_PICK))).all())
        places |= set(session.execute(select(ReplenTask.item_id, ReplenTask.from_bin_id, ReplenTask.lot_id).where(
            ReplenTask.item_id.in_(item_ids[start:start + 2000]), ReplenTask.status == "open")).all())
    recompute_reservations(session, places)


def recompute_reservations(session: Session, places) -> None:
    """Set each quant's reservation to what the open pick tasks on it still need (item, bin, lot; loose, available),
    plus what open replenishment tasks still take from it; a pick task waiting for its face to be filled holds none."""
    places = {p for p in places if p[0] is not None}
    if not places:
        return
    owners = dict(session.execute(select(Item.id, Item.owner_id).where(Item.id.in_({p[0] for p in places}))).all())
    for item_id, bin_id, lot_id in places:
        need = session.scalar(select(func.coalesce(func.sum(PickTask.qty - PickTask.qty_picked), 0)).where(
            PickTask.item_id == item_id, PickTask.bin_id == bin_id, PickTask.waiting.is_(False),
            PickTask.lot_id == lot_id if lot_id is not None else PickTask.lot_id.is_(None), PickTask.status.in_(TO_PICK))) or 0
        need += session.scalar(select(func.coalesce(func.sum(ReplenTask.qty - ReplenTask.qty_moved), 0)).where(
            ReplenTask.item_id == item_id, ReplenTask.from_bin_id == bin_id, ReplenTask.status == "open",
            ReplenTask.lot_id == lot_id if lot_id is not None else ReplenTask.lot_id.is_(None))) or 0
        key = quant_key(item_id, bin_id, lot_id, None, owners[item_id], "available")
        quant = session.execute(select(Quant.id, Quant.qty).where(Quant.key == key)).first()
        if quant is None:
            if need <= 0:
                continue
            # The stock left here (offline, or before the list came down) but the upstream reserved it: hold the
            # reservation on an empty quant as the upstream does, so stock coming back is reserved and the task can short.
            session.execute(insert(Quant.__table__).values(key=key, item_id=item_id, bin_id=bin_id, lot_id=lot_id, container_id=None,
                                                           owner_id=owners[item_id], status="available", qty=0, reserved=int(need)))
            quant = session.execute(select(Quant.id, Quant.qty).where(Quant.key == key)).first()
        session.execute(update(Quant).where(Quant.id == quant.id).values(reserved=max(0, int(need))))
        session.execute(update(PickTask).where(PickTask.item_id == item_id, PickTask.bin_id == bin_id,
                                               PickTask.lot_id == lot_id if lot_id is not None else PickTask.lot_id.is_(None),
                                               PickTask.quant_id.is_(None)).values(quant_id=quant.id))


def apply_count_tasks(session: Session, snaps: list[dict]) -> int:
    local, pending = _Local(session), pending_documents(session)
    applied = 0
    for s in snaps:
        if ("count_task", s["uuid"]) in pending:
            continue
        _upsert(session, CountTask.__table__, [{"uuid": s["uuid"], "bin_id": local.bin(s["bin"]), "blind": s["blind"], "status": s["status"],
                                                "attempt": s["attempt"], "reason": s["reason"], "claimed_by": local.operator(s["claimed_by"]),
                                                "claimed_terminal": s["claimed_terminal"], "created_by": local.operator(s["created_by"]),
                                                "created_at": parse_time(s["created_at"]), "started_at": parse_time(s["started_at"])}],
                ["uuid"], ["bin_id", "blind", "status", "attempt", "reason", "claimed_by", "claimed_terminal", "created_by",
                           "created_at", "started_at"])
        task_id = session.scalar(select(CountTask.id).where(CountTask.uuid == s["uuid"]))
        rows = []
        for line in s["lines"]:
            item_id, _ = local.item(line["owner"], line["sku"])
            rows.append({"uuid": line["uuid"], "task_id": task_id, "item_id": item_id, "lot_id": local.lot(item_id, line["lot"], line["expiry"]),
                         "container_id": local.container(line["container"], line.get("container_kind")), "serial": line["serial"],
                         "attempt": line["attempt"],
                         "expected": line["expected"], "counted": line["counted"]})
        _replace_children(session, CountLine.__table__, "task_id", task_id, rows,
                          ["task_id", "item_id", "lot_id", "container_id", "serial", "attempt", "expected", "counted"])
        applied += 1
    return applied


def _register_appliers() -> None:
    from warehouse_tui.sync import pull

    pull.register("inbound", apply_inbound)
    pull.register("outbound", apply_outbound)
    pull.register("pick_list", apply_pick_lists)
    pull.register("count_task", apply_count_tasks)


# =========================================================================== up: capturing a terminal's changes


def _op(doc: str, key: str, row: str, rid, op: str, field: str | None = None, value=None) -> dict:
    return {"doc": doc, "key": key, "row": row, "id": rid, "op": op, "field": field, "value": _iso(value)}


def _history(obj, field: str):
    """(old, new) of a changed attribute, or None when unchanged."""
    hist = inspect(obj).attrs[field].history
    if not hist.has_changes():
        return None
    old = hist.deleted[0] if hist.deleted else None
    new = hist.added[0] if hist.added else None
    return old, new


def _badge(session, operator_id):
    return session.get(Operator, operator_id).badge if operator_id is not None and session.get(Operator, operator_id) else None


def _item_key(session, item_id) -> tuple[str, str]:
    item = session.get(Item, item_id)
    return session.get(Owner, item.owner_id).code, item.sku


def _lot_key(session, lot_id):
    lot = session.get(Lot, lot_id) if lot_id is not None else None
    return (lot.code, _iso(lot.expiry)) if lot is not None else (None, None)


def _capture(session: Session, obj, new: bool) -> list[dict]:
    """The field operations of one changed row (empty for rows that do not sync up)."""
    s = session
    ops: list[dict] = []

    def changed(*fields):
        for f in fields:
            h = _history(obj, f) if not new else (None, getattr(obj, f))
            if h is not None and h[0] != h[1]:
                yield f, h[0], h[1]

    if isinstance(obj, InboundOrder):
        if new:
            return [_op("inbound", obj.ref, "order", obj.ref, "create", value={
                "kind": obj.kind, "supplier": obj.supplier, "status": obj.status, "created_at": _iso(obj.created_at)})]
        return [_op("inbound", obj.ref, "order", obj.ref, "set", f, v) for f, _, v in changed("status", "closed_at")]
    if isinstance(obj, InboundLine):
        ref = s.get(InboundOrder, obj.order_id).ref
        if new:
            owner, sku = _item_key(s, obj.item_id)
            return [_op("inbound", ref, "line", obj.uuid, "create", value={
                "owner": owner, "sku": sku, "qty_expected": obj.qty_expected, "qty_received": obj.qty_received,
                "lot": obj.lot, "expiry": _iso(obj.expiry)})]
        return [_op("inbound", ref, "line", obj.uuid, "add", f, (v or 0) - (o or 0)) for f, o, v in changed("qty_received")]
    if isinstance(obj, OutboundOrder):
        return [] if new else [_op("outbound", obj.ref, "order", obj.ref, "set", f, v) for f, _, v in changed("status")]
    if isinstance(obj, OutboundLine):
        if new:
            return []
        ref = s.get(OutboundOrder, obj.order_id).ref
        return [_op("outbound", ref, "line", obj.uuid, "add", f, (v or 0) - (o or 0))
                for f, o, v in changed("qty_allocated", "qty_picked", "qty_packed", "qty_shipped")]
    if isinstance(obj, PickList):
        if new:
            return []
        ops = [_op("pick_list", obj.ref, "list", obj.ref, "set", f, v) for f, _, v in changed("status")]
        if any(True for _ in changed("claimed_by", "claimed_terminal")):
            ops.append(_op("pick_list", obj.ref, "list", obj.ref, "claim", "claimed_by",
                           {"badge": _badge(s, obj.claimed_by), "terminal": obj.claimed_terminal}))
        return ops
    if isinstance(obj, PickListOrder):
        ref = s.get(PickList, obj.pick_list_id).ref
        order = s.get(OutboundOrder, obj.order_id).ref
        for _f, _o, tote_id in changed("tote_id"):
            tote = s.get(Container, tote_id) if tote_id is not None else None
            return [_op("pick_list", ref, "order", order, "set", "tote",
                        {"code": tote.code, "kind": tote.kind} if tote is not None else None)]
        return []
    if isinstance(obj, FullTote):
        if not new:
            return []
        slot = s.get(PickListOrder, obj.pick_list_order_id)
        tote = s.get(Container, obj.tote_id)
        return [_op("pick_list", s.get(PickList, slot.pick_list_id).ref, "full_tote", s.get(OutboundOrder, slot.order_id).ref, "create",
                    value={"code": tote.code, "kind": tote.kind})]
    if isinstance(obj, PickTask):
        if new:
            return []
        ref = s.get(PickList, obj.pick_list_id).ref
        ops = [_op("pick_list", ref, "task", obj.uuid, "add", f, (v or 0) - (o or 0)) for f, o, v in changed("qty_picked")]
        for _f, _o, lot_id in changed("lot_id"):  # the picker found another lot at the face (picking.change_lot)
            code, expiry = _lot_key(s, lot_id)
            ops.append(_op("pick_list", ref, "task", obj.uuid, "set", "lot", {"code": code, "expiry": expiry}))
        return ops + [_op("pick_list", ref, "task", obj.uuid, "set", f, v) for f, _, v in changed("status", "seq", "waiting")]
    if isinstance(obj, ReplenTask):
        return replen_sync.capture(s, obj, new)
    if isinstance(obj, CountTask):
        if new:
            return [_op("count_task", obj.uuid, "task", obj.uuid, "create", value={
                "bin": s.get(Bin, obj.bin_id).code, "blind": bool(obj.blind), "status": obj.status, "attempt": obj.attempt,
                "reason": obj.reason, "claimed_by": _badge(s, obj.claimed_by), "claimed_terminal": obj.claimed_terminal,
                "created_by": _badge(s, obj.created_by), "created_at": _iso(obj.created_at), "started_at": _iso(obj.started_at)})]
        ops = [_op("count_task", obj.uuid, "task", obj.uuid, "set", f, v) for f, _, v in changed("status", "attempt", "started_at", "reason")]
        if any(True for _ in changed("claimed_by", "claimed_terminal")):
            ops.append(_op("count_task", obj.uuid, "task", obj.uuid, "claim", "claimed_by",
                           {"badge": _badge(s, obj.claimed_by), "terminal": obj.claimed_terminal}))
        return ops
    if isinstance(obj, CountLine):
        task = s.get(CountTask, obj.task_id)
        if new:
            owner, sku = _item_key(s, obj.item_id)
            lot, expiry = _lot_key(s, obj.lot_id)
            container = s.get(Container, obj.container_id) if obj.container_id else None
            return [_op("count_task", task.uuid, "line", obj.uuid, "create", value={
                "owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "container": container.code if container else None,
                "container_kind": container.kind if container else None, "serial": obj.serial, "attempt": obj.attempt, "expected": obj.expected, "counted": obj.counted})]
        return [_op("count_task", task.uuid, "line", obj.uuid, "set", f, v) for f, _, v in changed("expected", "counted")]
    if isinstance(obj, WarehouseException):
        if new:
            return [_op("exception", obj.uuid, "exception", obj.uuid, "create", value=_exception_values(s, obj))]
        ops = [_op("exception", obj.uuid, "exception", obj.uuid, "set", f, v)
               for f, _, v in changed("status", "resolved_at", "resolution")]
        for _f, _o, v in changed("resolved_by"):
            ops.append(_op("exception", obj.uuid, "exception", obj.uuid, "set", "resolved_by", _badge(s, v)))
        return ops
    if isinstance(obj, Carton):
        ref = s.get(OutboundOrder, obj.order_id).ref
        code = s.get(Container, obj.container_id).code
        if new:
            return [_op("outbound", ref, "carton", code, "create", value={
                "status": obj.status, "sscc": obj.sscc, "weight_kg": _kg(obj.weight_kg), "closed_at": _iso(obj.closed_at)})]
        return [_op("outbound", ref, "carton", code, "set", f, _kg(v) if f == "weight_kg" else v)
                for f, _, v in changed("sscc", "weight_kg", "status", "closed_at")]
    if isinstance(obj, CartonLine):
        carton = s.get(Carton, obj.carton_id)
        ref = s.get(OutboundOrder, carton.order_id).ref
        if new:
            owner, sku = _item_key(s, obj.item_id)
            lot, expiry = _lot_key(s, obj.lot_id)
            return [_op("outbound", ref, "carton_line", obj.uuid, "create", value={
                "carton": s.get(Container, carton.container_id).code, "line": s.get(OutboundLine, obj.order_line_id).uuid,
                "owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "serial": obj.serial, "qty": obj.qty})]
        return [_op("outbound", ref, "carton_line", obj.uuid, "add", f, (v or 0) - (o or 0)) for f, o, v in changed("qty")]
    if isinstance(obj, AuditEvent):
        # Append-only: sent up once (the outbox entry's uuid makes it exactly once), never pulled back.
        return [_op("audit", obj.kind, "event", None, "create", value={
            "at": _iso(obj.at), "kind": obj.kind, "badge": obj.badge, "terminal": obj.terminal, "detail": obj.detail})] if new else []
    if isinstance(obj, Operator):
        return [] if new else [_op("operator", obj.badge, "operator", obj.badge, "set", f, v) for f, _, v in changed("failed_logins", "locked")]
    return []


def _exception_values(s: Session, e: WarehouseException) -> dict:
    data = dict(e.data) if isinstance(e.data, dict) else e.data
    if isinstance(data, dict) and isinstance(data.get("count_task"), int):
        task = s.get(CountTask, data["count_task"])
        data["count_task_uuid"] = task.uuid if task is not None else None  # ids are local; the uuid travels
    return {"kind": e.kind, "ref": e.ref, "detail": e.detail, "status": e.status, "created_at": _iso(e.created_at),
            "created_by": _badge(s, e.created_by), "terminal": e.terminal, "resolved_by": _badge(s, e.resolved_by),
            "resolved_at": _iso(e.resolved_at), "resolution": e.resolution, "data": data}


def _capture_deleted(session: Session, obj) -> list[dict]:
    if isinstance(obj, CountLine):
        task = session.get(CountTask, obj.task_id)
        if task is not None:
            return [_op("count_task", task.uuid, "line", obj.uuid, "delete")]
    return []


def _after_flush(session: Session, _context) -> None:
    ops: list[dict] = []
    for obj in session.new:
        ops += _capture(session, obj, True)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            ops += _capture(session, obj, False)
    for obj in session.deleted:
        ops += _capture_deleted(session, obj)
    if ops:
        session.connection().info.setdefault(_INFO_KEY, []).extend(ops)


def _on_commit(conn: Connection) -> None:
    ops = conn.info.pop(_INFO_KEY, None)
    if not ops:
        return
    entry = new_uuid()
    now = utcnow()
    conn.execute(insert(OutboxEntry.__table__).values(uuid=entry, kind="document", payload={"ops": ops}, terminal="",
                                                      created_at=now))


def _on_rollback(conn: Connection) -> None:
    if conn.invalidated:  # a dropped connection: its info went with it, and touching it raises on top of the drop
        return
    conn.info.pop(_INFO_KEY, None)


def capture(db) -> None:
    """Install the hooks that send a terminal's document changes up (Database calls this for non-upstream databases)."""
    if getattr(db, "_documents_captured", False):
        return
    event.listen(db.sessions, "after_flush", _after_flush)
    if not event.contains(db.engine, "commit", _on_commit):
        event.listen(db.engine, "commit", _on_commit)
        event.listen(db.engine, "rollback", _on_rollback)
    db._documents_captured = True


# =========================================================================== up: applying on the upstream

_DOC_RANK = {"operator": 0, "inbound": 1, "outbound": 2, "pick_list": 3, "count_task": 4, "replen_task": 4, "exception": 5, "audit": 6}
_ROW_RANK = {"order": 0, "list": 0, "task": 1, "line": 2, "carton": 3, "carton_line": 4, "exception": 0, "operator": 0,
             "event": 0}


def ordered(ops: list[dict]) -> list[dict]:
    """Parents before children, count tasks before the exceptions naming them; otherwise as captured."""
    def rank(pair):
        n, op = pair
        row = 0 if (op["doc"], op["row"]) == ("count_task", "task") else _ROW_RANK.get(op["row"], 1)
        return _DOC_RANK.get(op["doc"], 9), row, n
    return [op for _, op in sorted(enumerate(ops), key=rank)]


class _Upstream:
    """Finds upstream rows by natural key for one entry's operations."""

    def __init__(self, session: Session, terminal: str = "") -> None:
        self.s = session
        self.terminal = terminal  # the pushing terminal
        self.kept_out: dict[str, str] = {}  # count task uuid -> why this entry's changes to it are kept out

    def one(self, model, **where):
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return self.s.scalars(query).one_or_none()

    def operator_id(self, badge: str | None) -> int | None:
        if badge is None:
            return None
        found = self.one(Operator, badge=badge)
        return found.id if found else None

    def item_id(self, owner: str, sku: str) -> int:
        found = self.s.scalar(select(Item.id).join(Owner, Owner.id == Item.owner_id).where(Item.sku == sku, Owner.code == owner))
        if found is None:
            raise _Skip(f"item {sku} of owner {owner} is not known upstream")
        return found

    def lot_id(self, item_id: int, code: str | None, expiry: str | None) -> int | None:
        if code is None:
            return None
        found = self.one(Lot, item_id=item_id, code=code)
        if found is None:
            found = Lot(item_id=item_id, code=code, expiry=dt.date.fromisoformat(expiry) if expiry else None)
            self.s.add(found)
            self.s.flush()
        return found.id

    def container_id(self, code: str | None, kind: str | None) -> int | None:
        if code is None:
            return None
        found = self.one(Container, code=code)
        if found is None:
            valid = {k.value for k in ContainerKind}
            found = Container(code=code, kind=kind if kind in valid else ContainerKind.TOTE.value)
            self.s.add(found)
            self.s.flush()
        return found.id


class _Skip(Exception):
    """An operation that cannot be applied upstream (its document or row is unknown)."""


def apply_document_entry(session: Session, payload: dict, terminal: str = "") -> list[str]:
    """Apply one entry's operations in the caller's upstream transaction; returns the conflicts found (empty: applied)."""
    up = _Upstream(session, terminal)
    up.kept_out = _counts_kept_out(up, payload.get("ops", []))
    conflicts: list[str] = list(up.kept_out.values())
    places: set[tuple[int, int, int | None]] = set()
    for op in ordered(payload.get("ops", [])):
        try:
            note = _APPLY[op["doc"]](up, op, places)
        except _Skip as exc:
            note = f"{op['doc'].replace('_', ' ')} {op['key']}: {exc} — not applied"
        if note:
            conflicts.append(note)
    session.flush()
    recompute_reservations(session, places)
    return conflicts


DECISIONS = ("approved", "rejected")


def record_document_conflict(session: Session, terminal: str, uuid: str, payload: dict, reason: str) -> None:
    """Put a document entry's conflict in the supervisor queue: one open sync conflict per terminal and document.

    A double claim usually conflicts in every later transaction of the same work (the
    count's lines, its recount, its variance); those join the open conflict of the first
    instead of filling the queue with copies. Each entry and reason is kept in its data.
    """
    docs = sorted({f"{op['doc']} {op['key']}" for op in payload.get("ops", [])})
    record = {"uuid": uuid, "entry": payload, "reason": reason}
    for open_one in session.scalars(select(WarehouseException).where(
            WarehouseException.kind == "sync_conflict", WarehouseException.status == "open",
            WarehouseException.terminal == terminal[:64])):
        data = open_one.data if isinstance(open_one.data, dict) else {}
        if data.get("documents") == docs:
            more = [*data.get("more", []), record]
            open_one.data = {**data, "more": more}
            open_one.detail = f"{open_one.detail.split(' (+')[0]} (+{len(more)} more from the same work)"
            return
    session.add(WarehouseException(
        kind="sync_conflict", ref=_conflict_ref(session, payload)[:64], detail=f"{terminal}: {reason}", status="open",
        terminal=terminal[:64], data={**record, "booked": True, "documents": docs},
    ))


def _conflict_ref(session: Session, payload: dict) -> str:
    """What the queue calls the conflict: the order, receipt or pick list, or the counted bin."""
    for op in payload.get("ops", []):
        if op["doc"] in ("pick_list", "inbound", "outbound"):
            return str(op["key"])
    for op in payload.get("ops", []):
        if op["doc"] == "count_task":
            code = session.scalar(select(Bin.code).join(CountTask, CountTask.bin_id == Bin.id).where(CountTask.uuid == op["key"]))
            if code:
                return code
    return ""


def _counts_kept_out(up: _Upstream, ops: list[dict]) -> dict[str, str]:
    """Count tasks this entry must leave alone, with the reason: one count of a bin stands, not two.

    A count that reaches the upstream after the task was closed there, or while another
    terminal holds the task (its claim taken first, online or pushed first), is kept out
    whole — task fields, lines and the variance it raised — and reported as a conflict
    with the entry, so the supervisor still has what was counted. A supervisor's decision
    (approve or reject a task in review) may come from any terminal.
    """
    by_task: dict[str, list[dict]] = defaultdict(list)
    for op in ops:
        if op["doc"] == "count_task":
            by_task[op["key"]].append(op)
    kept: dict[str, str] = {}
    for key, task_ops in by_task.items():
        task = up.one(CountTask, uuid=key)
        if task is None:
            continue
        where = f"count of bin {up.s.get(Bin, task.bin_id).code}"
        by = f" from {up.terminal}" if up.terminal else ""
        decision = all(o["row"] == "task" and o["op"] == "set" and o["field"] == "status" and o["value"] in DECISIONS
                       for o in task_ops)
        holder = up.s.get(Operator, task.claimed_by) if task.claimed_by is not None else None
        who = " ".join(filter(None, (holder.badge if holder is not None else None,
                                     f"on {task.claimed_terminal}" if task.claimed_terminal else None)))
        if task.status in CLOSED["count_task"]:
            kept[key] = f"{where} was already {task.status} upstream" + (f" (counted by {who})" if who else "") + \
                f"; this count{by} is kept out"
        elif not decision and task.claimed_terminal and up.terminal and task.claimed_terminal != up.terminal:
            kept[key] = f"{where} is held by {who}; this count{by} is kept out"
    return kept


def _parse(field: str, value):
    return parse_time(value) if field in ("closed_at", "started_at", "resolved_at", "created_at") else value


def _set_state(doc: str, row, field: str, value, what: str) -> str | None:
    """Set a field; a closed document is not reopened (the change is reported as a conflict instead)."""
    if field == "status" and row.status in CLOSED.get(doc, ()) and value != row.status:
        return f"{what} is already {row.status} upstream; {value} from the terminal kept out"
    setattr(row, field, _parse(field, value))
    return None


def _claim(up: _Upstream, row, op: dict, what: str) -> str | None:
    value = op["value"] or {}
    badge, terminal = value.get("badge"), value.get("terminal")
    holder = up.s.get(Operator, row.claimed_by) if row.claimed_by is not None else None
    if badge is None or holder is None or holder.badge == badge:
        row.claimed_by = up.operator_id(badge)
        row.claimed_terminal = terminal if badge is not None else None
        return None
    return (f"{what} claimed twice: by {holder.badge} on {row.claimed_terminal or '?'} and by {badge} on {terminal or '?'} — "
            f"it stays with {holder.badge}; the work done by {badge} is kept")


def _inbound(up: _Upstream, op: dict, places) -> str | None:
    order = up.one(InboundOrder, ref=op["key"])
    what = f"receipt {op['key']}"
    if op["row"] == "order" and op["op"] == "create":
        if order is None:
            v = op["value"]
            up.s.add(InboundOrder(ref=op["key"], kind=v["kind"], supplier=v["supplier"], status=v["status"], created_at=parse_time(v["created_at"])))
            up.s.flush()
        return None
    if order is None:
        raise _Skip("the document is not known upstream")
    if op["row"] == "order":
        return _set_state("inbound", order, op["field"], op["value"], what)
    line = up.one(InboundLine, uuid=op["id"])
    if op["op"] == "create":
        if line is None:
            v = op["value"]
            up.s.add(InboundLine(uuid=op["id"], order_id=order.id, item_id=up.item_id(v["owner"], v["sku"]), qty_expected=v["qty_expected"],
                                 qty_received=v["qty_received"], lot=v["lot"], expiry=dt.date.fromisoformat(v["expiry"]) if v["expiry"] else None))
    elif line is None:
        raise _Skip("the line is not known upstream")
    else:
        setattr(line, op["field"], getattr(line, op["field"]) + op["value"])
    if order.status == "closed":
        return f"{what} was closed upstream; received on it at the terminal anyway (kept)"
    return None


def _outbound(up: _Upstream, op: dict, places) -> str | None:
    order = up.one(OutboundOrder, ref=op["key"])
    if order is None:
        raise _Skip("the order is not known upstream")
    if op["row"] == "order":
        return _set_state("outbound", order, op["field"], op["value"], f"order {op['key']}")
    if op["row"] == "carton":
        return _carton(up, order, op)
    if op["row"] == "carton_line":
        return _carton_line(up, order, op)
    line = up.one(OutboundLine, uuid=op["id"])
    if line is None:
        raise _Skip("the order line is not known upstream")
    setattr(line, op["field"], getattr(line, op["field"]) + op["value"])
    return None


def _sscc_taken(up: _Upstream, sscc: str | None, carton_id: int | None) -> str | None:
    """Another carton's code when that SSCC is already on one upstream (two labels with one number)."""
    if not sscc:
        return None
    other = up.s.execute(select(Container.code).join(Carton, Carton.container_id == Container.id)
                         .where(Carton.sscc == sscc, Carton.id != (carton_id or -1))).scalar()
    return other


def _carton(up: _Upstream, order: OutboundOrder, op: dict) -> str | None:
    """A carton packed on a terminal: created or changed upstream; an SSCC already on another carton is kept out."""
    container_id = up.container_id(op["id"], ContainerKind.CARTON.value)
    carton = up.one(Carton, container_id=container_id)
    if op["op"] == "create":
        if carton is not None:
            return None
        v = op["value"]
        other = _sscc_taken(up, v["sscc"], None)
        carton = Carton(container_id=container_id, order_id=order.id, sscc=None if other else v["sscc"], weight_kg=_decimal(v["weight_kg"]),
                        status=v["status"], closed_at=parse_time(v["closed_at"]))
        up.s.add(carton)
        up.s.flush()
        _box_follows(up, container_id, v["status"])
        return _sscc_clash(op["id"], v["sscc"], other)
    if carton is None:
        raise _Skip(f"carton {op['id']} is not known upstream")
    if op["field"] == "sscc":
        other = _sscc_taken(up, op["value"], carton.id)
        if other:
            return _sscc_clash(op["id"], op["value"], other)
    value = _decimal(op["value"]) if op["field"] == "weight_kg" else _parse(op["field"], op["value"])
    setattr(carton, op["field"], value)
    up.s.flush()
    if op["field"] == "status":
        _box_follows(up, container_id, op["value"])
    return None


def _sscc_clash(code: str, sscc: str | None, other: str | None) -> str | None:
    if not other:
        return None
    return f"SSCC {sscc} of carton {code} is already on carton {other} upstream — relabel {code}; it is kept without an SSCC"


def _box_follows(up: _Upstream, container_id: int, status: str) -> None:
    box = up.s.get(Container, container_id)
    if status in ("closed", "shipped"):
        box.status = status
    if status == "shipped":
        box.bin_id = None


def _carton_line(up: _Upstream, order: OutboundOrder, op: dict) -> str | None:
    line = up.one(CartonLine, uuid=op["id"])
    if op["op"] == "create":
        if line is not None:
            return None
        v = op["value"]
        container = up.one(Container, code=v["carton"])
        carton = up.one(Carton, container_id=container.id) if container is not None else None
        order_line = up.one(OutboundLine, uuid=v["line"])
        if carton is None or order_line is None:
            raise _Skip(f"carton {v['carton']} or its order line is not known upstream")
        item_id = up.item_id(v["owner"], v["sku"])
        up.s.add(CartonLine(uuid=op["id"], carton_id=carton.id, order_line_id=order_line.id, item_id=item_id,
                            lot_id=up.lot_id(item_id, v["lot"], v["expiry"]), serial=v["serial"], qty=v["qty"]))
        return None
    if line is None:
        raise _Skip("the carton line is not known upstream")
    line.qty += op["value"]
    return None


def _audit(up: _Upstream, op: dict, places) -> str | None:
    """An audit event of a terminal (login, failed login, override, approval): appended upstream, never changed."""
    v = op["value"]
    up.s.add(AuditEvent(at=parse_time(v["at"]), kind=v["kind"], operator_id=up.operator_id(v["badge"]), badge=v["badge"],
                        terminal=v["terminal"], detail=v["detail"]))
    return None


def _pick_list(up: _Upstream, op: dict, places) -> str | None:
    pick_list = up.one(PickList, ref=op["key"])
    if pick_list is None:
        raise _Skip("the pick list is not known upstream")
    what = f"pick list {op['key']}"
    if op["row"] == "list":
        return _claim(up, pick_list, op, what) if op["op"] == "claim" else _set_state("pick_list", pick_list, op["field"], op["value"], what)
    if op["row"] == "order":
        order = up.one(OutboundOrder, ref=op["id"])
        slot = up.one(PickListOrder, pick_list_id=pick_list.id, order_id=order.id) if order is not None else None
        if slot is None:
            raise _Skip(f"order {op['id']} is not on it upstream")
        tote = op["value"]
        slot.tote_id = up.container_id(tote["code"], tote["kind"]) if tote else None
        return None
    if op["row"] == "full_tote":
        order = up.one(OutboundOrder, ref=op["id"])
        slot = up.one(PickListOrder, pick_list_id=pick_list.id, order_id=order.id) if order is not None else None
        if slot is None:
            raise _Skip(f"order {op['id']} is not on it upstream")
        tote_id = up.container_id(op["value"]["code"], op["value"]["kind"])
        if up.one(FullTote, pick_list_order_id=slot.id, tote_id=tote_id) is None:
            up.s.add(FullTote(pick_list_order_id=slot.id, tote_id=tote_id))
        return None
    task = up.one(PickTask, uuid=op["id"])
    if task is None:
        raise _Skip("the pick task is not known upstream")
    places.add((task.item_id, task.bin_id, task.lot_id))
    if op["op"] == "add":
        setattr(task, op["field"], getattr(task, op["field"]) + op["value"])
    elif op["field"] == "lot":  # the allocation moved to the lot found at the face: reservations follow (places)
        value = op["value"] or {}
        task.lot_id = up.lot_id(task.item_id, value.get("code"), value.get("expiry"))
        task.quant_id = None
        places.add((task.item_id, task.bin_id, task.lot_id))
    else:
        setattr(task, op["field"], op["value"])
    return None


def _count_task(up: _Upstream, op: dict, places) -> str | None:
    if op["key"] in up.kept_out:
        return None  # reported once for the whole entry (apply_document_entry)
    task = up.one(CountTask, uuid=op["key"])
    what = f"count task of {op['key'][:8]}"
    if op["row"] == "task" and op["op"] == "create":
        if task is None:
            v = op["value"]
            bin_ = up.one(Bin, code=v["bin"])
            if bin_ is None:
                raise _Skip(f"bin {v['bin']} is not known upstream")
            up.s.add(CountTask(uuid=op["key"], bin_id=bin_.id, blind=v["blind"], status=v["status"], attempt=v["attempt"], reason=v["reason"],
                               claimed_by=up.operator_id(v["claimed_by"]), claimed_terminal=v["claimed_terminal"],
                               created_by=up.operator_id(v["created_by"]), created_at=parse_time(v["created_at"]),
                               started_at=parse_time(v["started_at"])))
            up.s.flush()
        return None
    if task is None:
        raise _Skip("the count task is not known upstream")
    bin_code = up.s.get(Bin, task.bin_id).code
    what = f"count of bin {bin_code}"
    if op["row"] == "task":
        return _claim(up, task, op, what) if op["op"] == "claim" else _set_state("count_task", task, op["field"], op["value"], what)
    line = up.one(CountLine, uuid=op["id"])
    if op["op"] == "create":
        if line is None:
            v = op["value"]
            item_id = up.item_id(v["owner"], v["sku"])
            up.s.add(CountLine(uuid=op["id"], task_id=task.id, item_id=item_id, lot_id=up.lot_id(item_id, v["lot"], v["expiry"]),
                               container_id=up.container_id(v["container"], v.get("container_kind")), serial=v["serial"],
                               attempt=v["attempt"],
                               expected=v["expected"], counted=v["counted"]))
    elif op["op"] == "delete":
        if line is not None:
            up.s.delete(line)
    elif line is not None:
        setattr(line, op["field"], op["value"])
    return None


def _exception(up: _Upstream, op: dict, places) -> str | None:
    found = up.one(WarehouseException, uuid=op["key"])
    if op["op"] == "create":
        if found is None:
            v = dict(op["value"])
            data = v.get("data")
            if isinstance(data, dict) and data.get("count_task_uuid"):
                task = up.one(CountTask, uuid=data["count_task_uuid"])
                data = {**data, "count_task": task.id if task is not None else None}
                kept = up.kept_out.get(data["count_task_uuid"])
                if kept and v["status"] == "open":
                    # Its count was kept out: nothing left to decide (the sync conflict holds the count).
                    v.update(status="rejected", resolution=f"Kept out by sync: {kept}"[:300], resolved_at=utcnow().isoformat(),
                             resolved_by=None)
            up.s.add(WarehouseException(uuid=op["key"], kind=v["kind"], ref=v["ref"], detail=v["detail"], status=v["status"],
                                        created_at=parse_time(v["created_at"]), created_by=up.operator_id(v["created_by"]),
                                        terminal=v["terminal"], resolved_by=up.operator_id(v["resolved_by"]),
                                        resolved_at=parse_time(v["resolved_at"]), resolution=v["resolution"], data=data))
        return None
    if found is None:
        raise _Skip("the exception is not known upstream")
    if op["field"] == "resolved_by":
        found.resolved_by = up.operator_id(op["value"])
        return None
    return _set_state("exception", found, op["field"], op["value"], f"exception {found.kind} {found.ref}")


def _operator(up: _Upstream, op: dict, places) -> str | None:
    found = up.one(Operator, badge=op["key"])
    if found is None:
        raise _Skip("the badge is not known upstream")
    setattr(found, op["field"], op["value"])
    return None


_APPLY = {"inbound": _inbound, "outbound": _outbound, "pick_list": _pick_list, "count_task": _count_task,
          "exception": _exception, "operator": _operator, "audit": _audit, "replen_task": replen_sync.apply_op}
