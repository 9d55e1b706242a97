"""Importing documents: inbound POs and outbound orders, replaced whole while no work was booked on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.changes import note_changed
from warehouse_tui.db.models import InboundLine, InboundOrder, OutboundLine, OutboundOrder, Tracking, new_uuid, utcnow
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.batch_ledger import chunks, insert_many, insert_numbered, where_in
from warehouse_tui.services.importing.catalog import Catalog, ItemRef
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import (
    WRITE_CHUNK,
    ImportResult,
    Problems,
    Progress,
    changed_meanwhile,
    plural,
)
from warehouse_tui.services.importing.values import (
    read_code,
    read_date,
    read_integer,
    read_key,
    read_qty,
    read_text,
    shown,
)


class _DocFacts(NamedTuple):
    """A document in the database as the check saw it: its id, status and whether work was booked on its lines."""

    id: int
    status: str
    busy: bool


@dataclass
class _Document:
    """A document the file makes or replaces: its header values to write and its lines."""

    ref: str
    line: int  # its first row
    existing: int | None  # the id of the document it replaces
    agreed: dict[str, object]
    values: dict[str, object]


class _AlreadyReported(WarehouseError):
    """A row of a document whose refusal was reported on its first line."""


class _Documents(Importer):
    """Inbound and outbound orders: rows sharing a ref form one document, one line per row."""

    noun = ""
    model: type = InboundOrder
    line_model: type = InboundLine

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = Catalog()
        self.found: dict[str, _DocFacts | None] = {}  # ref -> the document in the database (what the write reads again)
        self.docs: dict[str, _Document] = {}
        self.refused: set[str] = set()
        self.lines: list[tuple[str, int, int, dict[str, object]]] = []  # ref, item id, qty, line values; in file order

    def _read_documents(self, session: Session, refs: set[str]) -> dict[str, _DocFacts]:
        order, line = self.model, self.line_model
        found = {}
        for chunk in chunks(refs):
            rows = session.execute(select(order.ref, order.id, order.status).where(where_in(order.ref, chunk, self.postgres))).all()
            ids = [r[1] for r in rows]
            busy = set(session.scalars(select(line.order_id).where(where_in(line.order_id, ids, self.postgres), self.worked(line)).distinct())) if ids else set()
            found.update((ref, _DocFacts(doc_id, status, doc_id in busy)) for ref, doc_id, status in rows)
        return found

    def worked(self, line):
        """Lines on which work was booked (a document with one cannot be replaced)."""
        raise NotImplementedError

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        self.catalog.load(session, self.postgres, skus=(read_key(row.values, "sku") for row in rows))
        refs = {ref for row in rows if (ref := read_key(row.values, "ref"))} - self.found.keys()
        found = self._read_documents(session, refs)
        self.found.update((ref, found.get(ref)) for ref in refs)
        found_errors = []
        for row in rows:
            try:
                self._row(row)
            except _AlreadyReported:
                pass
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _row(self, row: Row) -> None:
        v = row.values
        ref = read_code(v, "ref", required=True)
        if ref in self.refused:
            raise _AlreadyReported()
        header = self.header(v)
        item = self.catalog.item(read_code(v, "sku", required=True))
        qty = read_qty(v)
        extra = self.line_values(v, item)
        doc = self.docs.get(ref)
        if doc is not None:
            for column, value in header.items():
                if column not in v or value in ("", None):
                    continue
                if doc.agreed.get(column) in ("", None):
                    doc.agreed[column] = value
                    doc.values[column] = value
                elif doc.agreed[column] != value:
                    raise InvalidInput(f"{column} {shown(str(value))} differs from {shown(str(doc.agreed[column]))} "
                                       f"on line {doc.line} of {self.noun} {ref}")
        else:
            try:
                doc = self.open_document(ref, header, v, row.line)
            except WarehouseError:
                self.refused.add(ref)
                raise
            self.docs[ref] = doc
        self.lines.append((ref, item.id, qty, extra))
        self.rows += 1

    def header(self, v: dict[str, str]) -> dict[str, object]:
        raise NotImplementedError

    def line_values(self, v: dict[str, str], item: ItemRef) -> dict[str, object]:
        return {}

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str], line: int) -> _Document:
        raise NotImplementedError

    def _recheck(self, session: Session) -> None:
        now = self._read_documents(session, set(self.found))
        changed = [f"{self.noun} {ref}" for ref, facts in self.found.items() if now.get(ref) != facts]
        if changed:
            raise changed_meanwhile(self.source, changed)

    def result(self) -> ImportResult:
        docs, lines = len(self.docs), len(self.lines)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {docs} {self.noun}{plural(docs)} with {lines} line{plural(lines)} "
                            f"({self.created} new, {self.updated} replaced)")


class InboundImport(_Documents):
    """Written through the ORM: on a terminal that syncs, a PO made or replaced here goes up as document operations."""

    kind = "inbound"
    noun = "inbound order"
    model = InboundOrder
    line_model = InboundLine

    def worked(self, line):
        return line.qty_received != 0

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {"supplier": read_text(v, "supplier", 200)}

    def line_values(self, v: dict[str, str], item: ItemRef) -> dict[str, object]:
        lot = read_code(v, "lot")
        expiry = read_date(v, "expiry")
        lot_carrier = item.tracking == Tracking.LOT.value or item.expiry_required
        if lot and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} is not lot-tracked — leave lot empty")
        if expiry is not None and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} has no expiry date — leave expiry empty")
        return {"lot": lot or None, "expiry": expiry}

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str], line: int) -> _Document:
        found = self.found.get(ref)
        if found is None:
            self.created += 1
            return _Document(ref, line, None, dict(header), {"supplier": header["supplier"]})
        if found.status == "closed":
            raise InvalidInput(f"inbound order {ref} is closed — it cannot be imported again")
        if found.status != "open" or found.busy:
            raise InvalidInput(f"inbound order {ref} is being received — it cannot be replaced")
        self.updated += 1
        return _Document(ref, line, found.id, dict(header), {"supplier": header["supplier"]} if "supplier" in v else {})

    def write(self, session: Session, progress: Progress) -> None:
        self._recheck(session)
        orders: dict[str, InboundOrder] = {}
        replaced = [doc.existing for doc in self.docs.values() if doc.existing is not None]
        for chunk in chunks(replaced):
            for order in session.scalars(select(InboundOrder).where(where_in(InboundOrder.id, chunk, self.postgres))):
                orders[order.ref] = order
        for doc in self.docs.values():
            if doc.existing is None:
                orders[doc.ref] = order = InboundOrder(ref=doc.ref, kind="po", **doc.values)
                session.add(order)
            else:
                order = orders[doc.ref]
                for line in order.lines:  # a replaced PO loses its old lines; the file's rows become its lines
                    session.delete(line)
                for column, value in doc.values.items():
                    setattr(order, column, value)
        session.flush()
        session.add_all([InboundLine(order_id=orders[ref].id, item_id=item_id, qty_expected=qty, **extra) for ref, item_id, qty, extra in self.lines])
        session.flush()
        progress("writing", self.rows, self.rows)


class OrdersImport(_Documents):
    """Written set-based: no sync hook takes note of an order made here (orders come down from the upstream)."""

    kind = "orders"
    noun = "order"
    model = OutboundOrder
    line_model = OutboundLine

    def worked(self, line):
        return (line.qty_allocated != 0) | (line.qty_picked != 0)

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {
            "channel": read_code(v, "channel"),
            "ship_to": read_text(v, "ship_to", 300),
            "priority": read_integer(v, "priority", -999_999, 999_999) if (v.get("priority") or "").strip() else None,
        }

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str], line: int) -> _Document:
        found = self.found.get(ref)
        if found is None:
            self.created += 1
            return _Document(ref, line, None, dict(header), {"channel": header["channel"], "ship_to": header["ship_to"],
                                                            "priority": header["priority"] or 0})
        if found.status != "new" or found.busy:
            raise InvalidInput(f"order {ref} is already {found.status} — it cannot be replaced")
        self.updated += 1
        return _Document(ref, line, found.id, dict(header), {column: header[column] if header[column] is not None else 0
                                                             for column in ("channel", "ship_to", "priority") if column in v})

    def write(self, session: Session, progress: Progress) -> None:
        self._recheck(session)
        conn = session.connection()
        replaced = [doc for doc in self.docs.values() if doc.existing is not None]
        lines, orders = OutboundLine.__table__, OutboundOrder.__table__
        for chunk in chunks([doc.existing for doc in replaced]):
            session.execute(delete(lines).where(where_in(lines.c.order_id, chunk, self.postgres)))
        columns = [c for c in ("channel", "ship_to", "priority") if c in self.columns]
        if replaced and columns:
            session.execute(update(orders).where(orders.c.id == bindparam("b_id")).values(**{c: bindparam(f"b_{c}") for c in columns}),
                            [{"b_id": doc.existing, **{f"b_{c}": doc.values[c] for c in columns}} for doc in replaced])
        now = utcnow()
        new = [doc for doc in self.docs.values() if doc.existing is None]
        ids = {doc.ref: doc.existing for doc in replaced}
        ids.update(zip((doc.ref for doc in new), insert_numbered(conn, orders, [{"ref": doc.ref, **doc.values, "status": "new", "created_at": now}
                                                                                for doc in new])))
        total = len(self.lines)
        for start in range(0, total, WRITE_CHUNK):
            insert_many(conn, lines, [{"uuid": new_uuid(), "order_id": ids[ref], "item_id": item_id, "qty": qty, "qty_allocated": 0,
                                       "qty_picked": 0, "qty_packed": 0, "qty_shipped": 0}
                                      for ref, item_id, qty, _ in self.lines[start:start + WRITE_CHUNK]])
            progress("writing", min(total, start + WRITE_CHUNK), total)
        if self.upstream:
            note_changed(conn, [("outbound", order_id) for order_id in ids.values()])
