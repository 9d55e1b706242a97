"""Reports (`warehouse-tui report KIND`): a registry of report kinds, one module per kind in this package.

A module here that defines `REPORT = Report(...)` is a kind: `kinds()` finds it
by name, so a new report is a new module and nothing else changes. A report
builds its rows from a read-only session and the common options (owner, from,
to); `write` renders them as CSV (formula-safe, like every export), JSON (a
list of objects) or a plain HTML table.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.errors import InvalidInput

FORMATS = ("csv", "json", "html")


@dataclass(frozen=True)
class Options:
    """What every report may be asked for: one client (None: all), a day range (inclusive)."""

    owner: str | None
    date_from: dt.date
    date_to: dt.date


@dataclass(frozen=True)
class Report:
    name: str
    help: str
    keys: tuple[str, ...]
    build: Callable[[Session, Options], Iterable[tuple]]


def kinds() -> dict[str, Report]:
    """Every report kind of this package, by name."""
    found: dict[str, Report] = {}
    for module in pkgutil.iter_modules(__path__):
        report = getattr(importlib.import_module(f"{__name__}.{module.name}"), "REPORT", None)
        if isinstance(report, Report):
            found[report.name] = report
    return dict(sorted(found.items()))


def parse_day(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a day like 2026-12-01, not {text!r}") from None


def options(owner: str | None, date_from: str | None, date_to: str | None) -> Options:
    """The options as given on the command line; both days default to today (by the app's clock)."""
    start = parse_day(date_from, "--from")
    end = parse_day(date_to, "--to")
    today = clock.today()
    start, end = start or end or today, end or start or today
    if start > end:
        raise InvalidInput(f"--from {start} is after --to {end}")
    return Options(owner.strip() if owner else None, start, end)


def run(session: Session, kind: str, opts: Options, fmt: str, out: TextIO) -> int:
    """Build report `kind` and write it to `out`; returns the number of rows."""
    reports = kinds()
    if kind not in reports:
        raise InvalidInput(f"no report {kind!r}: the reports are {', '.join(reports)}")
    if fmt not in FORMATS:
        raise InvalidInput(f"report format must be {', '.join(FORMATS)}, not {fmt!r}")
    report = reports[kind]
    records = list(report.build(session, opts))  # built whole before a byte is written: a refusal leaves no half report
    if fmt == "csv":
        from warehouse_tui.services.exporting import _write_csv

        return _write_csv(report.keys, records, out)
    if fmt == "json":
        items = [json.dumps(dict(zip(report.keys, r)), ensure_ascii=False, default=str) for r in records]
        out.write("[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n")
        return len(records)
    out.write(f"<table>\n<tr>{''.join(f'<th>{html.escape(k)}</th>' for k in report.keys)}</tr>\n")
    for r in records:
        out.write("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in r) + "</tr>\n")
    out.write("</table>\n")
    return len(records)
