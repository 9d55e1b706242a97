"""The dock-to-stock report: per day of putaway, how long received units waited in receiving.

Each unit put away is matched first in, first out to the receipt that brought it
(same item, lot, client and receiving bin or LPN; receipts up to 30 days before
the range count). Per UTC day of putaway: units, median and p90 minutes over units.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.services.reports import Options, Report
from warehouse_tui.services.reports.charts import Chart
from warehouse_tui.services.reports.floor_scope import day_range, owner_id

KEYS = ("date", "units", "median_minutes", "p90_minutes")


def build(session: Session, opts: Options):
    wanted = owner_id(session, opts.owner)
    start, end = day_range(opts)
    by_day = defaultdict(list)
    for at, minutes, units in fm.putaway_waits(session, start, end, wanted):
        by_day[at.date()].append((minutes, units))
    for d in sorted(by_day):
        result = fm.dock_to_stock_of(by_day[d])
        yield (d.isoformat(), result.units, result.median_minutes, result.p90_minutes)


def charts(rows: list[tuple]) -> list[Chart]:
    return [Chart("Dock to stock, median", "min", tuple((r[0], r[2] or 0) for r in rows)),
            Chart("Dock to stock, p90", "min", tuple((r[0], r[3] or 0) for r in rows))]


REPORT = Report("dock-to-stock", "per day of putaway: units put away, median and p90 minutes from receipt to putaway",
                KEYS, build, charts)
