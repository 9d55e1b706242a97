"""Terminal side of a push: send the outbox upstream in batches and record each entry's outcome.

Exactly once, whatever breaks when:

1. Read up to `batch_size` pending entries (pushed_at is null) in outbox order.
2. Apply them upstream in one upstream transaction (sync/apply.py), which
   records each uuid in `applied_entries` with its outcome.
3. Only after that commit returned, mark them pushed locally with the outcome
   (a conflict also flags the local movement, as the upstream did).

A crash, kill -9 or dropped connection before 2 commits changes nothing
upstream: the entries are still pending. One between 2 and 3 leaves them
pending locally but applied upstream: the next push gets `duplicate` with the
first outcome for each and acknowledges them. The network is never used inside
a local write transaction, so scans never wait on it.

The terminal's side runs beside the upstream's: while the upstream applies
batch N, a helper thread acknowledges batch N-1 and reads batch N+1 (the
pending entries after N's last position: entries only ever join the outbox at
its end). Step 3 of a batch still starts only after its own commit returned, so
the above holds batch by batch; an acknowledgement that failed stops the push
once the batch being applied has committed.

`WAREHOUSE_SYNC_CRASH=<point>[:N]` kills this process with SIGKILL the Nth time
(default the first) it passes a named point — `before_upstream_commit`,
`after_upstream_commit`, `after_local_ack`, or the pull's `before_pull_cursor`:
how the tests prove the above.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, func, select, type_coerce, update

from warehouse_tui.db.models import Container, Movement, OutboxEntry, TerminalState, utcnow
from warehouse_tui.sync import BATCH_SIZE
from warehouse_tui.sync.apply import APPLIED, Outcome, apply_batch
from warehouse_tui.sync.outbox import outbox_since, pending_count  # noqa: F401 (push.pending_count, as callers know it)

CRASH_ENV = "WAREHOUSE_SYNC_CRASH"


@dataclass
class PushResult:
    applied: int = 0
    duplicate: int = 0
    conflict: int = 0
    batches: int = 0

    @property
    def pushed(self) -> int:
        return self.applied + self.duplicate + self.conflict


_passed: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Die here like a pulled plug when the test hook names this point ("name" or "name:N", the Nth time)."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or wanted.split(":")[0] != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == int(wanted.split(":")[1] if ":" in wanted else 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _pending(session, limit: int, after: int | None = None) -> list[dict]:
    """The first `limit` pending entries (after position `after`) in outbox order: {"position", "uuid", "kind", "payload"}."""
    query = (
        # The payload's JSON text, decoded here: the same json.loads, without the type machinery per row.
        select(OutboxEntry.position, OutboxEntry.uuid, OutboxEntry.kind, type_coerce(OutboxEntry.payload, Text))
        .where(OutboxEntry.pushed_at.is_(None)).order_by(OutboxEntry.position).limit(limit)
    )
    rows = session.execute(query.where(OutboxEntry.position > after) if after is not None else query).all()
    loads = json.loads
    entries = [{"position": n, "uuid": u, "kind": k, "payload": loads(p) if isinstance(p, (str, bytes)) else dict(p)}
               for n, u, k, p in rows]
    # The upstream creates containers it does not know; tell it their kind (tote, LPN, …).
    codes = {p.get(side) for e in entries if (p := e["payload"]).get("from_container") or p.get("to_container")
             for side in ("from_container", "to_container")} - {None}
    if codes:
        kinds = dict(session.execute(select(Container.code, Container.kind).where(Container.code.in_(codes))).all())
        for e in entries:
            for side in ("from_container", "to_container"):
                if e["payload"].get(side):
                    e["payload"].setdefault(f"{side}_kind", kinds.get(e["payload"][side]))
    return entries


def push(local, upstream, terminal: str, batch_size: int = BATCH_SIZE) -> PushResult:
    """Push every pending outbox entry of `local` (a Database) to `upstream` (a Database)."""
    result = PushResult()
    with cyclic_gc_paused(), ThreadPoolExecutor(1, thread_name_prefix=f"push-{terminal}") as beside:
        entries = _read(local, batch_size, None)
        acknowledged: Future | None = None
        while entries:
            # One helper thread, so its tasks run in the order given: read N+1 now, acknowledge N after its commit.
            following = beside.submit(_read, local, batch_size, entries[-1]["position"])
            with upstream.transaction() as session:
                outcomes = apply_batch(session, terminal, entries)
                crash_point("before_upstream_commit")
            crash_point("after_upstream_commit")
            if acknowledged is not None:
                acknowledged.result()  # the previous batch's acknowledgement failed: stop here, and say why
            acknowledged = beside.submit(_acknowledged, local, terminal, entries, outcomes)
            result.batches += 1
            for o in outcomes:
                setattr(result, o.outcome, getattr(result, o.outcome) + 1)
            entries = following.result()
        if acknowledged is not None:
            acknowledged.result()
    return result


def _read(local, limit: int, after: int | None) -> list[dict]:
    with local.reading() as session:
        return _pending(session, limit, after)


def _acknowledged(local, terminal: str, entries: list[dict], outcomes: list[Outcome]) -> None:
    with local.transaction() as session:
        _acknowledge(session, terminal, entries, outcomes)
    crash_point("after_local_ack")


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off while a push runs; it is on again (if it was) when the last push ends.

    A push batch keeps a few hundred thousand objects alive until it ends, so the collector
    would walk the whole heap several times per batch and find nothing to free (a fifth of
    the push's time, measured). Reference counting frees each batch as usual; cycles made
    meanwhile wait for the next collection.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def _acknowledge(session, terminal: str, entries: list[dict], outcomes: list[Outcome]) -> None:
    """Mark the batch's entries pushed, each with its outcome; entries already marked are left as they are."""
    now = utcnow()
    table = OutboxEntry.__table__
    applied = [e["position"] for e, o in zip(entries, outcomes) if o.outcome == APPLIED]
    for positions in _position_sets(session, applied):
        session.execute(table.update().where(table.c.position.in_(positions), table.c.pushed_at.is_(None))
                        .values(pushed_at=now, outcome=APPLIED))
    others = [{"b_position": e["position"], "b_outcome": o.outcome, "b_detail": _detail(o)}
              for e, o in zip(entries, outcomes) if o.outcome != APPLIED]
    if others:
        session.execute(table.update().where(table.c.position == bindparam("b_position"), table.c.pushed_at.is_(None))
                        .values(pushed_at=now, outcome=bindparam("b_outcome"), outcome_detail=bindparam("b_detail")), others)
    conflicts = [o.uuid for o in outcomes if o.conflict]
    for start in range(0, len(conflicts), 5000):
        session.execute(update(Movement).where(Movement.uuid.in_(conflicts[start:start + 5000])).values(conflict=True))
    state = session.get(TerminalState, terminal)
    if state is None:
        state = TerminalState(name=terminal)
        session.add(state)
    state.last_push_at = now


def _position_sets(session, positions: list[int]):
    """What `position IN (…)` takes for these positions: on SQLite one JSON array (json_each), not thousands of parameters."""
    if not positions:
        return
    if session.bind.dialect.name == "sqlite":
        each = func.json_each(json.dumps(positions)).table_valued("value")
        yield select(each.c.value)
        return
    for start in range(0, len(positions), 5000):
        yield positions[start:start + 5000]


def _detail(o: Outcome) -> str | None:
    if o.outcome == "duplicate":
        return f"first pushed: {o.first}" + (f" — {o.detail}" if o.detail else "")
    return o.detail
