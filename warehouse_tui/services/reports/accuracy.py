"""The accuracy report: inventory record accuracy per day from the counts finished that day.

A count's result is the lines of its last attempt (expected by the books, counted
on the shelf), dated by the start of that attempt (UTC day). Per day: lines,
lines that matched, their share, units counted, units of absolute variance and
1 - variance / counted (WERC's best in class is 99.9 % or better).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy.orm import Session

from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.services.reports import Options, Report
from warehouse_tui.services.reports.charts import Chart
from warehouse_tui.services.reports.floor_scope import day_range, owner_id

KEYS = ("date", "lines", "matched", "line_accuracy_pct", "units_counted", "abs_variance_units", "unit_accuracy_pct")


def build(session: Session, opts: Options):
    wanted = owner_id(session, opts.owner)
    start, end = day_range(opts)
    by_day: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for when, expected, counted in fm.count_lines(session, start, end, wanted):
        by_day[dt.date.fromisoformat(str(when)[:10])].append((int(expected), int(counted)))
    for d in sorted(by_day):
        a = fm.accuracy_of(by_day[d])
        yield (d.isoformat(), a.lines, a.matched, _pct(a.line_accuracy), a.units_counted, a.abs_variance, _pct(a.unit_accuracy))


def _pct(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 2)


def charts(rows: list[tuple]) -> list[Chart]:
    return [Chart("Unit accuracy (1 - |variance| / counted)", "%", tuple((r[0], r[6] or 0) for r in rows)),
            Chart("Count lines matching the books", "%", tuple((r[0], r[3] or 0) for r in rows))]


REPORT = Report("accuracy", "per day: count lines that matched the books, units of absolute variance / units counted",
                KEYS, build, charts)
