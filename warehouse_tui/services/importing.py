"""CSV import of items, bins, users, inbound orders, outbound orders and opening stock (DESIGN §6).

One file is one transaction: every row is checked, every bad row is reported
with its line number in the file (the header is line 1), and if any row is bad
nothing from the file is imported. `import_file` raises `ImportFailed`, whose
text is the report an operator reads; on success it returns an `ImportResult`
that says what was imported.

The file: UTF-8 (a BOM is tolerated), comma-separated, a header row naming the
columns in any order (names are trimmed and case-insensitive). Values are
trimmed. Blank lines, and rows whose every value is empty, are skipped. A file
with a header and no rows imports nothing and says so; it is not an error (a
day with no orders is normal). Broken files -- not UTF-8, UTF-16, NUL bytes,
no header, ragged rows, an unclosed quote -- are errors that name the line.

Decisions where DESIGN §6 is silent:

* Columns. Each kind has the columns of §6; only those that identify a row are
  required in the header: items `sku`; bins `code`; users `badge, pin`;
  inbound and orders `ref, sku, qty`; stock `bin, sku`. An optional column may
  be left out: new rows get its default, existing rows keep their value. A
  column that is present sets the value, and an empty value means the default.
* Values. `qty` is a positive whole number up to 1,000,000,000, never rounded
  ("1.5", "1,000", "0", "-5" are refused). Dates are YYYY-MM-DD only -- the
  YYMMDD of GS1 barcodes is ambiguous in a spreadsheet, so it is refused with a
  hint. `expiry` (items) is yes/no; true/false (what spreadsheets write) is
  accepted too, any case. Enumerations (tracking, kind, role) are
  case-insensitive. Codes (sku, bin, lot, serial, badge, ref ...) may not hold
  control characters and are limited to the lengths of the schema.
* items: an existing sku of the same owner is updated (an items master
  refresh is a normal operation). GTINs are added, never removed: stock on the
  shelves still carries the old barcodes. A GTIN already naming another item,
  in the database or earlier in the file, is an error. An item's tracking or
  expiry rule cannot change while it has stock on hand. `owner` empty or absent
  means the default owner (created when new).
* bins: an existing bin code is updated (zone, kind, pick sequence, barcode).
  A code or barcode that is already another bin's code or barcode is an error.
* users: an existing badge is updated (name, role; a non-empty PIN resets the
  PIN); a new badge needs a PIN. Role defaults to operator. PINs are hashed with
  scrypt before the write transaction starts (so terminals are not blocked on
  the write lock meanwhile), never stored or reported in clear. Each created or
  updated user writes an audit event.
* inbound: rows with the same ref form one PO with one line per row. A ref
  already in the database is replaced (header and lines) while nothing has been
  received against it; a PO being received or closed is an error. All rows of
  a ref must agree on the supplier.
* orders: as inbound; an existing order may be replaced only while it is new
  (not yet released to picking). Rows of a ref must agree on channel, ship_to
  and priority (an integer, default 0).
* stock: opening balances are posted through the ledger as `adjust` movements
  with doc_ref `OPENING` (not `receipt`: a receipt belongs to a PO and counts
  as received against it), into the row's bin -- a blocked quarantine bin may
  hold opening stock -- so `check` holds afterwards. Lot-tracked items need a
  lot; items that require an expiry need one, and when such an item is not
  lot-tracked and the lot is empty, the lot is named after the expiry date as
  receiving names it (`receiving.expiry_lot_code`), because the ledger carries
  expiry on lots. Expired lots are accepted: the stock is there and must be on
  the books. Serial items need a serial and a qty of 1 (or empty). A serial
  repeated in the file or already in stock is an error. A bin/item/lot place
  that already holds stock before the import is refused, so loading the same
  file twice cannot double the stock -- correct existing stock with a count.
* Reports list the first 50 problems in file order and count the rest. Each
  row runs in its own savepoint, so a refused row (ledger refusals included)
  leaves nothing that could skew the checks of the rows after it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Operator,
    OutboundLine,
    OutboundOrder,
    Owner,
    Quant,
    Role,
    SerialUnit,
    Tracking,
)
from warehouse_tui.errors import InvalidInput, NotFound, WarehouseError
from warehouse_tui.scan.gtin import normalize_gtin
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit, check_pin_format, hash_pin
from warehouse_tui.services.ledger import MAX_QTY, Actor, MovementKind, check_qty, post
from warehouse_tui.services.receiving import expiry_lot_code

# Bad rows listed in a report; the count of the rest is always given.
MAX_REPORTED = 50
OPENING_DOC_REF = "OPENING"


# --------------------------------------------------------------------------- results and errors


@dataclass(frozen=True)
class RowError:
    """One problem in a file: the line it is on (None for the whole file) and what is wrong."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


class ImportFailed(InvalidInput):
    """A file that was not imported at all; `errors` lists the problems (up to MAX_REPORTED), `total` counts them all."""

    def __init__(self, source: str, errors: list[RowError], total: int | None = None) -> None:
        self.source = source
        self.errors = list(errors)
        self.total = total if total is not None else len(self.errors)
        super().__init__(self.report())

    def report(self) -> str:
        count = f"{self.total} error{'s' if self.total != 1 else ''}"
        lines = [f"{self.source}: nothing imported — {count}:"]
        lines += [f"  {error}" for error in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  … and {self.total - len(self.errors)} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    """What a successful import did; str() is the sentence for the operator."""

    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    message: str = ""

    def __str__(self) -> str:
        return self.message


class _Problems:
    def __init__(self) -> None:
        self.shown: list[RowError] = []
        self.total = 0

    def add(self, line: int | None, message: str) -> None:
        self.total += 1
        if len(self.shown) < MAX_REPORTED:
            self.shown.append(RowError(line, message))

    def __bool__(self) -> bool:
        return self.total > 0


# --------------------------------------------------------------------------- file formats


@dataclass(frozen=True)
class CsvFormat:
    columns: tuple[str, ...]  # in the order of DESIGN §6
    required: tuple[str, ...]


FORMATS: dict[str, CsvFormat] = {
    "items": CsvFormat(("sku", "description", "gtin", "uom", "tracking", "expiry", "owner"), ("sku",)),
    "bins": CsvFormat(("code", "barcode", "zone", "kind", "pick_seq"), ("code",)),
    "users": CsvFormat(("badge", "name", "role", "pin"), ("badge", "pin")),
    "inbound": CsvFormat(("ref", "supplier", "sku", "qty", "lot", "expiry"), ("ref", "sku", "qty")),
    "orders": CsvFormat(("ref", "channel", "ship_to", "priority", "sku", "qty"), ("ref", "sku", "qty")),
    "stock": CsvFormat(("bin", "sku", "qty", "lot", "expiry", "serial"), ("bin", "sku")),
}


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    prepared: object = None  # what `prepare` made of the row before the transaction


@dataclass
class _Parsed:
    columns: tuple[str, ...]
    rows: Iterator[_Row]
    data_rows: int = 0  # rows read so far, bad ones included


def _decode(data: bytes, source: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed(source, [RowError(None, "the file is UTF-16 — save it as CSV UTF-8")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" not in data:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    # Broken somewhere: find every line that is, for the report.
    problems = _Problems()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        nul = raw.find(b"\x00")
        if nul >= 0:
            problems.add(number, f"a NUL byte at position {nul + 1} — this is not a text CSV file")
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(number, f"byte 0x{raw[exc.start]:02X} at position {exc.start + 1} is not UTF-8 — save the file as CSV UTF-8")
    if problems:
        raise ImportFailed(source, problems.shown, problems.total)
    return data.decode("utf-8")


def _csv_error(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted value starts here and its closing quote is missing"
    if "expected after" in text:
        return 'text after a closing quote — a quote inside a quoted value must be doubled ("")'
    if "field larger than field limit" in text:
        return f"a value is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV: {text}"


def _parse(text: str, kind: str, source: str, problems: _Problems) -> _Parsed:
    """Check the header now; rows come lazily, and ragged or broken rows go to `problems`."""
    fmt = FORMATS[kind]
    expected = ", ".join(fmt.columns)
    if not text.strip():
        raise ImportFailed(source, [RowError(None, f"the file is empty — the first line must be the header: {expected}")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    header: list[str] = []
    try:
        while not any(cell.strip() for cell in header):
            header = next(reader)
    except StopIteration:
        raise ImportFailed(source, [RowError(None, f"the file has no header — the first line must be: {expected}")]) from None
    except csv.Error as exc:
        raise ImportFailed(source, [RowError(reader.line_num, _csv_error(exc))]) from None
    header_line = reader.line_num
    names = [cell.strip().lower() for cell in header]
    errors = []
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        sep = "';'" if ";" in names[0] else "tabs"
        errors.append(f"the header is separated by {sep} — save the file comma-separated")
    else:
        blank = [str(i) for i, name in enumerate(names, start=1) if not name]
        if blank:
            errors.append(f"column {', '.join(blank)} of the header has no name — delete the empty column")
        unknown = [name for name in names if name and name not in fmt.columns]
        if unknown:
            errors.append(f"unknown column{'s' if len(unknown) > 1 else ''} {_names(unknown)} — the columns are: {expected}")
        twice = sorted({name for name in names if name and names.count(name) > 1})
        if twice:
            errors.append(f"column{'s' if len(twice) > 1 else ''} {_names(twice)} appear{'' if len(twice) > 1 else 's'} more than once")
        missing = [name for name in fmt.required if name not in names]
        if missing:
            errors.append(f"missing column{'s' if len(missing) > 1 else ''} {_names(missing)} — required: {', '.join(fmt.required)}")
    if errors:
        raise ImportFailed(source, [RowError(header_line, e) for e in errors])

    parsed = _Parsed(tuple(names), iter(()))

    def rows() -> Iterator[_Row]:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                parsed.data_rows += 1
                problems.add(start, _csv_error(exc) + " (the rest of the file was not read)")
                return
            if not any(cell.strip() for cell in cells):
                continue
            parsed.data_rows += 1
            if len(cells) != len(names):
                hint = " — a value holding a comma must be in double quotes" if len(cells) > len(names) else ""
                problems.add(start, f"{len(cells)} values but the header has {len(names)} columns{hint}")
                continue
            yield _Row(start, dict(zip(names, cells)))

    parsed.rows = rows()
    return parsed


def _names(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names)


# --------------------------------------------------------------------------- values


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab and line breaks allowed
_WHOLE = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _code(values: dict[str, str], column: str, max_len: int = 64, *, required: bool = False) -> str:
    """A code (sku, bin, lot, serial, ref …): one line, no control characters, at most max_len."""
    value = (values.get(column) or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{column} is empty")
        return ""
    if _CONTROL.search(value):
        raise InvalidInput(f"{column} contains a control character or line break")
    if len(value) > max_len:
        raise InvalidInput(f"{column} is longer than {max_len} characters")
    return value


def _text(values: dict[str, str], column: str, max_len: int) -> str:
    """Free text (description, supplier, ship-to): tabs and line breaks allowed."""
    value = (values.get(column) or "").strip()
    if _CONTROL_IN_TEXT.search(value):
        raise InvalidInput(f"{column} contains a control character")
    if len(value) > max_len:
        raise InvalidInput(f"{column} is longer than {max_len} characters")
    return value


def _choice(values: dict[str, str], column: str, choices: list[str], default: str) -> str:
    value = (values.get(column) or "").strip().lower()
    if not value:
        return default
    if value not in choices:
        raise InvalidInput(f"{column} must be {_either(choices)}, not {_shown(values[column].strip())}")
    return value


def _either(choices: list[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def _yes_no(values: dict[str, str], column: str) -> bool:
    value = (values.get(column) or "").strip().lower()
    if value in ("", "no", "false"):
        return False
    if value in ("yes", "true"):
        return True
    raise InvalidInput(f"{column} must be yes or no, not {_shown(values[column].strip())}")


def _qty(values: dict[str, str], column: str = "qty") -> int:
    """A positive whole number up to the ledger's MAX_QTY, never rounded."""
    value = (values.get(column) or "").strip()
    if not value:
        raise InvalidInput(f"{column} is empty — give a positive whole number")
    if not _WHOLE.fullmatch(value):
        raise InvalidInput(f"{column} must be a positive whole number, not {_shown(value)}")
    if len(value.lstrip("0")) > 12:
        raise InvalidInput(f"{column} {_shown(value)} is too large (at most {MAX_QTY:,})")
    number = int(value)
    if number == 0:
        raise InvalidInput(f"{column} must be more than zero")
    if number > MAX_QTY:
        raise InvalidInput(f"{column} {number:,} is too large (at most {MAX_QTY:,})")
    return check_qty(number)


def _integer(values: dict[str, str], column: str, low: int, high: int, default: int = 0) -> int:
    value = (values.get(column) or "").strip()
    if not value:
        return default
    if not _INTEGER.fullmatch(value) or len(value) > 12:
        raise InvalidInput(f"{column} must be a whole number from {low} to {high}, not {_shown(value)}")
    number = int(value)
    if not low <= number <= high:
        raise InvalidInput(f"{column} must be a whole number from {low} to {high}, not {number}")
    return number


def _date(values: dict[str, str], column: str) -> dt.date | None:
    value = (values.get(column) or "").strip()
    if not value:
        return None
    if not _ISO_DATE.fullmatch(value):
        raise InvalidInput(f"{column} must be a date as YYYY-MM-DD (e.g. 2026-03-31), not {_shown(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{column} {value} is not a real date") from None


# --------------------------------------------------------------------------- shared lookups


class _Lookups:
    """Items and bins named by the rows of one file, cached for the file."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._items: dict[str, Item] = {}
        self._bins: dict[str, Bin] = {}

    def item(self, sku: str) -> Item:
        if sku not in self._items:
            try:
                self._items[sku] = md.item_by_sku(self.session, sku)
            except NotFound:
                raise NotFound(f"SKU {sku} is not known — import it with the items first") from None
        return self._items[sku]

    def bin(self, code: str) -> Bin:
        if code not in self._bins:
            try:
                self._bins[code] = md.bin_by_code(self.session, code)
            except NotFound:
                raise NotFound(f"bin {code} is not known — import it with the bins first") from None
        return self._bins[code]


def _has_stock(session: Session, item: Item) -> bool:
    return session.scalar(select(Quant.id).where(Quant.item_id == item.id, Quant.qty != 0).limit(1)) is not None


# --------------------------------------------------------------------------- importers


class _Importer:
    """One kind of file: `row` checks and applies one row or raises WarehouseError; `result` sums up."""

    kind = ""

    def __init__(self, session: Session, actor: Actor, source: str) -> None:
        self.session = session
        self.actor = actor
        self.source = source
        self.rows = 0
        self.created = 0
        self.updated = 0

    @staticmethod
    def prepare(rows: Iterator[_Row], problems: _Problems) -> Iterator[_Row]:
        """Work done before the write transaction starts (default: none, rows stream)."""
        return rows

    def row(self, row: _Row) -> None:
        raise NotImplementedError

    def result(self) -> ImportResult:
        raise NotImplementedError


class _Items(_Importer):
    kind = "items"

    def __init__(self, session: Session, actor: Actor, source: str) -> None:
        super().__init__(session, actor, source)
        self.keys: dict[tuple[str, str], int] = {}
        self.gtins: dict[str, tuple[int, str, str]] = {}
        self.owners: set[str] = set()

    def row(self, row: _Row) -> None:
        v = row.values
        sku = _code(v, "sku", required=True)
        owner_code = _code(v, "owner") or md.DEFAULT_OWNER
        key = (owner_code, sku)
        if key in self.keys:
            raise InvalidInput(f"SKU {sku} of owner {owner_code} is already on line {self.keys[key]}")
        description = _text(v, "description", 300)
        uom = _code(v, "uom", 16) or "EA"
        tracking = _choice(v, "tracking", [t.value for t in Tracking], Tracking.NONE.value)
        expiry = _yes_no(v, "expiry")
        gtins = []
        for piece in (v.get("gtin") or "").split("|"):
            if piece.strip():
                gtin = normalize_gtin(piece)
                if gtin not in gtins:
                    gtins.append(gtin)

        existing = self.session.scalars(
            select(Item).join(Owner, Owner.id == Item.owner_id).where(Owner.code == owner_code, Item.sku == sku)
        ).one_or_none()
        for gtin in gtins:
            earlier = self.gtins.get(gtin)
            if earlier is not None and earlier[1:] != key:
                raise InvalidInput(f"GTIN {gtin} is also given to SKU {earlier[2]} on line {earlier[0]}")
        if gtins:
            taken = self.session.execute(
                select(ItemCode.code, Item.sku, Item.id).join(Item, Item.id == ItemCode.item_id).where(ItemCode.code.in_(gtins))
            ).all()
            for code, other_sku, other_id in taken:
                if existing is None or other_id != existing.id:
                    raise InvalidInput(f"GTIN {code} already belongs to SKU {other_sku}")

        if existing is None:
            md.add_item(self.session, sku, description=description, gtins=gtins, uom=uom, tracking=tracking,
                        expiry_required=expiry, owner_code=owner_code)
            self.created += 1
        else:
            self._update(existing, v, description, uom, tracking, expiry, gtins)
            self.updated += 1
        self.keys[key] = row.line
        for gtin in gtins:
            self.gtins[gtin] = (row.line, owner_code, sku)
        self.owners.add(owner_code)
        self.rows += 1

    def _update(self, item: Item, v: dict[str, str], description: str, uom: str, tracking: str, expiry: bool, gtins: list[str]) -> None:
        new_tracking = tracking if "tracking" in v else item.tracking
        new_expiry = expiry if "expiry" in v else item.expiry_required
        if (new_tracking, new_expiry) != (item.tracking, item.expiry_required) and _has_stock(self.session, item):
            was = f"tracking {item.tracking}, expiry {'yes' if item.expiry_required else 'no'}"
            now = f"tracking {new_tracking}, expiry {'yes' if new_expiry else 'no'}"
            raise InvalidInput(f"SKU {item.sku} has stock on hand — it cannot change from {was} to {now}")
        item.tracking, item.expiry_required = new_tracking, new_expiry
        if "description" in v:
            item.description = description
        if "uom" in v:
            item.uom = uom
        have = {c.code for c in item.codes}
        for gtin in gtins:
            if gtin not in have:
                self.session.add(ItemCode(item_id=item.id, code=gtin, kind="gtin"))
        self.session.flush()

    def result(self) -> ImportResult:
        owners = len(self.owners)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} item{_s(self.rows)} ({self.created} new, {self.updated} updated; "
                            f"{owners} owner{_s(owners)})")


class _Bins(_Importer):
    kind = "bins"

    def __init__(self, session: Session, actor: Actor, source: str) -> None:
        super().__init__(session, actor, source)
        self.names: dict[str, tuple[int, str]] = {}  # code or barcode -> (line, bin code)

    def row(self, row: _Row) -> None:
        v = row.values
        code = _code(v, "code", required=True)
        barcode = _code(v, "barcode") or code
        zone = _code(v, "zone", 32)
        kind = _choice(v, "kind", [k.value for k in BinKind], BinKind.STORAGE.value)
        pick_seq = _integer(v, "pick_seq", 0, 2**31 - 1)
        if code in self.names and self.names[code][1] == code:
            raise InvalidInput(f"bin {code} is already on line {self.names[code][0]}")
        for name in {code, barcode}:
            if name in self.names and self.names[name][1] != code:
                line, other = self.names[name]
                raise InvalidInput(f"{name} is already bin {other}'s code or barcode (line {line})")
        names = {code, barcode}
        existing = None
        for found in self.session.scalars(select(Bin).where(Bin.code.in_(names) | Bin.barcode.in_(names))):
            if found.code == code:
                existing = found
                continue
            name = barcode if barcode in (found.code, found.barcode) else code
            raise InvalidInput(f"{name} is already bin {found.code}'s code or barcode")
        if existing is None:
            md.add_bin(self.session, code, zone=zone, kind=kind, pick_seq=pick_seq, barcode=barcode)
            self.created += 1
        else:
            if "barcode" in v:
                existing.barcode = barcode
            if "zone" in v:
                existing.zone = zone
            if "kind" in v:
                existing.kind = kind
            if "pick_seq" in v:
                existing.pick_seq = pick_seq
            self.session.flush()
            self.updated += 1
        self.names[code] = (row.line, code)
        self.names[barcode] = (row.line, code)
        self.rows += 1

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} bin{_s(self.rows)} ({self.created} new, {self.updated} updated)")


@dataclass
class _UserRow:
    line: int
    badge: str
    name: str | None
    role: str | None
    pin_hash: str | None


class _Users(_Importer):
    kind = "users"

    @staticmethod
    def prepare(rows: Iterator[_Row], problems: _Problems) -> Iterator[_Row]:
        """Check every row and hash the PINs (scrypt, ~50 ms each) in threads, before any write lock is taken."""
        checked: list[tuple[_Row, _UserRow, str]] = []
        seen: dict[str, int] = {}
        for row in rows:
            v = row.values
            try:
                badge = _code(v, "badge", required=True)
                if badge in seen:
                    raise InvalidInput(f"badge {badge} is already on line {seen[badge]}")
                name = _text(v, "name", 200) if "name" in v else None
                role = _choice(v, "role", [r.value for r in Role], Role.OPERATOR.value) if "role" in v else None
                pin = (v.get("pin") or "").strip()
                if pin:
                    check_pin_format(pin)
            except WarehouseError as exc:
                problems.add(row.line, str(exc))
                continue
            seen[badge] = row.line
            checked.append((row, _UserRow(row.line, badge, name, role, None), pin))
        if problems:
            return iter([])
        pins = [pin for _, _, pin in checked if pin]
        with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
            hashes = iter(list(pool.map(hash_pin, pins)))
        out = []
        for row, user, pin in checked:
            user.pin_hash = next(hashes) if pin else None
            out.append(_Row(row.line, row.values, user))
        return iter(out)

    def row(self, row: _Row) -> None:
        user = row.prepared
        assert isinstance(user, _UserRow)
        op = self.session.scalars(select(Operator).where(Operator.badge == user.badge)).one_or_none()
        if op is None:
            if user.pin_hash is None:
                raise InvalidInput(f"badge {user.badge} is new and needs a PIN (4 to 12 digits)")
            op = Operator(badge=user.badge, name=user.name or "", role=user.role or Role.OPERATOR.value, pin_hash=user.pin_hash)
            self.session.add(op)
            self.session.flush()
            self.created += 1
            detail = f"{user.badge} created by import as {op.role}"
        else:
            changes = []
            if user.name is not None and user.name != op.name:
                op.name = user.name
                changes.append("name")
            if user.role is not None and user.role != op.role:
                changes.append(f"role {op.role} -> {user.role}")
                op.role = user.role
            if user.pin_hash is not None:
                op.pin_hash = user.pin_hash
                changes.append("PIN reset")
            self.updated += 1
            detail = f"{user.badge} updated by import: {', '.join(changes) or 'no change'}"
        audit(self.session, "user_imported", operator=self.actor.operator, badge=user.badge, terminal=self.actor.terminal, detail=detail)
        self.rows += 1

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} user{_s(self.rows)} ({self.created} new, {self.updated} updated)")


class _Documents(_Importer):
    """Inbound and outbound orders: rows sharing a ref form one document, one line per row."""

    noun = ""
    header_columns: tuple[str, ...] = ()

    def __init__(self, session: Session, actor: Actor, source: str) -> None:
        super().__init__(session, actor, source)
        self.lookups = _Lookups(session)
        self.docs: dict[str, tuple[object, int, dict[str, object]]] = {}  # ref -> (document, first line, header values)
        self.refused: set[str] = set()
        self.lines = 0

    def row(self, row: _Row) -> None:
        v = row.values
        ref = _code(v, "ref", required=True)
        if ref in self.refused:
            raise _AlreadyReported()
        header = self.header(v)
        item = self.lookups.item(_code(v, "sku", required=True))
        qty = _qty(v)
        extra = self.line_values(v, item)
        if ref in self.docs:
            doc, first, agreed = self.docs[ref]
            for column, value in header.items():
                if column not in v or value in ("", None):
                    continue
                if agreed.get(column) in ("", None):
                    agreed[column] = value
                    setattr(doc, self.attribute(column), value)
                elif agreed[column] != value:
                    raise InvalidInput(f"{column} {_shown(str(value))} differs from {_shown(str(agreed[column]))} on line {first} of {self.noun} {ref}")
        else:
            try:
                doc = self.open_document(ref, header, v)
            except WarehouseError:
                self.refused.add(ref)
                raise
            self.docs[ref] = (doc, row.line, dict(header))
        self.add_line(doc, item, qty, extra)
        self.lines += 1
        self.rows += 1

    def header(self, v: dict[str, str]) -> dict[str, object]:
        raise NotImplementedError

    def attribute(self, column: str) -> str:
        return column

    def line_values(self, v: dict[str, str], item: Item) -> dict[str, object]:
        return {}

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str]) -> object:
        raise NotImplementedError

    def add_line(self, doc: object, item: Item, qty: int, extra: dict[str, object]) -> None:
        raise NotImplementedError

    def result(self) -> ImportResult:
        docs = len(self.docs)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {docs} {self.noun}{_s(docs)} with {self.lines} line{_s(self.lines)} "
                            f"({self.created} new, {self.updated} replaced)")


def _drop_lines(session: Session, order: InboundOrder | OutboundOrder) -> None:
    """A replaced document loses its old lines; the file's rows become its lines."""
    for line in order.lines:
        session.delete(line)
    session.flush()
    session.expire(order, ["lines"])


class _AlreadyReported(WarehouseError):
    """A row of a document whose refusal was reported on its first line."""


class _Inbound(_Documents):
    kind = "inbound"
    noun = "inbound order"

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {"supplier": _text(v, "supplier", 200)}

    def line_values(self, v: dict[str, str], item: Item) -> dict[str, object]:
        lot = _code(v, "lot")
        expiry = _date(v, "expiry")
        lot_carrier = item.tracking == Tracking.LOT.value or item.expiry_required
        if lot and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} is not lot-tracked — leave lot empty")
        if expiry is not None and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} has no expiry date — leave expiry empty")
        return {"lot": lot or None, "expiry": expiry}

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str]) -> object:
        order = self.session.scalars(select(InboundOrder).where(InboundOrder.ref == ref)).one_or_none()
        if order is None:
            order = InboundOrder(ref=ref, kind="po", supplier=header["supplier"])
            self.session.add(order)
            self.created += 1
        else:
            if order.status == "closed":
                raise InvalidInput(f"inbound order {ref} is closed — it cannot be imported again")
            if order.status != "open" or any(line.qty_received for line in order.lines):
                raise InvalidInput(f"inbound order {ref} is being received — it cannot be replaced")
            _drop_lines(self.session, order)
            if "supplier" in v:
                order.supplier = header["supplier"]
            self.updated += 1
        self.session.flush()
        return order

    def add_line(self, doc: object, item: Item, qty: int, extra: dict[str, object]) -> None:
        self.session.add(InboundLine(order_id=doc.id, item_id=item.id, qty_expected=qty, **extra))
        self.session.flush()


class _Orders(_Documents):
    kind = "orders"
    noun = "order"

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {
            "channel": _code(v, "channel"),
            "ship_to": _text(v, "ship_to", 300),
            "priority": _integer(v, "priority", -999_999, 999_999) if (v.get("priority") or "").strip() else None,
        }

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str]) -> object:
        order = self.session.scalars(select(OutboundOrder).where(OutboundOrder.ref == ref)).one_or_none()
        if order is None:
            order = OutboundOrder(ref=ref, channel=header["channel"], ship_to=header["ship_to"], priority=header["priority"] or 0)
            self.session.add(order)
            self.created += 1
        else:
            if order.status != "new" or any(line.qty_allocated or line.qty_picked for line in order.lines):
                raise InvalidInput(f"order {ref} is already {order.status} — it cannot be replaced")
            _drop_lines(self.session, order)
            for column in ("channel", "ship_to", "priority"):
                if column in v:
                    setattr(order, column, header[column] if header[column] is not None else 0)
            self.updated += 1
        self.session.flush()
        return order

    def add_line(self, doc: object, item: Item, qty: int, extra: dict[str, object]) -> None:
        self.session.add(OutboundLine(order_id=doc.id, item_id=item.id, qty=qty))
        self.session.flush()


class _Stock(_Importer):
    kind = "stock"

    def __init__(self, session: Session, actor: Actor, source: str) -> None:
        super().__init__(session, actor, source)
        self.lookups = _Lookups(session)
        self.serials: dict[tuple[int, str], int] = {}
        self.places: set[tuple[int, int, int | None]] = set()
        self.units = 0
        self.items: set[int] = set()
        self.bins: set[int] = set()

    def row(self, row: _Row) -> None:
        v = row.values
        bin_ = self.lookups.bin(_code(v, "bin", required=True))
        item = self.lookups.item(_code(v, "sku", required=True))
        lot_code = _code(v, "lot")
        expiry = _date(v, "expiry")
        serial = _code(v, "serial")
        if item.tracking == Tracking.SERIAL.value:
            if not serial:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — fill in serial, one row per unit")
            qty = _qty(v) if (v.get("qty") or "").strip() else 1
            if qty != 1:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — qty must be 1 (or empty) per serial, not {qty}")
        else:
            if serial:
                raise InvalidInput(f"SKU {item.sku} is not serial-tracked — leave serial empty")
            qty = _qty(v)
        if item.tracking == Tracking.LOT.value and not lot_code:
            raise InvalidInput(f"SKU {item.sku} is lot-tracked — fill in lot")
        if item.expiry_required and expiry is None:
            raise InvalidInput(f"SKU {item.sku} needs an expiry date — fill in expiry (YYYY-MM-DD)")
        lot_carrier = item.tracking == Tracking.LOT.value or item.expiry_required
        if lot_code and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} is not lot-tracked — leave lot empty")
        if expiry is not None and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} has no expiry date — leave expiry empty")
        if item.expiry_required and not lot_code:
            lot_code = expiry_lot_code(expiry)  # the lot receiving would make for this expiry
        if serial:
            earlier = self.serials.get((item.id, serial))
            if earlier is not None:
                raise InvalidInput(f"serial {serial} of {item.sku} is already on line {earlier}")
            unit = self.session.scalars(
                select(SerialUnit).where(SerialUnit.item_id == item.id, SerialUnit.serial == serial, SerialUnit.status == "in_stock")
            ).one_or_none()
            if unit is not None:
                where = self.session.get(Bin, unit.bin_id) if unit.bin_id else None
                raise InvalidInput(f"serial {serial} of {item.sku} is already in stock in {where.code if where else 'the warehouse'}")
        lot = md.lot(self.session, item, lot_code, expiry) if lot_code else None
        place = (item.id, bin_.id, lot.id if lot else None)
        if place not in self.places:
            held = self.session.scalar(
                select(func.coalesce(func.sum(Quant.qty), 0)).where(
                    Quant.item_id == item.id, Quant.bin_id == bin_.id,
                    (Quant.lot_id == lot.id) if lot else Quant.lot_id.is_(None))
            )
            if held:
                what = item.sku + (f" lot {lot.code}" if lot else "")
                raise InvalidInput(f"{bin_.code} already holds {held} of {what} — opening stock goes into empty places; count the bin instead")
        post(self.session, self.actor, kind=MovementKind.ADJUST, item=item, qty=qty, lot=lot, serial=serial or None,
             to_bin=bin_, doc_ref=OPENING_DOC_REF)
        self.places.add(place)
        if serial:
            self.serials[(item.id, serial)] = row.line
        self.units += qty
        self.items.add(item.id)
        self.bins.add(bin_.id)
        self.rows += 1
        self.created += 1

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, 0,
                            f"Imported opening stock: {self.units} unit{_s(self.units)} in {self.rows} row{_s(self.rows)} "
                            f"({len(self.items)} item{_s(len(self.items))}, {len(self.bins)} bin{_s(len(self.bins))})")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


IMPORTERS: dict[str, type[_Importer]] = {cls.kind: cls for cls in (_Items, _Bins, _Users, _Inbound, _Orders, _Stock)}


# --------------------------------------------------------------------------- entry points


def import_file(db: Database, kind: str, path: str | Path, actor: Actor) -> ImportResult:
    """Import one CSV file of `kind` in one transaction; raises ImportFailed (nothing imported) on any bad row."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(str(path), [RowError(None, f"cannot read the file: {exc.strerror or exc}")]) from None
    return import_bytes(db, kind, data, actor, source=path.name)


def import_bytes(db: Database, kind: str, data: bytes, actor: Actor, *, source: str = "<input>") -> ImportResult:
    """Import CSV content given as bytes; the same rules as `import_file`."""
    if kind not in IMPORTERS:
        raise InvalidInput(f"cannot import {kind!r}: the kinds are {', '.join(IMPORTERS)}")
    importer_cls = IMPORTERS[kind]
    problems = _Problems()
    parsed = _parse(_decode(data, source), kind, source, problems)
    rows = importer_cls.prepare(parsed.rows, problems)
    with db.transaction() as session:
        importer = importer_cls(session, actor, source)
        for row in rows:
            _apply(session, importer.row, row, problems)
        if problems:
            raise ImportFailed(source, problems.shown, problems.total)
        if parsed.data_rows == 0:
            return ImportResult(kind, 0, message=f"Nothing imported: {source} has a header but no rows")
        return importer.result()


def _apply(session: Session, apply_row: Callable[[_Row], None], row: _Row, problems: _Problems) -> None:
    """One row in its own savepoint, so a refused row leaves nothing behind for the rows after it."""
    try:
        with session.begin_nested():
            apply_row(row)
    except _AlreadyReported:
        pass
    except WarehouseError as exc:
        problems.add(row.line, str(exc))
    except DBAPIError as exc:
        # A constraint the checks above did not foresee: still a row error, never a traceback.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        problems.add(row.line, f"the database refused this row: {reason}")
