"""Importing returns (RMAs, issue 14): rows sharing a ref form one return against one shipped order.

The order must exist and have shipped the row's units: per order line the
file's rows with those already returned may not pass what shipped, and a
serial must be one that shipped on that order (qty 1). A ref already in the
database is an error (an RMA is announced once). Written through the ORM, so a
terminal sends it up and an upstream announces it; the floor's rules are in
services/returns.py.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Item, Movement, MovementKind, OutboundLine, OutboundOrder, ReturnLine, ReturnOrder, ReturnReceipt
from warehouse_tui.errors import InvalidInput, NotFound, WarehouseError
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress, changed_meanwhile, plural
from warehouse_tui.services.importing.values import read_code, read_key, read_qty, shown


class ReturnsImport(Importer):
    """RMAs from the OMS: rows sharing a ref form one return against one shipped order (see services/returns.py)."""

    kind = "returns"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.orders: dict[str, tuple[int, str] | None] = {}  # order ref -> (id, status)
        self.lines: dict[tuple[int, str], list[tuple[int, int, int, int]]] = {}  # (order id, sku) -> [(line id, item id, shipped, returned)]
        self.serials: dict[tuple[int, int], set[str]] = {}  # (order id, item id) -> serials shipped on it
        self.taken: dict[int, int] = defaultdict(int)  # order line id -> units the file announces
        self.serials_seen: dict[tuple[int, str], int] = {}  # (item id, serial) -> line
        self.existing: set[str] = set()
        self.docs: dict[str, tuple[int, int]] = {}  # ref -> (order id, first line)
        self.rows_out: list[tuple[str, int, int, int, str | None, str | None]] = []  # ref, order line, item, qty, serial, reason

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        refs = {ref for row in rows if (ref := read_key(row.values, "ref"))}
        self.existing |= set(session.scalars(select(ReturnOrder.ref).where(ReturnOrder.ref.in_(refs)))) if refs else set()
        wanted = {ref for row in rows if (ref := read_key(row.values, "order"))} - self.orders.keys()
        for ref, order_id, status in session.execute(select(OutboundOrder.ref, OutboundOrder.id, OutboundOrder.status)
                                                     .where(OutboundOrder.ref.in_(wanted))) if wanted else ():
            self.orders[ref] = (order_id, status)
            for line_id, item_id, sku, shipped in session.execute(
                    select(OutboundLine.id, OutboundLine.item_id, Item.sku, OutboundLine.qty_shipped).join(Item, Item.id == OutboundLine.item_id)
                    .where(OutboundLine.order_id == order_id).order_by(OutboundLine.id)):
                returned = session.scalar(select(func.coalesce(func.sum(ReturnReceipt.qty), 0)).join(ReturnLine, ReturnLine.id == ReturnReceipt.line_id)
                                          .where(ReturnLine.order_line_id == line_id)) or 0
                self.lines.setdefault((order_id, sku), []).append((line_id, item_id, int(shipped), int(returned)))
            for item_id, serial in session.execute(select(Movement.item_id, Movement.serial).where(
                    Movement.kind == MovementKind.SHIP.value, Movement.doc_ref == ref, Movement.serial.is_not(None))):
                self.serials.setdefault((order_id, item_id), set()).add(serial)
        for ref in wanted - self.orders.keys():
            self.orders[ref] = None
        found = []
        for row in rows:
            try:
                self._row(row)
            except WarehouseError as exc:
                found.append((row.line, str(exc)))
        problems.add_sorted(found)

    def _row(self, row: Row) -> None:
        v = row.values
        ref = read_code(v, "ref", required=True)
        order_ref = read_code(v, "order", required=True)
        sku = read_code(v, "sku", required=True)
        qty = read_qty(v)
        serial = read_code(v, "serial") or None
        reason = read_code(v, "reason") or None
        if ref in self.existing:
            raise InvalidInput(f"RMA {ref} is already in the database — an RMA is announced once")
        order = self.orders.get(order_ref)
        if order is None:
            raise NotFound(f"order {order_ref} is not known — a return needs the order it came from")
        order_id, status = order
        if ref in self.docs and self.docs[ref][0] != order_id:
            raise InvalidInput(f"RMA {ref} names order {order_ref} here but another order on line {self.docs[ref][1]}")
        lines = self.lines.get((order_id, sku))
        if not lines:
            raise InvalidInput(f"SKU {sku} is not on order {order_ref}")
        shipped = sum(line[2] for line in lines)
        if shipped == 0:
            raise InvalidInput(f"order {order_ref} has not shipped {sku} ({status}) — nothing to return")
        item_id = lines[0][1]
        if serial is not None:
            if qty != 1:
                raise InvalidInput(f"a serial is one unit: qty must be 1, not {qty}")
            if serial not in self.serials.get((order_id, item_id), set()):
                raise InvalidInput(f"serial {shown(serial)} of {sku} did not ship on order {order_ref}")
            if (item_id, serial) in self.serials_seen:
                raise InvalidInput(f"serial {shown(serial)} is already announced on line {self.serials_seen[(item_id, serial)]}")
        line_id = next((line_id for line_id, _i, sent, back in lines if sent - back - self.taken[line_id] >= qty), None)
        if line_id is None:
            left = sum(sent - back - self.taken[line_id] for line_id, _i, sent, back in lines)
            raise InvalidInput(f"{qty} × {sku} is more than can come back on order {order_ref}: {shipped} shipped, {left} left to return")
        self.taken[line_id] += qty
        if serial is not None:
            self.serials_seen[(item_id, serial)] = row.line
        self.docs.setdefault(ref, (order_id, row.line))
        self.rows_out.append((ref, line_id, item_id, qty, serial, reason))
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        taken = set(session.scalars(select(ReturnOrder.ref).where(ReturnOrder.ref.in_(list(self.docs)))))
        if taken:
            raise changed_meanwhile(self.source, [f"RMA {ref}" for ref in sorted(taken)])
        made = {ref: ReturnOrder(ref=ref, order_id=order_id, kind="rma", status="open") for ref, (order_id, _line) in self.docs.items()}
        session.add_all(made.values())
        session.flush()
        session.add_all([ReturnLine(return_id=made[ref].id, order_line_id=line_id, item_id=item_id, qty_expected=qty, qty_received=0,
                                    serial=serial, reason=reason) for ref, line_id, item_id, qty, serial, reason in self.rows_out])
        session.flush()
        self.created = len(made)
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, 0,
                            f"Imported {self.created} return{plural(self.created)} (RMA) with {self.rows} line{plural(self.rows)}")
