"""The expiry report: stock of lots expiring between --from and --to, per lot and bin, soonest first.

Days left are counted from today (the app's clock); an expired lot still in
stock has negative days left (ask with an earlier --from to see them).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse_tui import clock
from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.services.reports import Options, Report
from warehouse_tui.services.reports.charts import Chart
from warehouse_tui.services.reports.floor_scope import owner_id

KEYS = ("sku", "lot", "expiry", "days_left", "bin", "qty")


def build(session: Session, opts: Options):
    wanted = owner_id(session, opts.owner)
    today = clock.today()
    lots = fm.expiring_lots(session, today, (opts.date_to - today).days, wanted, since=opts.date_from)
    for lot in lots:
        for bin_code, qty in lot.by_bin:
            yield (lot.sku, lot.lot, lot.expiry.isoformat(), lot.days_left, bin_code, qty)


def charts(rows: list[tuple]) -> list[Chart]:
    return [Chart("Units expiring (sku lot, days left)", "units", tuple((f"{r[0]} {r[1]} ({r[3]}d) {r[4]}", r[5]) for r in rows))]


REPORT = Report("expiry", "stock of lots expiring from --from to --to, per lot and bin, with days left", KEYS, build, charts)
