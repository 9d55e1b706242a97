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

`WAREHOUSE_SYNC_CRASH=<point>[:N]` kills this process with SIGKILL the Nth time
(default the first) it passes a named point — `before_upstream_commit`,
`after_upstream_commit`, `after_local_ack`, or the pull's `before_pull_cursor`:
how the tests prove the above.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from warehouse_tui.db.models import Container, Movement, OutboxEntry, TerminalState, utcnow
from warehouse_tui.sync.apply import Outcome, apply_batch

BATCH_SIZE = 5000  # entries per upstream transaction (DESIGN §9's push rate wants big batches)
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


def pending_count(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.pushed_at.is_(None))) or 0


def _pending(session, limit: int) -> list[dict]:
    rows = session.execute(
        select(OutboxEntry.uuid, OutboxEntry.kind, OutboxEntry.payload)
        .where(OutboxEntry.pushed_at.is_(None)).order_by(OutboxEntry.position).limit(limit)
    ).all()
    entries = [{"uuid": u, "kind": k, "payload": dict(p)} for u, k, p in rows]
    # The upstream creates containers it does not know; tell it their kind (tote, LPN, …).
    codes = {e["payload"].get(side) for e in entries for side in ("from_container", "to_container")} - {None}
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
    while True:
        with local.reading() as session:
            entries = _pending(session, batch_size)
        if not entries:
            return result
        with upstream.transaction() as session:
            outcomes = apply_batch(session, terminal, entries)
            crash_point("before_upstream_commit")
        crash_point("after_upstream_commit")
        with local.transaction() as session:
            _acknowledge(session, terminal, outcomes)
        crash_point("after_local_ack")
        result.batches += 1
        for o in outcomes:
            setattr(result, o.outcome, getattr(result, o.outcome) + 1)


def _acknowledge(session, terminal: str, outcomes: list[Outcome]) -> None:
    now = utcnow()
    table = OutboxEntry.__table__
    plain = [o.uuid for o in outcomes if o.outcome == "applied"]
    for start in range(0, len(plain), 5000):
        session.execute(table.update().where(table.c.uuid.in_(plain[start:start + 5000]), table.c.pushed_at.is_(None))
                        .values(pushed_at=now, outcome="applied"))
    others = [{"b_uuid": o.uuid, "b_outcome": o.outcome, "b_detail": _detail(o)} for o in outcomes if o.outcome != "applied"]
    if others:
        session.execute(table.update().where(table.c.uuid == bindparam("b_uuid"), table.c.pushed_at.is_(None))
                        .values(pushed_at=now, outcome=bindparam("b_outcome"), outcome_detail=bindparam("b_detail")), others)
    conflicts = [o.uuid for o in outcomes if o.conflict]
    for start in range(0, len(conflicts), 5000):
        session.execute(update(Movement).where(Movement.uuid.in_(conflicts[start:start + 5000])).values(conflict=True))
    state = session.get(TerminalState, terminal)
    if state is None:
        state = TerminalState(name=terminal)
        session.add(state)
    state.last_push_at = now


def _detail(o: Outcome) -> str | None:
    if o.outcome == "duplicate":
        return f"first pushed: {o.first}" + (f" — {o.detail}" if o.detail else "")
    return o.detail
