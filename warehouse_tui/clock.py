"""The one clock the app reads for calendar dates and timestamps (today, expiry checks, movement times).

Durations (idle logout, timeouts, benchmarks) use `time.monotonic` and are not
this clock's business. Everything that asks "what day is it" or stamps a row
asks here, so a test — or a whole test run — can move the calendar:

- `WAREHOUSE_CLOCK=2030-12-31T23:59:00+00:00` in the environment starts the
  clock at that instant when the process starts; it runs on from there at the
  real pace (a subprocess started from a test inherits it). A time without a
  zone is local time. For tests and training; a live terminal never sets it.
- `set_clock(instant)` does the same inside a process; `frozen=True` stops the
  clock there (snapshots that show times), `reset_clock()` goes back to real
  time.

"Today" is the local calendar day at the terminal (expiry dates are read
against the day the operator lives in); stored timestamps are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import os
import time

ENV = "WAREHOUSE_CLOCK"

_offset_s = 0.0  # seconds added to the real clock
_frozen_at: float | None = None  # a POSIX timestamp the clock stands still at


def _parse(text: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{ENV}={text!r} is not an ISO date or date-time (e.g. 2030-12-31T23:59:00+00:00)") from None
    return instant if instant.tzinfo is not None else instant.astimezone()  # naive = local time


def set_clock(instant: dt.datetime | dt.date | str, *, frozen: bool = False) -> None:
    """Move the clock so that it reads `instant` now (and runs on from there unless `frozen`)."""
    global _offset_s, _frozen_at
    if isinstance(instant, str):
        instant = _parse(instant)
    elif not isinstance(instant, dt.datetime):
        instant = dt.datetime.combine(instant, dt.time(12, 0))
    if instant.tzinfo is None:
        instant = instant.astimezone()
    target = instant.timestamp()
    if frozen:
        _frozen_at, _offset_s = target, 0.0
    else:
        _frozen_at, _offset_s = None, target - time.time()


def reset_clock() -> None:
    """Back to the real time (or to what `WAREHOUSE_CLOCK` said when the process started)."""
    global _offset_s, _frozen_at
    _offset_s, _frozen_at = _env_offset, None


def timestamp() -> float:
    """Seconds since the epoch, by this clock."""
    return _frozen_at if _frozen_at is not None else time.time() + _offset_s


def now() -> dt.datetime:
    """The local time now, zone-aware."""
    return dt.datetime.fromtimestamp(timestamp()).astimezone()


def utcnow() -> dt.datetime:
    """Naive UTC, as every timestamp is stored."""
    return dt.datetime.fromtimestamp(timestamp(), dt.timezone.utc).replace(tzinfo=None)


def today() -> dt.date:
    """The local calendar day."""
    return dt.datetime.fromtimestamp(timestamp()).date()


def is_moved() -> bool:
    """Whether this clock is not the real one (shown where a screen or report prints the time)."""
    return _frozen_at is not None or _offset_s != 0.0


_env_offset = 0.0
if os.environ.get(ENV):
    set_clock(os.environ[ENV])
    _env_offset = _offset_s
