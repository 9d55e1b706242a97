"""Exports of stock, serials, the ledger, shipments, exceptions, counts and returns as CSV or JSON (DESIGN §6, §11).

Rows stream from the database (`yield_per`) straight to the output, for CSV and
JSON alike, so exporting a million quants never holds them in memory. Both
formats carry exactly the keys of §6 in that order: CSV as a header row, JSON
as a list of objects, one per line. Empty values are null in JSON and empty in
CSV; dates are YYYY-MM-DD, times (`at`) ISO 8601 in UTC with a `Z`.

Decisions where DESIGN §6 is silent:

* stock: every quant with a non-zero quantity (a negative one left by a sync
  conflict included), ordered by bin, sku, lot. `qty` is on hand, reserved
  units included.
* serials: every serial unit ever known, with its status (in_stock, shipped,
  removed; quarantined for one in stock in a quarantine bin, as a damaged
  return is); bin and container are null once it has left.
* ledger: every movement in posting order; `id` is the movement's UUID,
  `operator` the badge, `ref` the document.
* shipments: the lines of sealed cartons (closed or shipped), not of cartons
  still being packed; `weight` in kg.
* counts: one row per line of each task's latest attempt (a recount supersedes
  the count before it); a task with no lines yet is one row with null item
  fields. `id` is the count task's id, `status` the task's.
* returns: one row per graded receipt of returned goods (what the OMS refunds),
  in the order received: `grade` good, damaged or scrap; `received_at` in UTC;
  `operator` the badge.

CSV never hands a spreadsheet a live formula (DESIGN §10, OWASP "CSV
injection"): a text cell starting with = + - @, TAB or CR gets a leading
apostrophe, so a SKU like `=HYPERLINK(…)` shows as text. Numbers stay numbers:
a negative quantity left by a sync conflict is written `-3`, which a
spreadsheet reads as the number it is. JSON carries every value unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Carton,
    CartonLine,
    Container,
    CountLine,
    CountTask,
    Item,
    Lot,
    Movement,
    Operator,
    OutboundOrder,
    Owner,
    Quant,
    ReturnLine,
    ReturnOrder,
    ReturnReceipt,
    SerialUnit,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput

BATCH = 2000
FORMATS = ("csv", "json")

EXPORT_KEYS: dict[str, tuple[str, ...]] = {
    "stock": ("sku", "bin", "lot", "expiry", "container", "owner", "status", "qty"),
    "serials": ("sku", "serial", "lot", "bin", "container", "status"),
    "ledger": ("id", "kind", "sku", "qty", "lot", "serial", "from_bin", "to_bin",
               "from_container", "to_container", "operator", "terminal", "at", "ref"),
    "shipments": ("order", "carton", "sscc", "weight", "sku", "qty", "lot", "serial"),
    "exceptions": ("id", "kind", "ref", "detail", "status"),
    "counts": ("id", "bin", "sku", "lot", "expected", "counted", "status"),
    "returns": ("ref", "order", "channel", "sku", "lot", "serial", "qty", "grade", "reason", "received_at", "operator", "terminal"),
}


def _stock() -> Select:
    return (
        select(Item.sku, Bin.code, Lot.code, Lot.expiry, Container.code, Owner.code, Quant.status, Quant.qty)
        .select_from(Quant)
        .join(Item, Item.id == Quant.item_id)
        .join(Bin, Bin.id == Quant.bin_id)
        .join(Owner, Owner.id == Quant.owner_id)
        .outerjoin(Lot, Lot.id == Quant.lot_id)
        .outerjoin(Container, Container.id == Quant.container_id)
        .where(Quant.qty != 0)
        .order_by(Bin.code, Item.sku, Lot.code, Quant.id)
    )


def _serials() -> Select:
    # A returned unit set aside as damaged is in stock but not sellable: "quarantined".
    status = case((and_(SerialUnit.status == "in_stock", Bin.kind == BinKind.QUARANTINE.value), "quarantined"), else_=SerialUnit.status)
    return (
        select(Item.sku, SerialUnit.serial, Lot.code, Bin.code, Container.code, status)
        .select_from(SerialUnit)
        .join(Item, Item.id == SerialUnit.item_id)
        .outerjoin(Lot, Lot.id == SerialUnit.lot_id)
        .outerjoin(Bin, Bin.id == SerialUnit.bin_id)
        .outerjoin(Container, Container.id == SerialUnit.container_id)
        .order_by(Item.sku, SerialUnit.serial, SerialUnit.id)
    )


def _ledger() -> Select:
    from_bin, to_bin = aliased(Bin), aliased(Bin)
    from_container, to_container = aliased(Container), aliased(Container)
    return (
        select(Movement.uuid, Movement.kind, Item.sku, Movement.qty, Lot.code, Movement.serial, from_bin.code, to_bin.code,
               from_container.code, to_container.code, Operator.badge, Movement.terminal, Movement.at, Movement.doc_ref)
        .select_from(Movement)
        .join(Item, Item.id == Movement.item_id)
        .outerjoin(Lot, Lot.id == Movement.lot_id)
        .outerjoin(from_bin, from_bin.id == Movement.from_bin_id)
        .outerjoin(to_bin, to_bin.id == Movement.to_bin_id)
        .outerjoin(from_container, from_container.id == Movement.from_container_id)
        .outerjoin(to_container, to_container.id == Movement.to_container_id)
        .outerjoin(Operator, Operator.id == Movement.operator_id)
        .order_by(Movement.seq)
    )


def _shipments() -> Select:
    return (
        select(OutboundOrder.ref, Container.code, Carton.sscc, Carton.weight_kg, Item.sku, CartonLine.qty, Lot.code, CartonLine.serial)
        .select_from(CartonLine)
        .join(Carton, Carton.id == CartonLine.carton_id)
        .join(OutboundOrder, OutboundOrder.id == Carton.order_id)
        .join(Container, Container.id == Carton.container_id)
        .join(Item, Item.id == CartonLine.item_id)
        .outerjoin(Lot, Lot.id == CartonLine.lot_id)
        .where(Carton.status.in_(("closed", "shipped")))
        .order_by(OutboundOrder.ref, Carton.id, CartonLine.id)
    )


def _exceptions() -> Select:
    return select(WarehouseException.id, WarehouseException.kind, WarehouseException.ref, WarehouseException.detail,
                  WarehouseException.status).order_by(WarehouseException.id)


def _counts() -> Select:
    latest = select(CountLine.task_id, func.max(CountLine.attempt).label("attempt")).group_by(CountLine.task_id).subquery()
    return (
        select(CountTask.id, Bin.code, Item.sku, Lot.code, CountLine.expected, CountLine.counted, CountTask.status)
        .select_from(CountTask)
        .join(Bin, Bin.id == CountTask.bin_id)
        .outerjoin(latest, latest.c.task_id == CountTask.id)
        .outerjoin(CountLine, and_(CountLine.task_id == CountTask.id, CountLine.attempt == latest.c.attempt))
        .outerjoin(Item, Item.id == CountLine.item_id)
        .outerjoin(Lot, Lot.id == CountLine.lot_id)
        .order_by(CountTask.id, CountLine.id)
    )


def _returns() -> Select:
    return (
        select(ReturnOrder.ref, OutboundOrder.ref, OutboundOrder.channel, Item.sku, Lot.code, ReturnReceipt.serial, ReturnReceipt.qty,
               ReturnReceipt.grade, ReturnReceipt.reason, ReturnReceipt.received_at, Operator.badge, ReturnReceipt.terminal)
        .select_from(ReturnReceipt)
        .join(ReturnLine, ReturnLine.id == ReturnReceipt.line_id)
        .join(ReturnOrder, ReturnOrder.id == ReturnLine.return_id)
        .join(OutboundOrder, OutboundOrder.id == ReturnOrder.order_id)
        .join(Item, Item.id == ReturnReceipt.item_id)
        .outerjoin(Lot, Lot.id == ReturnReceipt.lot_id)
        .outerjoin(Operator, Operator.id == ReturnReceipt.operator_id)
        .order_by(ReturnReceipt.received_at, ReturnReceipt.id)
    )


QUERIES = {
    "stock": _stock,
    "serials": _serials,
    "ledger": _ledger,
    "shipments": _shipments,
    "exceptions": _exceptions,
    "counts": _counts,
    "returns": _returns,
}


# Columns whose database values need turning into text: dates, times, weights.
def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: dt.datetime | None) -> str | None:
    # Times are stored naive in UTC (models.utcnow); say so in the text.
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _kg(value: decimal.Decimal | None) -> float | None:
    # The same number in JSON and CSV.
    return float(value) if value is not None else None


CONVERTERS: dict[str, Callable[[object], object]] = {"expiry": _date, "at": _time, "received_at": _time, "weight": _kg}


def rows(session: Session, kind: str) -> Iterator[tuple]:
    """The export's rows as tuples in the order of EXPORT_KEYS[kind], ready for output, streamed."""
    if kind not in QUERIES:
        raise InvalidInput(f"cannot export {kind!r}: the kinds are {', '.join(QUERIES)}")
    # Core rows straight from the connection: no ORM layer per row (a third faster on 1M quants).
    result = session.connection().execute(QUERIES[kind]().execution_options(yield_per=BATCH))
    convert = [(i, CONVERTERS[key]) for i, key in enumerate(EXPORT_KEYS[kind]) if key in CONVERTERS]
    if not convert:
        return (tuple(record) for record in result)

    def converted() -> Iterator[tuple]:
        for record in result:
            values = list(record)
            for i, fn in convert:
                values[i] = fn(values[i])
            yield tuple(values)

    return converted()


def export(session: Session, kind: str, fmt: str, out: TextIO) -> int:
    """Write the `kind` export to `out` as csv or json; returns the number of rows written.

    Output goes out in batches of BATCH rows as they come from the database.
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"export format must be csv or json, not {fmt!r}")
    records = rows(session, kind)
    if fmt == "csv":
        return _write_csv(EXPORT_KEYS[kind], records, out)
    return _write_json(EXPORT_KEYS[kind], records, out)


def _batches(records: Iterable[tuple]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# How a cell a spreadsheet would evaluate starts: = + - @, and TAB or CR, which spreadsheets skip before one.
FORMULA_START = frozenset("=+-@\t\r")
# Where such a cell may begin in a batch written as CSV (CRLF rows): after a comma or a row's end, quoted or not.
# The csv writer always quotes a field holding a CR, so an unquoted one never starts with CR.
_FORMULA_CELL = re.compile(r'[,\n](?:[=+\-@\t]|"[=+\-@\t\r])')


def spreadsheet_safe(record: tuple) -> tuple:
    """The record with every text cell that starts like a formula prefixed by an apostrophe; numbers are left as numbers."""
    return tuple("'" + v if v.__class__ is str and v[:1] in FORMULA_START else v for v in record)


def _write_csv(keys: tuple[str, ...], records: Iterable[tuple], out: TextIO) -> int:
    # csv writes None as an empty field. Python 3.11's writer quotes a field holding a CR only when CR is in
    # its line terminator, so rows are made with CRLF (such a field is then quoted) and sent out ending in LF.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(keys)
    out.write(_taken(buffer).replace("\r\n", "\n"))
    count = 0
    for batch in _batches(records):
        writer.writerows(batch)
        text = _taken(buffer)
        # The usual batch, checked at C speed: no cell starts like a formula and every CR ends a row.
        if not _may_start_a_formula(text) and text.count("\r") == len(batch):
            out.write(text.replace("\r\n", "\n"))
        else:  # cell by cell (a negative qty comes this way too, and stays a number)
            for record in batch:
                writer.writerow(spreadsheet_safe(record))
                out.write(_taken(buffer)[:-2] + "\n")
        count += len(batch)
    return count


def _may_start_a_formula(text: str) -> bool:
    first = text[:1] if text[:1] != '"' else text[1:2]
    return first in FORMULA_START or _FORMULA_CELL.search(text) is not None


def _taken(buffer: io.StringIO) -> str:
    """What was written to the buffer since the last take; the buffer is emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _write_json(keys: tuple[str, ...], records: Iterable[tuple], out: TextIO) -> int:
    encode = json.JSONEncoder(ensure_ascii=False).encode
    count = 0
    out.write("[")
    for batch in _batches(records):
        text = ",\n".join(encode(dict(zip(keys, record))) for record in batch)
        out.write((",\n" if count else "\n") + text)
        count += len(batch)
    out.write("\n]\n" if count else "]\n")
    return count
