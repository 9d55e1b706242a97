"""The productivity report: per operator per day, hours logged in, lines and units worked, and their rates.

Lines and units are the operator's movements of the hand-worked kinds (receipt,
putaway, move, pick, pack, ship) by the movement's UTC day. Hours logged in come
from the audit log (login to logout, idle logout or the next login at the same
terminal), cut at midnight and merged across terminals: a shift across midnight
counts on both days, an operator logged in on two terminals at once counts
those hours once. Rates are per hour logged in (0 without a login that day).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Movement, Operator
from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.services.reports import Options, Report
from warehouse_tui.services.reports.charts import Chart
from warehouse_tui.services.reports.floor_scope import day_range, days, owner_id

KEYS = ("date", "operator", "hours", "lines", "units", "lines_per_hour", "units_per_hour", "picked_lines", "picked_units")


def build(session: Session, opts: Options):
    wanted = owner_id(session, opts.owner)
    start, end = day_range(opts)
    day = func.date(Movement.at)
    scoped = [Movement.owner_id == wanted] if wanted is not None else []
    work: dict[tuple[dt.date, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for when, op, kind, lines, units in session.execute(
            select(day, Movement.operator_id, Movement.kind, func.count(), func.sum(Movement.qty))
            .where(Movement.at >= start, Movement.at < end, Movement.kind.in_(fm.WORK_KINDS),
                   Movement.operator_id.is_not(None), *scoped)
            .group_by(day, Movement.operator_id, Movement.kind)):
        row = work[(_day(when), op)]
        row[0] += lines
        row[1] += int(units or 0)
        if kind == "pick":
            row[2] += lines
            row[3] += int(units or 0)
    hours: dict[tuple[dt.date, int], float] = {}
    for d in days(opts):
        since = dt.datetime.combine(d, dt.time())
        for op, spans in fm.presence(session, since, since + dt.timedelta(days=1)).items():
            hours[(d, op)] = fm.hours_in(spans)
    keys = set(work) | ({k for k in hours if wanted is None})
    badges = dict(session.execute(select(Operator.id, Operator.badge)).all())
    for d, op in sorted(keys, key=lambda k: (k[0], badges.get(k[1], ""))):
        lines, units, picked_lines, picked_units = work[(d, op)]
        h = hours.get((d, op), 0.0)
        yield (d.isoformat(), badges.get(op, str(op)), round(h, 2), lines, units, fm._rate(lines, h), fm._rate(units, h),
               picked_lines, picked_units)


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def charts(rows: list[tuple]) -> list[Chart]:
    return [Chart("Units per hour logged in", "units/h", tuple((f"{r[0]} {r[1]}", r[6]) for r in rows)),
            Chart("Lines per hour logged in", "lines/h", tuple((f"{r[0]} {r[1]}", r[5]) for r in rows))]


REPORT = Report("productivity", "per operator per day: hours logged in (audit log, merged across terminals), "
                "lines and units worked (ledger) and per hour", KEYS, build, charts)
