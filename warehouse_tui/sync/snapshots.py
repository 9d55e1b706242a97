"""Down, upstream side: the aggregates a pull asks for, read as they are now and named by natural keys.

A pull reads feed rows (feed.py), then the aggregates they name, here: master
data (owners, operators, bins, items with their codes), documents (inbound and
outbound orders with their cartons, pick lists, count tasks), exceptions and
movements. Ids are local to each database, so nothing is named by id: items by
owner and sku, bins by code, documents by ref or uuid, operators by badge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from warehouse_tui.db.models import (
    FullTote,
    Bin,
    Carton,
    CartonLine,
    Container,
    CountLine,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    Owner,
    PickList,
    PickListOrder,
    PickTask,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    WarehouseException,
)
from warehouse_tui.sync import replenishment as replen_sync
from warehouse_tui.sync.documents import iso, kg_text
from warehouse_tui.sync.feed import among

CHUNK = 5000


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def snapshots(session: Session, kind: str, ids: Sequence[int]) -> list[dict]:
    """The aggregates of `kind` with these upstream ids as they are now, by natural keys.

    Ids that no longer exist (a rolled-back savepoint's row) are left out.
    """
    build = _BUILDERS[kind]
    postgres = session.bind.dialect.name == "postgresql"
    out: list[dict] = []
    for chunk in _chunks(ids):
        out.extend(build(session, _Ids(chunk, postgres)))
    return out


class _Ids(list):
    """A chunk of ids that knows how to say `column IN (ids)` best for the database."""

    def __init__(self, ids: list[int], postgres: bool) -> None:
        super().__init__(ids)
        self.postgres = postgres

    def of(self, column):
        return among(column, self, self.postgres)


def _owners(session: Session, ids: list[int]) -> list[dict]:
    return [{"code": code, "name": name} for code, name in session.execute(select(Owner.code, Owner.name).where(ids.of(Owner.id)))]


def _operators(session: Session, ids: list[int]) -> list[dict]:
    rows = session.execute(select(Operator.badge, Operator.name, Operator.role, Operator.pin_hash, Operator.failed_logins,
                                  Operator.locked, Operator.active).where(ids.of(Operator.id)))
    return [{"badge": r[0], "name": r[1], "role": r[2], "pin_hash": r[3], "failed_logins": r[4], "locked": bool(r[5]),
             "active": bool(r[6])} for r in rows]


def _bins(session: Session, ids: list[int]) -> list[dict]:
    rows = session.execute(select(Bin.code, Bin.barcode, Bin.zone, Bin.kind, Bin.pick_seq, Bin.blocked).where(ids.of(Bin.id)))
    return [{"code": r[0], "barcode": r[1], "zone": r[2], "kind": r[3], "pick_seq": r[4], "blocked": bool(r[5])} for r in rows]


def _items(session: Session, ids: list[int]) -> list[dict]:
    codes: dict[int, list[list[str]]] = {}
    for item_id, code, kind in session.execute(select(ItemCode.item_id, ItemCode.code, ItemCode.kind)
                                               .where(ids.of(ItemCode.item_id)).order_by(ItemCode.id)):
        codes.setdefault(item_id, []).append([code, kind])
    rows = session.execute(
        select(Item.id, Owner.code, Owner.name, Item.sku, Item.description, Item.uom, Item.tracking, Item.expiry_required, Item.zone)
        .join(Owner, Owner.id == Item.owner_id).where(ids.of(Item.id))
    )
    return [{"owner": r[1], "owner_name": r[2], "sku": r[3], "description": r[4], "uom": r[5], "tracking": r[6],
             "expiry_required": bool(r[7]), "zone": r[8], "codes": codes.get(r[0], [])} for r in rows]


def _exceptions(session: Session, ids: list[int]) -> list[dict]:
    creator, resolver = aliased(Operator), aliased(Operator)
    rows = session.execute(
        select(WarehouseException, creator.badge, resolver.badge)
        .outerjoin(creator, creator.id == WarehouseException.created_by)
        .outerjoin(resolver, resolver.id == WarehouseException.resolved_by)
        .where(ids.of(WarehouseException.id))
    )
    rows = rows.all()
    tasks = {e.data["count_task"] for e, _, _ in rows if isinstance(e.data, dict) and isinstance(e.data.get("count_task"), int)}
    uuids = dict(session.execute(select(CountTask.id, CountTask.uuid).where(CountTask.id.in_(tasks))).all()) if tasks else {}

    def data(e):
        # Ids are local to each database: a variance names its count task by uuid on the way down.
        if isinstance(e.data, dict) and isinstance(e.data.get("count_task"), int):
            return {**e.data, "count_task_uuid": uuids.get(e.data["count_task"])}
        return e.data

    return [{"uuid": e.uuid, "kind": e.kind, "ref": e.ref, "detail": e.detail, "status": e.status, "created_at": iso(e.created_at),
             "created_by": created_by, "terminal": e.terminal, "resolved_by": resolved_by, "resolved_at": iso(e.resolved_at),
             "resolution": e.resolution, "data": data(e)} for e, created_by, resolved_by in rows]


def movement_query():
    """Movements by natural keys, in the shape of the outbox payload (plus what only the upstream knows)."""
    from_bin, to_bin = aliased(Bin), aliased(Bin)
    from_container, to_container = aliased(Container), aliased(Container)
    return (
        select(Movement.seq, Movement.uuid, Movement.kind, Item.sku, Owner.code, Movement.qty, Lot.code, Lot.expiry, Movement.serial,
               from_bin.code, to_bin.code, from_container.code, from_container.kind, to_container.code, to_container.kind,
               Movement.from_status, Movement.to_status, Operator.badge, Movement.terminal, Movement.at, Movement.doc_ref,
               Movement.conflict)
        .select_from(Movement)
        .join(Item, Item.id == Movement.item_id)
        .join(Owner, Owner.id == Movement.owner_id)
        .outerjoin(Lot, Lot.id == Movement.lot_id)
        .outerjoin(from_bin, from_bin.id == Movement.from_bin_id)
        .outerjoin(to_bin, to_bin.id == Movement.to_bin_id)
        .outerjoin(from_container, from_container.id == Movement.from_container_id)
        .outerjoin(to_container, to_container.id == Movement.to_container_id)
        .outerjoin(Operator, Operator.id == Movement.operator_id)
    )


def movement_payload(r) -> dict:
    return {"upstream_seq": r[0], "id": r[1], "kind": r[2], "sku": r[3], "owner": r[4], "qty": int(r[5]), "lot": r[6],
            "expiry": iso(r[7]), "serial": r[8], "from_bin": r[9], "to_bin": r[10], "from_container": r[11],
            "from_container_kind": r[12], "to_container": r[13], "to_container_kind": r[14], "from_status": r[15],
            "to_status": r[16], "operator": r[17], "terminal": r[18], "at": iso(r[19]), "ref": r[20], "conflict": bool(r[21])}


def _movements(session: Session, ids: list[int]) -> list[dict]:
    rows = session.execute(movement_query().where(ids.of(Movement.seq)).order_by(Movement.seq))
    return [movement_payload(r) for r in rows]


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
                                  "qty_received": r.qty_received, "lot": r.lot, "expiry": iso(r.expiry)})
    return [{"ref": o.ref, "kind": o.kind, "supplier": o.supplier, "status": o.status, "created_at": iso(o.created_at),
             "closed_at": iso(o.closed_at), "lines": lines[o.id]}
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
             "created_at": iso(o.created_at), "carrier": o.carrier, "service": o.service, "shipped_at": iso(o.shipped_at),
             "lines": lines[o.id], "cartons": cartons[o.id]}
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
                                   "expiry": iso(expiry), "serial": r.serial, "qty": r.qty})
    for c, code in cartons:
        by_order[c.order_id].append({"code": code, "sscc": c.sscc, "weight_kg": kg_text(c.weight_kg), "status": c.status,
                                     "closed_at": iso(c.closed_at), "tracking": c.tracking,
                                     "confirmation_sent_at": iso(c.confirmation_sent_at), "lines": lines[c.id]})
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
                                                 "lot": lot_code, "expiry": iso(expiry), "qty": t.qty, "qty_picked": t.qty_picked,
                                                 "seq": t.seq, "status": t.status, "waiting": bool(t.waiting)})
    return [{"ref": p.ref, "priority": p.priority, "status": p.status, "claimed_by": badges.get(p.claimed_by),
             "claimed_terminal": p.claimed_terminal, "created_at": iso(p.created_at), **by_list[p.id]} for p in lists]


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
        by_task[line.task_id].append({"uuid": line.uuid, "owner": owner, "sku": sku, "lot": lot, "expiry": iso(expiry),
                                      "container": container, "container_kind": container_kind, "serial": line.serial, "attempt": line.attempt,
                                      "expected": line.expected, "counted": line.counted})
    return [{"uuid": t.uuid, "bin": bin_code, "blind": bool(t.blind), "status": t.status, "attempt": t.attempt, "reason": t.reason,
             "claimed_by": badges.get(t.claimed_by), "claimed_terminal": t.claimed_terminal, "created_by": badges.get(t.created_by),
             "created_at": iso(t.created_at), "started_at": iso(t.started_at), "lines": by_task[t.id]} for t, bin_code in tasks]


def return_snapshots(session: Session, ids) -> list[dict]:
    """Returns (issue 14): the RMA by ref with its order's ref, lines and graded receipts by uuid, order lines by uuid."""
    rets = session.execute(select(ReturnOrder, OutboundOrder.ref).join(OutboundOrder, OutboundOrder.id == ReturnOrder.order_id)
                           .where(ids.of(ReturnOrder.id))).all()
    lines = session.execute(select(ReturnLine, OutboundLine.uuid, Item.sku, Owner.code).join(OutboundLine, OutboundLine.id == ReturnLine.order_line_id)
                            .join(Item, Item.id == ReturnLine.item_id).join(Owner, Owner.id == Item.owner_id)
                            .where(ids.of(ReturnLine.return_id)).order_by(ReturnLine.id)).all()
    line_uuid = {line.id: line.uuid for line, *_ in lines}
    receipts = session.execute(select(ReturnReceipt, ReturnLine.return_id, Item.sku, Owner.code, Lot.code, Lot.expiry, Bin.code, Operator.badge)
                               .join(ReturnLine, ReturnLine.id == ReturnReceipt.line_id).join(Item, Item.id == ReturnReceipt.item_id)
                               .join(Owner, Owner.id == Item.owner_id).outerjoin(Lot, Lot.id == ReturnReceipt.lot_id)
                               .outerjoin(Bin, Bin.id == ReturnReceipt.bin_id).outerjoin(Operator, Operator.id == ReturnReceipt.operator_id)
                               .where(ids.of(ReturnLine.return_id)).order_by(ReturnReceipt.id)).all()
    by_return: dict[int, dict[str, list]] = defaultdict(lambda: {"lines": [], "receipts": []})
    for line, order_line, sku, owner in lines:
        by_return[line.return_id]["lines"].append({
            "uuid": line.uuid, "line": order_line, "owner": owner, "sku": sku, "serial": line.serial, "reason": line.reason,
            "qty_expected": line.qty_expected, "qty_received": line.qty_received})
    for r, return_id, sku, owner, lot, expiry, bin_code, badge in receipts:
        by_return[return_id]["receipts"].append({
            "uuid": r.uuid, "line": line_uuid[r.line_id], "owner": owner, "sku": sku, "lot": lot, "expiry": iso(expiry),
            "serial": r.serial, "qty": r.qty, "grade": r.grade, "reason": r.reason, "bin": bin_code, "operator": badge,
            "terminal": r.terminal, "received_at": iso(r.received_at)})
    return [{"ref": ret.ref, "order": order, "kind": ret.kind, "status": ret.status, "created_at": iso(ret.created_at),
             "closed_at": iso(ret.closed_at), **by_return[ret.id]} for ret, order in rets]


_BUILDERS = {
    "owner": _owners,
    "operator": _operators,
    "bin": _bins,
    "item": _items,
    "inbound": inbound_snapshots,
    "outbound": outbound_snapshots,
    "return": return_snapshots,
    "pick_list": pick_list_snapshots,
    "count_task": count_task_snapshots,
    "pick_face": replen_sync.pick_face_snapshots,
    "replen_task": replen_sync.replen_task_snapshots,
    "exception": _exceptions,
    "movement": _movements,
}
