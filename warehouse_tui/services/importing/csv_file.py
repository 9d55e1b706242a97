"""Reading an import file: UTF-8 checks, the header and its columns per kind, rows with their line numbers."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from warehouse_tui.services.importing.results import ImportFailed, Problems, RowError


@dataclass(frozen=True)
class CsvFormat:
    columns: tuple[str, ...]  # in the order of DESIGN §6
    required: tuple[str, ...]


FORMATS: dict[str, CsvFormat] = {
    "items": CsvFormat(("sku", "description", "gtin", "uom", "tracking", "expiry", "owner"), ("sku",)),
    "bins": CsvFormat(("code", "barcode", "zone", "kind", "pick_seq"), ("code",)),
    "users": CsvFormat(("badge", "name", "role", "pin"), ("badge", "pin")),
    "inbound": CsvFormat(("ref", "supplier", "sku", "qty", "lot", "expiry"), ("ref", "sku", "qty")),
    "orders": CsvFormat(("ref", "channel", "ship_to", "priority", "sku", "qty", "carrier", "service"), ("ref", "sku", "qty")),
    "stock": CsvFormat(("bin", "sku", "qty", "lot", "expiry", "serial"), ("bin", "sku")),
    "returns": CsvFormat(("ref", "order", "sku", "qty", "serial", "reason"), ("ref", "order", "sku", "qty")),
    "pickfaces": CsvFormat(("bin", "sku", "min", "max"), ("bin", "sku", "min", "max")),
}


@dataclass
class Row:
    line: int
    values: dict[str, str]


@dataclass
class Parsed:
    columns: tuple[str, ...]
    rows: Iterator[Row]
    data_rows: int = 0  # rows read so far, bad ones included
    estimate: int = 0  # rows the file seems to hold (its line breaks): what a progress bar counts to


def decode(data: bytes, source: str) -> bytes:
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
    problems = Problems()
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


def parse(data: bytes, kind: str, source: str, problems: Problems) -> Parsed:
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
    parsed = Parsed(tuple(names), iter(()), estimate=estimate)

    def rows() -> Iterator[Row]:
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
            yield Row(start, dict(zip(names, cells)))

    parsed.rows = rows()
    return parsed


def _names(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"'{n}'" for n in names)
