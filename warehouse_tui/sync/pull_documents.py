"""Down, terminal side: pulled documents replace this terminal's copies, by natural keys.

Each document (inbound and outbound orders with their cartons, pick lists, count
tasks) comes down whole, as the upstream has it; its rows are upserted and rows
it no longer has are dropped. A document this terminal changed and has not
pushed yet is left as it is: its own change goes up first and comes back merged.
After a pick list comes down, the reservations of the quants its tasks name are
set to what the open tasks still need (services/reservations.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    CountLine,
    CountTask,
    FullTote,
    InboundLine,
    InboundOrder,
    Item,
    Lot,
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
    utcnow,
)
from warehouse_tui.services.reservations import recompute_reservations
from warehouse_tui.sync.booking import parse_time
from warehouse_tui.sync.documents import kg_value, pending_documents


def _upsert(session, table, rows, keys, columns):
    from warehouse_tui.sync.pull import upsert

    upsert(session, table, rows, keys, columns)


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
                                                    "created_at": parse_time(s["created_at"]), "carrier": s.get("carrier"),
                                                    "service": s.get("service"), "shipped_at": parse_time(s.get("shipped_at"))}],
                ["ref"], ["channel", "ship_to", "priority", "status", "created_at", "carrier", "service", "shipped_at"])
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
        if c.get("tracking"):
            # Likewise the upstream's carton owns its tracking number; the local one's is a sync conflict already.
            session.execute(update(Carton).where(Carton.tracking == c["tracking"], Carton.container_id != container_id).values(tracking=None))
        _upsert(session, Carton.__table__, [{"container_id": container_id, "order_id": order_id, "sscc": c["sscc"],
                                             "weight_kg": kg_value(c["weight_kg"]), "status": c["status"], "closed_at": parse_time(c["closed_at"]),
                                             "tracking": c.get("tracking")}],
                ["container_id"], ["order_id", "sscc", "weight_kg", "status", "closed_at", "tracking"])
        if c.get("confirmation_sent_at"):
            # Sent to the OMS somewhere on the site: the upstream's mark is the one; a local mark not yet pushed
            # stays when the upstream has none (it goes up with the next push).
            session.execute(update(Carton).where(Carton.container_id == container_id)
                            .values(confirmation_sent_at=parse_time(c["confirmation_sent_at"])))
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


def apply_returns(session: Session, snaps: list[dict]) -> int:
    local, pending = _Local(session), pending_documents(session)
    applied = 0
    for s in snaps:
        if ("return", s["ref"]) in pending:
            continue
        order_id = session.scalar(select(OutboundOrder.id).where(OutboundOrder.ref == s["order"]))
        if order_id is None:
            from warehouse_tui.sync.pull import PullError

            raise PullError(f"order {s['order']} of return {s['ref']} is not known here — the upstream feed is missing it")
        _upsert(session, ReturnOrder.__table__, [{"ref": s["ref"], "order_id": order_id, "kind": s["kind"], "status": s["status"],
                                                  "created_at": parse_time(s["created_at"]), "closed_at": parse_time(s["closed_at"])}],
                ["ref"], ["order_id", "kind", "status", "created_at", "closed_at"])
        return_id = session.scalar(select(ReturnOrder.id).where(ReturnOrder.ref == s["ref"]))
        order_lines = dict(session.execute(select(OutboundLine.uuid, OutboundLine.id).where(OutboundLine.order_id == order_id)).all())
        rows = [{"uuid": line["uuid"], "return_id": return_id, "order_line_id": order_lines[line["line"]],
                 "item_id": local.item(line["owner"], line["sku"])[0], "serial": line["serial"], "reason": line["reason"],
                 "qty_expected": line["qty_expected"], "qty_received": line["qty_received"]} for line in s["lines"]]
        _replace_children(session, ReturnLine.__table__, "return_id", return_id, rows,
                          ["return_id", "order_line_id", "item_id", "serial", "reason", "qty_expected", "qty_received"])
        lines = dict(session.execute(select(ReturnLine.uuid, ReturnLine.id).where(ReturnLine.return_id == return_id)).all())
        receipts = []
        for r in s["receipts"]:
            item_id = local.item(r["owner"], r["sku"])[0]
            receipts.append({"uuid": r["uuid"], "line_id": lines[r["line"]], "item_id": item_id, "lot_id": local.lot(item_id, r["lot"], r["expiry"]),
                             "serial": r["serial"], "qty": r["qty"], "grade": r["grade"], "reason": r["reason"],
                             "bin_id": local.bin(r["bin"]) if r["bin"] else None, "operator_id": local.operator(r["operator"]),
                             "terminal": r["terminal"], "received_at": parse_time(r["received_at"])})
        _upsert(session, ReturnReceipt.__table__, receipts, ["uuid"], ["line_id", "item_id", "lot_id", "serial", "qty", "grade", "reason",
                                                                      "bin_id", "operator_id", "terminal", "received_at"])
        applied += 1
    return applied


def register_appliers() -> None:
    """The document kinds a pull applies with this module (pull.py registers them when it is imported)."""
    from warehouse_tui.sync import pull

    pull.register("inbound", apply_inbound)
    pull.register("outbound", apply_outbound)
    pull.register("pick_list", apply_pick_lists)
    pull.register("count_task", apply_count_tasks)
    pull.register("return", apply_returns)
