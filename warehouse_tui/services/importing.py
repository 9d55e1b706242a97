"""CSV import of items, bins, users, inbound orders, outbound orders and opening stock (DESIGN §6).

One file is imported whole or not at all: every row is checked, every bad row
is reported with its line number in the file (the header is line 1), and if
any row is bad nothing from the file is imported. `import_file` raises
`ImportFailed`, whose text is the report an operator reads; on success it
returns an `ImportResult` that says what was imported.

How a file goes in, so that the terminals sharing the database keep scanning
meanwhile (DESIGN §9: the write lock is held only while writing):

1. Checking, in a read transaction: on SQLite a deferred one, which never takes
   the write lock (in WAL mode readers and the writer never wait for each
   other); on PostgreSQL one snapshot (repeatable read). The file is parsed and
   checked a chunk of rows at a time. What the rules need from the database for
   a chunk — its items, bins, lots, serials, stocked places, documents, badges
   — is read set-based (one statement per kind and 2,000 keys), and the rows
   are then checked in file order against that and against what the file's
   earlier rows did. Any bad row: nothing is written.
2. Users only: PINs are hashed (scrypt, ~50 ms each, in threads) outside any
   transaction.
3. Writing, in one write transaction, set-based: executemany on SQLite, COPY on
   PostgreSQL. It first checks again, cheaply, what another terminal may have
   changed since checking began, and refuses the file if something the check
   relied on did ("… changed in the database while the file was being checked
   — import the file again"):
   - items, bins, users, inbound, orders: the rows the check read for the
     file's keys (SKUs with their GTINs and owners, bin codes and barcodes,
     badges, document refs with their state) are read again and must be equal;
   - stock: stock changes only through movements, so the places and serials of
     the file must not be in a movement booked since checking began. On SQLite,
     where writers take turns and movement seqs grow in commit order, those are
     the movements above the last seq the check saw: a handful, read in
     milliseconds. On PostgreSQL seqs may commit out of order, so the file's
     places and serials are read again instead (no database-wide write lock to
     keep short there). Items, bins and lots are checked again by the ledger's
     own rules as it books (a tracking rule, an unknown bin or a lot's expiry
     that changed is a refusal).
   Users and inbound orders are written through the ORM: a few rows, and what
   they change reaches the sync through its session hooks (audit events, a
   badge's lock, a terminal's document operations). The other kinds are written
   set-based and, on an upstream, announce what they changed to its change feed.

Opening stock is booked by `services.batch_ledger.BatchLedger` — ledger.post's
rules, set-based, the implementation the sync books pushed movements with — in
chunks, each movement with the outbox entry ledger.post writes for it (on an
upstream: its change-feed entry). A movement the ledger does not book (a quant
that would pass the ledger's ceiling, or what changed meanwhile) refuses the
file; those rows are reported as the ledger words it.

`ImportResult.checking_s` and `writing_s` say how long each step took;
`writing_s` is how long the write lock was held. `on_progress(step, done,
total)` is called as rows are checked ("checking") and written ("writing");
`ImportProgress` draws that as a bar on a terminal.

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
  case-insensitive. Codes (sku, bin, lot, serial, badge, ref ...) are limited
  to the lengths of the schema and hold only characters one can see and type:
  control characters are refused, and so are format characters (zero width
  space, right-to-left override …), line and paragraph separators, spaces
  other than the ASCII one (no-break space …), private-use and unassigned code
  points, each named in the message ("U+200B ZERO WIDTH SPACE"). ASCII spaces
  (and tabs and line breaks) around a value are trimmed.
* items: an existing sku of the same owner is updated (an items master
  refresh is a normal operation). GTINs are added, never removed: stock on the
  shelves still carries the old barcodes. A GTIN already naming another item,
  in the database or earlier in the file, is an error. An item's tracking or
  expiry rule cannot change while it has stock on hand. `owner` empty or absent
  means the default owner (created when new).
* bins: an existing bin code is updated (zone, kind, pick sequence, barcode).
  A code or barcode that is already another bin's code or barcode is an error.
* users: an existing badge is updated (name, role; a non-empty PIN resets the
  PIN, and lifts a lock five wrong PINs put on the badge, audited as a
  supervisor's unlock is); a new badge needs a PIN. Role defaults to operator.
  PINs are never stored or reported in clear. Each created or updated user
  writes an audit event.
* inbound: rows with the same ref form one PO with one line per row. A ref
  already in the database is replaced (header and lines) while nothing has been
  received against it; a PO being received or closed is an error. All rows of
  a ref must agree on the supplier.
* orders: as inbound; an existing order may be replaced only while it is new
  (not yet released to picking). Rows of a ref must agree on channel, ship_to
  and priority (an integer, default 0).
* stock: opening balances are booked by the ledger as `adjust` movements with
  doc_ref `OPENING` (not `receipt`: a receipt belongs to a PO and counts as
  received against it), into the row's bin -- a blocked quarantine bin may hold
  opening stock -- so `check` holds afterwards. Lot-tracked items need a lot;
  items that require an expiry need one, and when such an item is not
  lot-tracked and the lot is empty, the lot is named after the expiry date as
  receiving names it (`receiving.expiry_lot_code`), because the ledger carries
  expiry on lots. Expired lots are accepted: the stock is there and must be on
  the books. Serial items need a serial and a qty of 1 (or empty). A serial
  repeated in the file or already in stock is an error. A bin/item/lot place
  that already holds stock before the import is refused, so loading the same
  file twice cannot double the stock -- correct existing stock with a count.
  Rows of the file may share a place; the ledger adds them up.
* Reports list the first 50 problems in file order and count the rest. A
  refused row leaves nothing behind that could skew the checks of the rows
  after it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import time
import unicodedata
import uuid
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import NamedTuple, TextIO

from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    PickFace,
    Bin,
    BinKind,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    OutboxEntry,
    Owner,
    Quant,
    Role,
    SerialUnit,
    Tracking,
    new_uuid,
    utcnow,
)
from warehouse_tui.errors import InvalidInput, NotFound, WarehouseError
from warehouse_tui.scan.gtin import normalize_gtin
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import audit, check_pin_format, clear_lock, hash_pin
from warehouse_tui.services.batch_ledger import BOOKED, BatchLedger, chunks, insert_many, insert_numbered, key_table, where_in
from warehouse_tui.services.ledger import AVAILABLE, MAX_QTY, Actor, MovementKind, check_qty
from warehouse_tui.services.receiving import expiry_lot_code
from warehouse_tui.sync import feed

# Bad rows listed in a report; the count of the rest is always given.
MAX_REPORTED = 50
OPENING_DOC_REF = "OPENING"
# Rows checked per round of set-based lookups, and opening-stock movements booked per BatchLedger.book:
# large enough that statements are few, small enough that a million-row file stays in memory budget.
CHECK_CHUNK = 10_000
WRITE_CHUNK = 20_000
# The page cache an import's connection gets on SQLite (see _page_cache).
PAGE_CACHE_KIB = 64 * 1024
# Files with fewer rows finish before a progress bar would tell anyone anything.
PROGRESS_MIN_ROWS = 10_000

# on_progress(step, done, total): step is "checking" or "writing"; total is estimated while checking.
Progress = Callable[[str, int, int], None]


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
    checking_s: float = 0.0  # reading and checking the file (a read transaction: no write lock)
    writing_s: float = 0.0  # the write transaction: how long the write lock was held

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

    def add_sorted(self, found: list[tuple[int, str]]) -> None:
        """A chunk's row errors (at most one per row), in file order."""
        for line, message in sorted(found):
            self.add(line, message)

    def __bool__(self) -> bool:
        return self.total > 0


def _changed(source: str, what: list[str]) -> ImportFailed:
    """The refusal when another terminal changed what the check relied on."""
    named = ", ".join(what[:5]) + (f" and {len(what) - 5} more" if len(what) > 5 else "")
    return ImportFailed(source, [RowError(None, f"{named} changed in the database while the file was being checked "
                                                "(another terminal or import) — import the file again")])


class ImportProgress:
    """A progress bar for files of PROGRESS_MIN_ROWS rows and more, drawn in place on `stream`.

    The command line hands one to the import only when stderr is a terminal: logs, pipes and the
    CSV/JSON a command prints never see it.
    """

    WIDTH = 30

    def __init__(self, stream: TextIO, source: str) -> None:
        self.stream = stream
        self.source = source
        self.open = False  # a bar is drawn and its line not ended

    def __call__(self, step: str, done: int, total: int) -> None:
        total = max(total, done)
        if total < PROGRESS_MIN_ROWS:
            return
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.open = done < total
        print(f"\r{self.source}: {step:<8} [{bar}] {done:,}/{total:,} rows", end="" if self.open else "\n", file=self.stream, flush=True)

    def close(self) -> None:
        """End a bar's line the import left unfinished (it was refused), so what is printed next starts a line."""
        if self.open:
            print(file=self.stream, flush=True)
            self.open = False


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
    "pickfaces": CsvFormat(("bin", "sku", "min", "max"), ("bin", "sku", "min", "max")),
}


@dataclass
class _Row:
    line: int
    values: dict[str, str]


@dataclass
class _Parsed:
    columns: tuple[str, ...]
    rows: Iterator[_Row]
    data_rows: int = 0  # rows read so far, bad ones included
    estimate: int = 0  # rows the file seems to hold (its line breaks): what a progress bar counts to


def _decode(data: bytes, source: str) -> bytes:
    """The file's bytes without a BOM, once they are known to be UTF-8 text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed(source, [RowError(None, "the file is UTF-16 — save it as CSV UTF-8")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" not in data:
        try:
            data.decode("utf-8")  # checked whole, then read as a stream (a second copy of a large file is memory)
            return data
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
    return data


def _csv_error(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted value starts here and its closing quote is missing"
    if "expected after" in text:
        return 'text after a closing quote — a quote inside a quoted value must be doubled ("")'
    if "field larger than field limit" in text:
        return f"a value is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV: {text}"


def _parse(data: bytes, kind: str, source: str, problems: _Problems) -> _Parsed:
    """Check the header now; rows come lazily, and ragged or broken rows go to `problems`."""
    fmt = FORMATS[kind]
    expected = ", ".join(fmt.columns)
    if not data.strip():
        raise ImportFailed(source, [RowError(None, f"the file is empty — the first line must be the header: {expected}")])
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""), strict=True, skipinitialspace=True)
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

    estimate = max(0, data.count(b"\n") + (not data.endswith(b"\n")) - header_line)
    parsed = _Parsed(tuple(names), iter(()), estimate=estimate)

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
            if not "".join(cells).strip():
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


_TRIMMED = " \t\r\n\x0b\x0c"  # ASCII whitespace; anything else invisible around a code is refused, not trimmed
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab and line breaks allowed
_INTEGER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What str.isprintable() refuses besides controls (Cc), named where Unicode gives no name: format characters (Cf),
# line and paragraph separators (Zl, Zp), spaces other than U+0020 (Zs), private use (Co), surrogates (Cs),
# unassigned code points (Cn) — exactly the characters a code may not hold.
_NAMELESS = {"Co": "a private-use character", "Cs": "a surrogate", "Cn": "an unassigned code point"}
_TRACKINGS = [t.value for t in Tracking]
_LOT, _SERIAL = Tracking.LOT.value, Tracking.SERIAL.value  # compared for every stock row (an enum's .value is slow)
_BIN_KINDS = [k.value for k in BinKind]
_ROLES = [r.value for r in Role]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _unprintable(value: str) -> str:
    """The first character of `value` str.isprintable() refuses, named: "U+200B ZERO WIDTH SPACE"."""
    ch = next(ch for ch in value if not ch.isprintable())
    name = unicodedata.name(ch, None)
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X} ({_NAMELESS.get(unicodedata.category(ch), 'a control character')})"


def _code(values: dict[str, str], column: str, max_len: int = 64, *, required: bool = False) -> str:
    """A code (sku, bin, lot, serial, ref …): one line of visible characters, at most max_len."""
    value = (values.get(column) or "").strip(_TRIMMED)
    if not value:
        if required:
            raise InvalidInput(f"{column} is empty")
        return ""
    if not value.isprintable():
        if _CONTROL.search(value):
            raise InvalidInput(f"{column} contains a control character or line break")
        raise InvalidInput(f"{column} contains {_unprintable(value)}, which cannot be seen or typed — retype the {column}")
    if len(value) > max_len:
        raise InvalidInput(f"{column} is longer than {max_len} characters")
    return value


def _key(values: dict[str, str], column: str) -> str | None:
    """A code as a row names it, to look up before the row is checked (None: the check will refuse it)."""
    try:
        return _code(values, column) or None
    except WarehouseError:
        return None


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
    if not (value.isascii() and value.isdigit()):
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



# --------------------------------------------------------------------------- what the rows name, read set-based


class _ItemRef(NamedTuple):
    id: int
    sku: str
    owner_id: int
    owner: str
    tracking: str
    expiry_required: bool


class _BinRef(NamedTuple):
    id: int
    code: str
    barcode: str


def _items_with_skus(session: Session, skus: Iterable[str], postgres: bool) -> dict[str, list[_ItemRef]]:
    """SKU -> the items of any owner with that SKU."""
    found: dict[str, list[_ItemRef]] = defaultdict(list)
    for chunk in chunks(skus):
        for r in session.execute(select(Item.id, Item.sku, Item.owner_id, Owner.code, Item.tracking, Item.expiry_required)
                                 .join(Owner, Owner.id == Item.owner_id).where(where_in(Item.sku, chunk, postgres)).order_by(Item.id)):
            found[r[1]].append(_ItemRef(r[0], r[1], r[2], r[3], r[4], bool(r[5])))
    return found


def _bins_named(session: Session, names: Iterable[str], postgres: bool) -> dict[str, tuple[_BinRef, ...]]:
    """Name -> the bins whose code or barcode it is (lowest id first)."""
    found: dict[str, list[_BinRef]] = defaultdict(list)
    for chunk in chunks(names):
        wanted = set(chunk)
        for r in session.execute(select(Bin.id, Bin.code, Bin.barcode)
                                 .where(or_(where_in(Bin.code, chunk, postgres), where_in(Bin.barcode, chunk, postgres))).order_by(Bin.id)):
            ref = _BinRef(*r)
            if ref.code in wanted:
                found[ref.code].append(ref)
            if ref.barcode != ref.code and ref.barcode in wanted:
                found[ref.barcode].append(ref)
    return {name: tuple(refs) for name, refs in found.items()}


class _Catalog:
    """The items and bins the rows of one file name: read a chunk of rows at a time, kept for the file."""

    def __init__(self) -> None:
        self.items: dict[str, list[_ItemRef]] = {}
        self.bins: dict[str, _BinRef | None] = {}
        self.items_by_id: dict[int, _ItemRef] = {}
        self.bins_by_id: dict[int, _BinRef] = {}

    def load(self, session: Session, postgres: bool, skus: Iterable[str | None] = (), bins: Iterable[str | None] = ()) -> None:
        new_skus = {s for s in skus if s and s not in self.items}
        found = _items_with_skus(session, new_skus, postgres)
        for sku in new_skus:
            self.items[sku] = found.get(sku, [])
            self.items_by_id.update((i.id, i) for i in self.items[sku])
        new_bins = {b for b in bins if b and b not in self.bins}
        named = _bins_named(session, new_bins, postgres)
        for name in new_bins:
            refs = named.get(name, ())
            # a bin's own code before another bin's barcode (bins import keeps the two apart anyway)
            ref = next((b for b in refs if b.code == name), refs[0] if refs else None)
            self.bins[name] = ref
            if ref is not None:
                self.bins_by_id[ref.id] = ref

    def item(self, sku: str) -> _ItemRef:
        found = self.items.get(sku) or []
        if not found:
            raise NotFound(f"SKU {sku} is not known — import it with the items first")
        if len(found) > 1:
            raise InvalidInput(f"SKU {sku} exists for several owners — name the owner")
        return found[0]

    def bin(self, name: str) -> _BinRef:
        found = self.bins.get(name)
        if found is None:
            raise NotFound(f"bin {name} is not known — import it with the bins first")
        return found


# --------------------------------------------------------------------------- importers


class _Importer:
    """One kind of file.

    `check` checks a chunk of rows in the read transaction and remembers what the write needs;
    `prepare` runs between the transactions; `write` checks again what may have changed meanwhile
    (raising ImportFailed) and writes, in the write transaction; `result` sums up.
    """

    kind = ""

    def __init__(self, actor: Actor, source: str, columns: tuple[str, ...], *, upstream: bool) -> None:
        self.actor = actor
        self.source = source
        self.columns = columns
        self.upstream = upstream
        self.postgres = False
        self.rows = 0
        self.created = 0
        self.updated = 0

    def begin(self, session: Session) -> None:
        """The read transaction's first statement: on PostgreSQL, one snapshot for the whole check."""
        self.postgres = session.bind.dialect.name == "postgresql"
        if self.postgres:
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Work done between the transactions (default: none)."""

    def write(self, session: Session, progress: Progress) -> None:
        raise NotImplementedError

    def result(self) -> ImportResult:
        raise NotImplementedError


class _ItemFacts(NamedTuple):
    id: int
    tracking: str
    expiry_required: bool


class _Items(_Importer):
    kind = "items"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keys: dict[tuple[str, str], int] = {}  # (owner, sku) of accepted rows -> line
        self.gtins: dict[str, tuple[int, str, str]] = {}  # GTIN of accepted rows -> (line, owner, sku)
        self.owners: set[str] = set()
        # What the check read (and the write reads again): items by (owner, sku), GTINs' items, owners, stock on hand.
        self.existing: dict[tuple[str, str], _ItemFacts | None] = {}
        self.taken: dict[str, tuple[int, str] | None] = {}
        self.owner_ids: dict[str, int | None] = {}
        self.stocked: dict[int, bool] = {}
        self.new: list[tuple[str, str, str, str, str, bool, list[str]]] = []  # owner, sku, description, uom, tracking, expiry, GTINs
        self.changes: list[tuple[int, str, str, str, bool, list[str]]] = []  # id, description, uom, tracking, expiry, GTINs to add
        self.normalized: dict[str, str | WarehouseError] = {}  # a chunk's GTIN cells as normalize_gtin answers them

    # the database side, read the same way by the check and the write's second look

    def _read_items(self, session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _ItemFacts]:
        found = {}
        for sku, refs in _items_with_skus(session, {sku for _, sku in keys}, self.postgres).items():
            for ref in refs:
                if (ref.owner, sku) in keys:
                    found[(ref.owner, sku)] = _ItemFacts(ref.id, ref.tracking, ref.expiry_required)
        return found

    def _read_codes(self, session: Session, gtins: set[str]) -> dict[str, tuple[int, str]]:
        found = {}
        for chunk in chunks(gtins):
            for code, sku, item_id in session.execute(select(ItemCode.code, Item.sku, Item.id).join(Item, Item.id == ItemCode.item_id)
                                                      .where(where_in(ItemCode.code, chunk, self.postgres))):
                found[code] = (item_id, sku)
        return found

    def _read_owners(self, session: Session, codes: set[str]) -> dict[str, int]:
        return dict(session.execute(select(Owner.code, Owner.id).where(where_in(Owner.code, codes, self.postgres))).all()) if codes else {}

    def _read_stocked(self, session: Session, ids: set[int]) -> dict[int, bool]:
        stocked = dict.fromkeys(ids, False)
        for chunk in chunks(ids):
            for item_id in session.scalars(select(Quant.item_id).where(where_in(Quant.item_id, chunk, self.postgres), Quant.qty != 0).distinct()):
                stocked[item_id] = True
        return stocked

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        keys, gtins = set(), set()
        self.normalized = {}
        for row in rows:
            v = row.values
            sku = _key(v, "sku")
            if sku:
                keys.add((_key(v, "owner") or md.DEFAULT_OWNER, sku))
            for piece in (v.get("gtin") or "").split("|"):
                if piece.strip() and isinstance(gtin := self._gtin(piece), str):
                    gtins.add(gtin)
        keys -= self.existing.keys()
        found = self._read_items(session, keys)
        self.existing.update((key, found.get(key)) for key in keys)
        gtins -= self.taken.keys()
        codes = self._read_codes(session, gtins)
        self.taken.update((gtin, codes.get(gtin)) for gtin in gtins)
        owners = {owner for owner, _ in keys} - self.owner_ids.keys()
        owner_ids = self._read_owners(session, owners)
        self.owner_ids.update((owner, owner_ids.get(owner)) for owner in owners)
        # Whether an item has stock matters only where a row changes its tracking or expiry rule.
        changing = set()
        for row in rows:
            v = row.values
            facts = self.existing.get((_key(v, "owner") or md.DEFAULT_OWNER, _key(v, "sku")))
            if facts is not None and facts.id not in self.stocked:
                try:
                    rule = (_choice(v, "tracking", _TRACKINGS, Tracking.NONE.value) if "tracking" in v else facts.tracking,
                            _yes_no(v, "expiry") if "expiry" in v else facts.expiry_required)
                except WarehouseError:
                    continue
                if rule != (facts.tracking, facts.expiry_required):
                    changing.add(facts.id)
        self.stocked.update(self._read_stocked(session, changing))
        found_errors = []
        for row in rows:
            try:
                self._row(row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _gtin(self, piece: str) -> str | WarehouseError:
        """normalize_gtin's answer for a cell's piece, worked out once per chunk (the look-ahead asks too)."""
        if piece not in self.normalized:
            try:
                self.normalized[piece] = normalize_gtin(piece)
            except WarehouseError as exc:
                self.normalized[piece] = exc
        return self.normalized[piece]

    def _row(self, row: _Row) -> None:
        v = row.values
        sku = _code(v, "sku", required=True)
        owner_code = _code(v, "owner") or md.DEFAULT_OWNER
        key = (owner_code, sku)
        if key in self.keys:
            raise InvalidInput(f"SKU {sku} of owner {owner_code} is already on line {self.keys[key]}")
        description = _text(v, "description", 300)
        uom = _code(v, "uom", 16) or "EA"
        tracking = _choice(v, "tracking", _TRACKINGS, Tracking.NONE.value)
        expiry = _yes_no(v, "expiry")
        gtins = []
        for piece in (v.get("gtin") or "").split("|"):
            if piece.strip():
                gtin = self._gtin(piece)
                if isinstance(gtin, WarehouseError):
                    raise gtin
                if gtin not in gtins:
                    gtins.append(gtin)
        existing = self.existing.get(key)
        for gtin in gtins:
            earlier = self.gtins.get(gtin)
            if earlier is not None and earlier[1:] != key:
                raise InvalidInput(f"GTIN {gtin} is also given to SKU {earlier[2]} on line {earlier[0]}")
        for gtin in gtins:
            taken = self.taken.get(gtin)
            if taken is not None and (existing is None or taken[0] != existing.id):
                raise InvalidInput(f"GTIN {gtin} already belongs to SKU {taken[1]}")
        if existing is None:
            self.new.append((owner_code, sku, description, uom, tracking, expiry, gtins))
            self.created += 1
        else:
            new_tracking = tracking if "tracking" in v else existing.tracking
            new_expiry = expiry if "expiry" in v else existing.expiry_required
            if (new_tracking, new_expiry) != (existing.tracking, existing.expiry_required) and self.stocked.get(existing.id):
                was = f"tracking {existing.tracking}, expiry {'yes' if existing.expiry_required else 'no'}"
                now = f"tracking {new_tracking}, expiry {'yes' if new_expiry else 'no'}"
                raise InvalidInput(f"SKU {sku} has stock on hand — it cannot change from {was} to {now}")
            added = [g for g in gtins if self.taken.get(g) is None]  # the item's own codes are there already
            self.changes.append((existing.id, description, uom, new_tracking, new_expiry, added))
            self.updated += 1
        self.keys[key] = row.line
        for gtin in gtins:
            self.gtins[gtin] = (row.line, owner_code, sku)
        self.owners.add(owner_code)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        now = self._read_items(session, set(self.existing))
        changed = [f"SKU {sku}" for (owner, sku), facts in self.existing.items() if now.get((owner, sku)) != facts]
        codes = self._read_codes(session, set(self.taken))
        changed += [f"GTIN {gtin}" for gtin, taken in self.taken.items() if codes.get(gtin) != taken]
        owners = self._read_owners(session, set(self.owner_ids))
        changed += [f"owner {code}" for code, owner_id in self.owner_ids.items() if owners.get(code) != owner_id]
        stocked = self._read_stocked(session, set(self.stocked))
        changed += [f"stock of item {item_id}" for item_id, has in self.stocked.items() if stocked[item_id] != has]
        if changed:
            raise _changed(self.source, changed)
        conn = session.connection()
        new_owners = list(dict.fromkeys(owner for owner, *_ in self.new if owners.get(owner) is None))
        owners.update(zip(new_owners, insert_numbered(conn, Owner.__table__, [{"code": code, "name": code} for code in new_owners])))
        made = insert_numbered(conn, Item.__table__, [
            {"owner_id": owners[owner], "sku": sku, "description": description, "uom": uom, "tracking": tracking,
             "expiry_required": expiry, "zone": None} for owner, sku, description, uom, tracking, expiry, _ in self.new])
        if self.changes:
            table = Item.__table__
            values = {"tracking": bindparam("b_tracking"), "expiry_required": bindparam("b_expiry")}
            if "description" in self.columns:
                values["description"] = bindparam("b_description")
            if "uom" in self.columns:
                values["uom"] = bindparam("b_uom")
            session.execute(update(table).where(table.c.id == bindparam("b_id")).values(**values), [
                {"b_id": item_id, "b_description": description, "b_uom": uom, "b_tracking": tracking, "b_expiry": expiry}
                for item_id, description, uom, tracking, expiry, _ in self.changes])
        codes_rows = [{"item_id": item_id, "code": gtin, "kind": "gtin"} for item_id, (*_, gtins) in zip(made, self.new) for gtin in gtins]
        codes_rows += [{"item_id": item_id, "code": gtin, "kind": "gtin"} for item_id, *_, added in self.changes for gtin in added]
        insert_many(conn, ItemCode.__table__, codes_rows)
        if self.upstream:
            feed.note(conn, [("owner", owners[code]) for code in new_owners] + [("item", item_id) for item_id in made]
                      + [("item", item_id) for item_id, *_ in self.changes])
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        owners = len(self.owners)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} item{_s(self.rows)} ({self.created} new, {self.updated} updated; "
                            f"{owners} owner{_s(owners)})")


class _Bins(_Importer):
    kind = "bins"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.names: dict[str, tuple[int, str]] = {}  # code or barcode of accepted rows -> (line, bin code)
        self.found: dict[str, tuple[_BinRef, ...]] = {}  # name -> the bins in the database it names (what the write reads again)
        self.barcodes: dict[int, str] = {}  # existing bins given a new barcode by the file: their old one is free
        self.new: list[tuple[str, str, str, str, int]] = []  # code, barcode, zone, kind, pick_seq
        self.changes: list[tuple[int, str, str, str, int]] = []  # id, barcode, zone, kind, pick_seq

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        names = set()
        for row in rows:
            code = _key(row.values, "code")
            names.update({code, _key(row.values, "barcode") or code} - {None})
        names -= self.found.keys()
        found = _bins_named(session, names, self.postgres)
        self.found.update((name, found.get(name, ())) for name in names)
        found_errors = []
        for row in rows:
            try:
                self._row(row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _row(self, row: _Row) -> None:
        v = row.values
        code = _code(v, "code", required=True)
        barcode = _code(v, "barcode") or code
        zone = _code(v, "zone", 32)
        kind = _choice(v, "kind", _BIN_KINDS, BinKind.STORAGE.value)
        pick_seq = _integer(v, "pick_seq", 0, 2**31 - 1)
        if code in self.names and self.names[code][1] == code:
            raise InvalidInput(f"bin {code} is already on line {self.names[code][0]}")
        for name in dict.fromkeys((code, barcode)):
            if name in self.names and self.names[name][1] != code:
                line, other = self.names[name]
                raise InvalidInput(f"{name} is already bin {other}'s code or barcode (line {line})")
        existing = None
        for found in sorted({b for name in (code, barcode) for b in self.found[name]}):
            if found.code == code:
                existing = found
                continue
            if found.id in self.barcodes and code != found.code and barcode != found.code:
                continue  # an earlier row gave it another barcode: the old one is free, the new one is in self.names
            name = barcode if barcode in (found.code, found.barcode) else code
            raise InvalidInput(f"{name} is already bin {found.code}'s code or barcode")
        if existing is None:
            self.new.append((code, barcode, zone, kind, pick_seq))
            self.created += 1
        else:
            self.changes.append((existing.id, barcode, zone, kind, pick_seq))
            if "barcode" in v and barcode != existing.barcode:
                self.barcodes[existing.id] = barcode
            self.updated += 1
        self.names[code] = (row.line, code)
        self.names[barcode] = (row.line, code)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        now = _bins_named(session, set(self.found), self.postgres)
        changed = [f"bin {name}" for name, refs in self.found.items() if now.get(name, ()) != refs]
        if changed:
            raise _changed(self.source, changed)
        conn = session.connection()
        # Existing bins first, in file order: a barcode one of them gives up may be a new bin's further down.
        columns = [c for c in ("barcode", "zone", "kind", "pick_seq") if c in self.columns]
        if self.changes and columns:
            table = Bin.__table__
            session.execute(update(table).where(table.c.id == bindparam("b_id")).values(**{c: bindparam(f"b_{c}") for c in columns}), [
                {"b_id": bin_id, "b_barcode": barcode, "b_zone": zone, "b_kind": kind, "b_pick_seq": pick_seq}
                for bin_id, barcode, zone, kind, pick_seq in self.changes])
        made = insert_numbered(conn, Bin.__table__, [{"code": code, "barcode": barcode, "zone": zone, "kind": kind, "pick_seq": pick_seq,
                                                      "blocked": False} for code, barcode, zone, kind, pick_seq in self.new])
        if self.upstream:
            feed.note(conn, [("bin", bin_id) for bin_id in made] + [("bin", bin_id) for bin_id, *_ in self.changes])
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} bin{_s(self.rows)} ({self.created} new, {self.updated} updated)")


@dataclass
class _UserRow:
    line: int
    badge: str
    name: str | None
    role: str | None
    pin: str
    pin_hash: str | None = None


class _Users(_Importer):
    kind = "users"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: dict[str, int] = {}  # badge -> line of the row that named it
        self.known: dict[str, bool] = {}  # badge -> whether the database had it (what the write reads again)
        self.users: list[_UserRow] = []

    def _read_badges(self, session: Session, badges: set[str]) -> set[str]:
        return {b for chunk in chunks(badges) for b in session.scalars(select(Operator.badge).where(where_in(Operator.badge, chunk, self.postgres)))}

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        badges = {b for row in rows if (b := _key(row.values, "badge"))} - self.known.keys()
        there = self._read_badges(session, badges)
        self.known.update((badge, badge in there) for badge in badges)
        found_errors = []
        for row in rows:
            v = row.values
            try:
                badge = _code(v, "badge", required=True)
                if badge in self.seen:
                    raise InvalidInput(f"badge {badge} is already on line {self.seen[badge]}")
                name = _text(v, "name", 200) if "name" in v else None
                role = _choice(v, "role", _ROLES, Role.OPERATOR.value) if "role" in v else None
                pin = (v.get("pin") or "").strip()
                if pin:
                    check_pin_format(pin)
                self.seen[badge] = row.line
                if not pin and not self.known[badge]:
                    raise InvalidInput(f"badge {badge} is new and needs a PIN (4 to 12 digits)")
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
                continue
            self.users.append(_UserRow(row.line, badge, name, role, pin))
        problems.add_sorted(found_errors)

    def prepare(self) -> None:
        """Hash the PINs (scrypt, ~50 ms each) in threads, before the write lock is taken."""
        with_pin = [user for user in self.users if user.pin]
        with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
            for user, pin_hash in zip(with_pin, pool.map(hash_pin, [user.pin for user in with_pin])):
                user.pin_hash = pin_hash
                user.pin = ""

    def write(self, session: Session, progress: Progress) -> None:
        operators = {op.badge: op for chunk in chunks(self.known)
                     for op in session.scalars(select(Operator).where(where_in(Operator.badge, chunk, self.postgres)))}
        changed = [f"badge {badge}" for badge, there in self.known.items() if (badge in operators) != there]
        if changed:
            raise _changed(self.source, changed)
        for user in self.users:
            op = operators.get(user.badge)
            if op is None:
                op = Operator(badge=user.badge, name=user.name or "", role=user.role or Role.OPERATOR.value, pin_hash=user.pin_hash)
                session.add(op)
                session.flush()
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
                    if _clear_lock_on_new_pin(session, self.actor, op):
                        changes.append("lock cleared")
                self.updated += 1
                detail = f"{user.badge} updated by import: {', '.join(changes) or 'no change'}"
            audit(session, "user_imported", operator=self.actor.operator, badge=user.badge, terminal=self.actor.terminal, detail=detail)
            self.rows += 1
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} user{_s(self.rows)} ({self.created} new, {self.updated} updated)")


def _clear_lock_on_new_pin(session: Session, actor: Actor, operator: Operator) -> bool:
    """A badge given a new PIN starts afresh: a lock its wrong PINs put on it is lifted (auth.clear_lock,
    audited). True when it was locked. The failures counted against the old PIN are dropped even on a
    badge not yet locked. No supervisor check: whoever may import users may set their PINs.
    """
    if not operator.locked:
        operator.failed_logins = 0
        return False
    clear_lock(session, operator, by=actor, reason="a new PIN was imported")
    return True


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


class _Documents(_Importer):
    """Inbound and outbound orders: rows sharing a ref form one document, one line per row."""

    noun = ""
    model: type = InboundOrder
    line_model: type = InboundLine

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = _Catalog()
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

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        self.catalog.load(session, self.postgres, skus=(_key(row.values, "sku") for row in rows))
        refs = {ref for row in rows if (ref := _key(row.values, "ref"))} - self.found.keys()
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

    def _row(self, row: _Row) -> None:
        v = row.values
        ref = _code(v, "ref", required=True)
        if ref in self.refused:
            raise _AlreadyReported()
        header = self.header(v)
        item = self.catalog.item(_code(v, "sku", required=True))
        qty = _qty(v)
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
                    raise InvalidInput(f"{column} {_shown(str(value))} differs from {_shown(str(doc.agreed[column]))} "
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

    def line_values(self, v: dict[str, str], item: _ItemRef) -> dict[str, object]:
        return {}

    def open_document(self, ref: str, header: dict[str, object], v: dict[str, str], line: int) -> _Document:
        raise NotImplementedError

    def _recheck(self, session: Session) -> None:
        now = self._read_documents(session, set(self.found))
        changed = [f"{self.noun} {ref}" for ref, facts in self.found.items() if now.get(ref) != facts]
        if changed:
            raise _changed(self.source, changed)

    def result(self) -> ImportResult:
        docs, lines = len(self.docs), len(self.lines)
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {docs} {self.noun}{_s(docs)} with {lines} line{_s(lines)} "
                            f"({self.created} new, {self.updated} replaced)")


class _Inbound(_Documents):
    """Written through the ORM: on a terminal that syncs, a PO made or replaced here goes up as document operations."""

    kind = "inbound"
    noun = "inbound order"
    model = InboundOrder
    line_model = InboundLine

    def worked(self, line):
        return line.qty_received != 0

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {"supplier": _text(v, "supplier", 200)}

    def line_values(self, v: dict[str, str], item: _ItemRef) -> dict[str, object]:
        lot = _code(v, "lot")
        expiry = _date(v, "expiry")
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


class _Orders(_Documents):
    """Written set-based: no sync hook takes note of an order made here (orders come down from the upstream)."""

    kind = "orders"
    noun = "order"
    model = OutboundOrder
    line_model = OutboundLine

    def worked(self, line):
        return (line.qty_allocated != 0) | (line.qty_picked != 0)

    def header(self, v: dict[str, str]) -> dict[str, object]:
        return {
            "channel": _code(v, "channel"),
            "ship_to": _text(v, "ship_to", 300),
            "priority": _integer(v, "priority", -999_999, 999_999) if (v.get("priority") or "").strip() else None,
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
            feed.note(conn, [("outbound", order_id) for order_id in ids.values()])


class _StockRow(NamedTuple):
    line: int
    item: _ItemRef
    bin: _BinRef
    lot: str  # "" for none
    expiry: dt.date | None
    serial: str  # "" for none
    qty: int


class _Stock(_Importer):
    """Opening balances, booked by the batch ledger; a million rows are kept as a few arrays until the write."""

    kind = "stock"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = _Catalog()
        # Lots as the ledger will see them, row by row: (item id, code) -> the index of its present version in
        # `versions`, a (lot id or None while the file makes it, code, expiry); a lot whose expiry a row gives gets
        # a new version, so each row's movement carries the expiry its lot had when it was booked.
        self.lot_at: dict[tuple[int, str], int] = {}
        self.versions: list[tuple[int | None, str, dt.date | None]] = []
        self.serials: dict[tuple[int, str], int] = {}  # (item id, serial) of accepted rows -> line
        # The accepted rows, a column each.
        self.lines = array("q")
        self.item_ids = array("q")
        self.bin_ids = array("q")
        self.lot_of = array("q")  # index into versions, -1 for no lot
        self.qtys = array("q")
        self.serial_of: list[str | None] = []
        self.units = 0
        self.items: set[int] = set()
        self.bins: set[int] = set()
        self.last_seq = 0

    def begin(self, session: Session) -> None:
        super().begin(session)
        self.last_seq = session.scalar(select(func.coalesce(func.max(Movement.seq), 0))) or 0

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        names = [(_key(row.values, "bin"), _key(row.values, "sku")) for row in rows]
        self.catalog.load(session, self.postgres, skus=(sku for _, sku in names), bins=(bin_ for bin_, _ in names))
        found_errors = []
        candidates = []
        for row, (bin_name, sku) in zip(rows, names):
            try:
                candidates.append(self._values(row, bin_name, sku))
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        in_stock, held = self._read_places(session, candidates)
        for row in candidates:
            try:
                self._accept(row, in_stock, held)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _values(self, row: _Row, bin_name: str | None, sku: str | None) -> _StockRow:
        """The row's own rules: what it names must exist and its values fit the item's tracking.

        `bin_name` and `sku` are the row's codes as _key read them (None: _code refuses them, and says why here).
        """
        v = row.values
        bin_ = self.catalog.bin(bin_name or _code(v, "bin", required=True))
        item = self.catalog.item(sku or _code(v, "sku", required=True))
        lot_code = _code(v, "lot")
        expiry = _date(v, "expiry")
        serial = _code(v, "serial")
        if item.tracking == _SERIAL:
            if not serial:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — fill in serial, one row per unit")
            qty = _qty(v) if (v.get("qty") or "").strip() else 1
            if qty != 1:
                raise InvalidInput(f"SKU {item.sku} is serial-tracked — qty must be 1 (or empty) per serial, not {qty}")
        else:
            if serial:
                raise InvalidInput(f"SKU {item.sku} is not serial-tracked — leave serial empty")
            qty = _qty(v)
        if item.tracking == _LOT and not lot_code:
            raise InvalidInput(f"SKU {item.sku} is lot-tracked — fill in lot")
        if item.expiry_required and expiry is None:
            raise InvalidInput(f"SKU {item.sku} needs an expiry date — fill in expiry (YYYY-MM-DD)")
        lot_carrier = item.tracking == _LOT or item.expiry_required
        if lot_code and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} is not lot-tracked — leave lot empty")
        if expiry is not None and not lot_carrier:
            raise InvalidInput(f"SKU {item.sku} has no expiry date — leave expiry empty")
        if item.expiry_required and not lot_code:
            lot_code = expiry_lot_code(expiry)  # the lot receiving would make for this expiry
        return _StockRow(row.line, item, bin_, lot_code, expiry, serial, qty)

    def _read_places(self, session: Session, rows: list[_StockRow]) -> tuple[dict[tuple[int, str], str | None], dict[tuple, int]]:
        """For a chunk: its lots (kept), its serials in stock (-> bin code) and the stock its places hold (-> qty)."""
        lots = {(r.item.id, r.lot) for r in rows if r.lot} - self.lot_at.keys()
        for chunk in chunks(lots):
            table, on = key_table((Lot.item_id, Lot.code), chunk, self.postgres)
            for lot_id, item_id, code, expiry in session.execute(select(Lot.id, Lot.item_id, Lot.code, Lot.expiry).select_from(table).join(Lot, on)):
                self.lot_at[(item_id, code)] = len(self.versions)
                self.versions.append((lot_id, code, expiry))
        return (self._serials_in_stock(session, {(r.item.id, r.serial) for r in rows if r.serial}),
                self._stock_in_places(session, {(r.item.id, r.bin.id) for r in rows}))

    def _serials_in_stock(self, session: Session, serials: set[tuple[int, str]]) -> dict[tuple[int, str], str | None]:
        found = {}
        for chunk in chunks(serials):
            table, on = key_table((SerialUnit.item_id, SerialUnit.serial), chunk, self.postgres)
            for item_id, serial, code in session.execute(select(SerialUnit.item_id, SerialUnit.serial, Bin.code).select_from(table)
                                                         .join(SerialUnit, on).outerjoin(Bin, Bin.id == SerialUnit.bin_id)
                                                         .where(SerialUnit.status == "in_stock")):
                found[(item_id, serial)] = code
        return found

    def _stock_in_places(self, session: Session, places: set[tuple[int, int]]) -> dict[tuple[int, int, str | None], int]:
        """(item id, bin id, lot code or None) -> the quantity its quants add up to (containers, owners, statuses together)."""
        held = {}
        for chunk in chunks(places):
            table, on = key_table((Quant.item_id, Quant.bin_id), chunk, self.postgres)
            for item_id, bin_id, code, qty in session.execute(
                    select(Quant.item_id, Quant.bin_id, Lot.code, func.sum(Quant.qty)).select_from(table).join(Quant, on)
                    .outerjoin(Lot, Lot.id == Quant.lot_id).group_by(Quant.item_id, Quant.bin_id, Lot.code)):
                held[(item_id, bin_id, code)] = int(qty or 0)
        return held

    def _accept(self, row: _StockRow, in_stock: dict[tuple[int, str], str | None], held: dict[tuple, int]) -> None:
        """The rules against the database and the file's earlier rows; an accepted row is kept for the write."""
        item, serial = row.item, row.serial
        if serial:
            earlier = self.serials.get((item.id, serial))
            if earlier is not None:
                raise InvalidInput(f"serial {serial} of {item.sku} is already on line {earlier}")
            if (item.id, serial) in in_stock:
                where = in_stock[(item.id, serial)]
                raise InvalidInput(f"serial {serial} of {item.sku} is already in stock in {where or 'the warehouse'}")
        version = self.lot_at.get((item.id, row.lot)) if row.lot else None
        if version is not None and row.expiry is not None:
            known = self.versions[version][2]
            if known is not None and known != row.expiry:  # a lot's expiry, once known, cannot change (masterdata.lot)
                raise InvalidInput(f"Lot {row.lot} of {item.sku} expires {known:%Y-%m-%d}, not {row.expiry:%Y-%m-%d}")
        stocked = held.get((item.id, row.bin.id, row.lot or None), 0)
        if stocked:
            what = item.sku + (f" lot {row.lot}" if row.lot else "")
            raise InvalidInput(f"{row.bin.code} already holds {stocked} of {what} — opening stock goes into empty places; count the bin instead")
        if row.lot:
            if version is None or (row.expiry is not None and self.versions[version][2] is None):
                lot_id = self.versions[version][0] if version is not None else None
                version = self.lot_at[(item.id, row.lot)] = len(self.versions)
                self.versions.append((lot_id, row.lot, row.expiry))
        if serial:
            self.serials[(item.id, serial)] = row.line
        self.lines.append(row.line)
        self.item_ids.append(item.id)
        self.bin_ids.append(row.bin.id)
        self.lot_of.append(version if row.lot else -1)
        self.qtys.append(row.qty)
        self.serial_of.append(serial or None)
        self.units += row.qty
        self.items.add(item.id)
        self.bins.add(row.bin.id)
        self.rows += 1
        self.created += 1

    # ------------------------------------------------------------------ the write

    def write(self, session: Session, progress: Progress) -> None:
        changed = self._stocked_meanwhile(session)
        if changed:
            raise ImportFailed(self.source, changed[:MAX_REPORTED], len(changed))
        ledger = BatchLedger(session, strict=True, origin=feed.UPSTREAM if self.upstream else "local")
        conn = session.connection()
        at = utcnow()
        at_text = at.isoformat()
        total = len(self.lines)
        for start in range(0, total, WRITE_CHUNK):
            end = min(total, start + WRITE_CHUNK)
            payloads = [self._payload(n, at_text) for n in range(start, end)]
            booked = ledger.book(payloads)
            refused = [RowError(self.lines[start + k], b.reason or b.result) for k, b in enumerate(booked) if b.result != BOOKED]
            if refused:  # the ledger's own refusal, or what changed meanwhile: nothing of the file stays
                raise ImportFailed(self.source, refused[:MAX_REPORTED], len(refused))
            if self.upstream:
                feed.note(conn, [("movement", b.seq) for b in booked])  # the upstream's record of a movement is its feed
            else:
                insert_many(conn, OutboxEntry.__table__, [{"uuid": p["id"], "kind": "movement", "terminal": self.actor.terminal,
                                                           "created_at": at, "payload": p} for p in payloads])
            progress("writing", end, total)

    def _payload(self, n: int, at: str) -> dict:
        """Row n's movement as ledger.post writes it into the outbox (and the batch ledger books it)."""
        item = self.catalog.items_by_id[self.item_ids[n]]
        lot = self.versions[self.lot_of[n]] if self.lot_of[n] >= 0 else None
        return {
            "id": str(uuid.uuid4()),
            "kind": MovementKind.ADJUST.value,
            "sku": item.sku,
            "owner": item.owner,
            "qty": self.qtys[n],
            "lot": lot[1] if lot else None,
            "expiry": lot[2].isoformat() if lot and lot[2] else None,
            "serial": self.serial_of[n],
            "from_bin": None,
            "to_bin": self.catalog.bins_by_id[self.bin_ids[n]].code,
            "from_container": None,
            "to_container": None,
            "from_status": AVAILABLE,
            "to_status": AVAILABLE,
            "operator": self.actor.badge,
            "terminal": self.actor.terminal,
            "at": at,
            "ref": OPENING_DOC_REF,
            "consume_reserved": 0,
        }

    def _stocked_meanwhile(self, session: Session) -> list[RowError]:
        """Rows whose place or serial got stock since the check began (then the file is refused)."""
        if self.postgres:
            # Seqs may commit out of order here: read the file's places and serials again.
            held = self._stock_in_places(session, set(zip(self.item_ids, self.bin_ids)))
            places = {key for key, qty in held.items() if qty}
            serials = set(self._serials_in_stock(session, set(self.serials)))
        else:
            # SQLite: writers take turns and movement seqs grow in commit order, so what was booked since the
            # check's snapshot is exactly the movements above the last seq it saw.
            places, serials = set(), set()
            for item_id, from_bin, to_bin, code, serial in session.execute(
                    select(Movement.item_id, Movement.from_bin_id, Movement.to_bin_id, Lot.code, Movement.serial)
                    .outerjoin(Lot, Lot.id == Movement.lot_id).where(Movement.seq > self.last_seq)):
                places.update((item_id, bin_id, code) for bin_id in (from_bin, to_bin) if bin_id is not None)
                if serial is not None:
                    serials.add((item_id, serial))
        if not places and not serials:
            return []
        found = []
        for n, line in enumerate(self.lines):
            item = self.catalog.items_by_id[self.item_ids[n]]
            lot = self.versions[self.lot_of[n]][1] if self.lot_of[n] >= 0 else None
            serial = self.serial_of[n]
            if (item.id, self.bin_ids[n], lot) in places:
                what = item.sku + (f" lot {lot}" if lot else "")
                where = self.catalog.bins_by_id[self.bin_ids[n]].code
                found.append(RowError(line, f"{where} got stock of {what} from another terminal while the file was being checked "
                                            "— import the file again"))
            elif serial and (item.id, serial) in serials:
                found.append(RowError(line, f"serial {serial} of {item.sku} was booked by another terminal while the file was being "
                                            "checked — import the file again"))
        return found

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, 0,
                            f"Imported opening stock: {self.units} unit{_s(self.units)} in {self.rows} row{_s(self.rows)} "
                            f"({len(self.items)} item{_s(len(self.items))}, {len(self.bins)} bin{_s(len(self.bins))})")


class _PickFaces(_Importer):
    """Pick-face settings (bin,sku,min,max): a pick bin holds one SKU, kept between min and max by replenishment."""

    kind = "pickfaces"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = _Catalog()
        self.faces: dict[int, tuple[int, int, int, int]] = {}  # bin id -> (line, item id, min, max)
        self.bin_kinds: dict[int, str] = {}

    def check(self, session: Session, rows: list[_Row], problems: _Problems) -> None:
        self.catalog.load(session, self.postgres, skus=(_key(r.values, "sku") for r in rows), bins=(_key(r.values, "bin") for r in rows))
        ids = [b.id for b in self.catalog.bins_by_id.values() if b.id not in self.bin_kinds]
        for chunk in chunks(ids):
            self.bin_kinds.update(session.execute(select(Bin.id, Bin.kind).where(Bin.id.in_(chunk))).all())
        found_errors = []
        for row in rows:
            try:
                self._row(session, row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _row(self, session: Session, row: _Row) -> None:
        v = row.values
        bin_ = self.catalog.bin(_code(v, "bin", required=True))
        item = self.catalog.item(_code(v, "sku", required=True))
        low, high = _integer(v, "min", 1, MAX_QTY, 0), _integer(v, "max", 1, MAX_QTY, 0)
        if low < 1 or high < 1:
            raise InvalidInput("min and max must be whole numbers of at least 1")
        if low >= high:
            raise InvalidInput(f"min {low} must be less than max {high}")
        if self.bin_kinds.get(bin_.id) != BinKind.PICK.value:
            raise InvalidInput(f"bin {bin_.code} is a {self.bin_kinds.get(bin_.id)} bin, not a pick bin")
        if bin_.id in self.faces:
            raise InvalidInput(f"bin {bin_.code} is already on line {self.faces[bin_.id][0]} — a face holds one SKU")
        other = session.execute(select(Item.sku).join(Quant, Quant.item_id == Item.id)
                                .where(Quant.bin_id == bin_.id, Quant.item_id != item.id, Quant.qty != 0).limit(1)).first()
        if other is not None:
            raise InvalidInput(f"bin {bin_.code} holds {other[0]} — a face holds one SKU; empty it first")
        self.faces[bin_.id] = (row.line, item.id, low, high)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        existing = {f.bin_id: f for f in session.scalars(select(PickFace).where(PickFace.bin_id.in_(list(self.faces))))}
        for bin_id, (_line, item_id, low, high) in self.faces.items():
            face = existing.get(bin_id)
            if face is None:
                session.add(PickFace(bin_id=bin_id, item_id=item_id, min_qty=low, max_qty=high))
                self.created += 1
            else:
                face.item_id, face.min_qty, face.max_qty = item_id, low, high
                self.updated += 1
        session.flush()
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} pick face{_s(self.rows)} ({self.created} new, {self.updated} updated)")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


IMPORTERS: dict[str, type[_Importer]] = {cls.kind: cls for cls in (_Items, _Bins, _Users, _Inbound, _Orders, _Stock, _PickFaces)}


# --------------------------------------------------------------------------- entry points


def import_file(db: Database, kind: str, path: str | Path, actor: Actor, *, on_progress: Progress | None = None) -> ImportResult:
    """Import one CSV file of `kind`, whole or not at all; raises ImportFailed (nothing imported) on any bad row."""
    path = Path(path)
    # (no local name for the bytes: import_bytes lets a large file's text go once it is checked)
    return import_bytes(db, kind, _read(path), actor, source=path.name, on_progress=on_progress)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImportFailed(str(path), [RowError(None, f"cannot read the file: {exc.strerror or exc}")]) from None


def import_bytes(db: Database, kind: str, data: bytes, actor: Actor, *, source: str = "<input>",
                 on_progress: Progress | None = None) -> ImportResult:
    """Import CSV content given as bytes; the same rules as `import_file`."""
    if kind not in IMPORTERS:
        raise InvalidInput(f"cannot import {kind!r}: the kinds are {', '.join(IMPORTERS)}")
    progress = on_progress or _no_progress
    problems = _Problems()
    parsed = _parse(_decode(data, source), kind, source, problems)
    importer = IMPORTERS[kind](actor, source, parsed.columns, upstream=db.is_upstream)
    started = time.perf_counter()
    with db.reading() as session, _page_cache(session):
        importer.begin(session)
        while rows := list(islice(parsed.rows, CHECK_CHUNK)):
            importer.check(session, rows, problems)
            progress("checking", parsed.data_rows, max(parsed.estimate, parsed.data_rows))
    del data, rows
    parsed.rows = iter(())  # the file's text is not needed any more: a large one gives its memory back to the write
    progress("checking", parsed.data_rows, parsed.data_rows)
    if problems:
        raise ImportFailed(source, problems.shown, problems.total)
    if parsed.data_rows == 0:
        return ImportResult(kind, 0, message=f"Nothing imported: {source} has a header but no rows")
    importer.prepare()
    checked = time.perf_counter()
    try:
        with db.transaction() as session, _page_cache(session):
            importer.write(session, progress)
    except OperationalError as exc:
        if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
            raise
        raise ImportFailed(source, [RowError(None, "the database stayed busy with another terminal's write — nothing imported; "
                                                   "import the file again")]) from None
    except IntegrityError as exc:
        # A key another terminal took between the check and the write (the check's second look came first).
        reason = str(exc.orig).splitlines()[0]
        raise ImportFailed(source, [RowError(None, f"the database refused the file ({reason}): another terminal changed the same "
                                                   "data while it was being checked — import the file again")]) from None
    written = time.perf_counter()
    return replace(importer.result(), checking_s=checked - started, writing_s=written - checked)


def _no_progress(step: str, done: int, total: int) -> None:
    pass


@contextlib.contextmanager
def _page_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of PAGE_CACHE_KIB for the import's connection, given back afterwards.

    A large file's lookups and index inserts touch pages all over the tables; in the 2 MB a connection
    starts with, the inserts read the same pages from the file again and again.
    """
    if session.bind.dialect.name != "sqlite":
        yield
        return
    raw = session.connection().connection.dbapi_connection  # works whatever state the session ends in
    was = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(was)}")
