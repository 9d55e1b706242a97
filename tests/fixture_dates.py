"""Expiry dates for test fixtures, relative to the app's clock (warehouse_tui.clock), so no fixture expires.

A fixed expiry in a test is a date the test stops working on; these move with the
clock, also when a whole run is moved with WAREHOUSE_CLOCK. Read when a module
loads, so each keeps a margin of months: a run that crosses midnight still finds
them ahead.
"""

from __future__ import annotations

import datetime as dt

from warehouse_tui import clock


def ahead(days: int) -> dt.date:
    """The day `days` after the clock's today."""
    return clock.today() + dt.timedelta(days=days)


def yymmdd(day: dt.date) -> str:
    """As a GS1 AI 17 or a typed expiry."""
    return f"{day:%y%m%d}"


# A best-before years away: the expiry a receiving test types when the date itself does not matter.
FAR = ahead(3 * 365)
FAR_YYMMDD = yymmdd(FAR)
