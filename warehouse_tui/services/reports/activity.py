"""The activity report: what a 3PL bills, per client per day.

For each owner (client) and each day of the range: units and lines received,
put away, picked, packed, shipped and returned (a line is one movement of that
kind), cartons shipped, and bin-days of storage: the bins holding the client's
stock at the end of that day. Days are UTC calendar days, as movement times
are stored. A day with no activity and no stock gives no row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Movement, Owner
from warehouse_tui.services.exporting import owner_id
from warehouse_tui.services.reports import Options, Report

ACTIVITIES = (("received", "receipt"), ("putaway", "putaway"), ("picked", "pick"), ("packed", "pack"),
              ("shipped", "ship"), ("returned", "return"))
KEYS = ("date", "owner", *(f"{name}_{what}" for name, _ in ACTIVITIES for what in ("units", "lines")),
        "cartons_shipped", "bin_days")


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def build(session: Session, opts: Options):
    wanted = owner_id(session, opts.owner) if opts.owner else None
    start = dt.datetime.combine(opts.date_from, dt.time())
    end = dt.datetime.combine(opts.date_to + dt.timedelta(days=1), dt.time())
    owners = dict(session.execute(select(Owner.id, Owner.code)).all())
    day = func.date(Movement.at)
    scoped = [Movement.owner_id == wanted] if wanted is not None else []

    activity: dict[tuple[int, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    kinds = {kind: name for name, kind in ACTIVITIES}
    for owner, when, kind, units, lines in session.execute(
            select(Movement.owner_id, day, Movement.kind, func.sum(Movement.qty), func.count())
            .where(Movement.at >= start, Movement.at < end, Movement.kind.in_(list(kinds)), *scoped)
            .group_by(Movement.owner_id, day, Movement.kind)):
        row = activity[(owner, _day(when))]
        row[f"{kinds[kind]}_units"] += int(units or 0)
        row[f"{kinds[kind]}_lines"] += int(lines)
    for owner, when, cartons in session.execute(
            select(Movement.owner_id, day, func.count(distinct(Movement.from_container_id)))
            .where(Movement.at >= start, Movement.at < end, Movement.kind == "ship", *scoped)
            .group_by(Movement.owner_id, day)):
        activity[(owner, _day(when))]["cartons_shipped"] += int(cartons)

    # Storage: each bin's balance per client, day by day, from every movement up to the range's end.
    deltas: dict[tuple[int, int], dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for column, sign in ((Movement.to_bin_id, 1), (Movement.from_bin_id, -1)):
        for owner, bin_id, when, qty in session.execute(
                select(Movement.owner_id, column, day, func.sum(Movement.qty))
                .where(column.is_not(None), Movement.at < end, *scoped).group_by(Movement.owner_id, column, day)):
            deltas[(owner, bin_id)][_day(when)] += sign * int(qty or 0)
    days = [opts.date_from + dt.timedelta(days=n) for n in range((opts.date_to - opts.date_from).days + 1)]
    for (owner, _bin), by_day in deltas.items():
        changes = sorted(by_day.items())
        balance, i = 0, 0
        for d in days:
            while i < len(changes) and changes[i][0] <= d:
                balance += changes[i][1]
                i += 1
            if balance > 0:
                activity[(owner, d)]["bin_days"] += 1

    for (owner, d) in sorted(activity, key=lambda k: (k[1], owners.get(k[0], ""))):
        row = activity[(owner, d)]
        yield (d.isoformat(), owners.get(owner, str(owner)), *(row[k] for k in KEYS[2:]))


REPORT = Report("activity", "per client per day: units and lines received, put away, picked, packed, shipped, returned; "
                "cartons shipped; bin-days of storage", KEYS, build)
