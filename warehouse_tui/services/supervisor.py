"""The supervisor's work: the queue of open exceptions, approve or reject each, unlock badges, create counts.

Every function here is for supervisors only, checked against the operator's role
as stored now (not as it was at login), so a screen that forgot to hide a
button still cannot let an operator through: `NotAllowed`.

- The queue is every open `WarehouseException` (variances, short picks,
  backorders, open over-receipts, sync conflicts), oldest first. What is
  already decided — including over-receipts a supervisor approved at the dock
  with badge and PIN — is history (`history`), newest first, not queue.
- Approve: a `variance` posts the count's adjustment movements
  (services.count_approval.apply_variance) in the same transaction; other kinds
  record the decision (a `short_return` closes its return; the physical side — the short pick's count task, the
  backorder — has its own flow). Reject: nothing is posted, the reason is
  required and kept as the exception's resolution; a variance's count task
  ends rejected and stock stays as it was.
- Each approval and rejection writes an audit entry (`exception_approved`,
  `exception_rejected`) naming the supervisor, the terminal and the time, and
  marks the exception resolved by whom and when. A decided exception cannot be
  decided again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Operator, WarehouseException, utcnow
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import auth, count_approval, count_tasks, counting, returns
from warehouse_tui.services.ledger import Actor

OPEN = "open"
MAX_REASON = 300


@dataclass(frozen=True)
class ExceptionView:
    id: int
    kind: str
    ref: str
    detail: str
    status: str
    created_at: dt.datetime
    created_by: str | None  # badge
    terminal: str
    resolved_by: str | None
    resolved_at: dt.datetime | None
    resolution: str | None
    # What a supervisor needs beyond the detail, one short line each (a variance's lines: book vs counted).
    facts: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.kind.replace('_', ' ')} {self.ref}".strip()


def _supervisor(session: Session, actor: Actor, action: str) -> Operator:
    current = session.get(Operator, actor.operator_id) if actor.operator_id is not None else None
    return auth.require_supervisor(current if current is not None and current.active else None, action)


def queue(session: Session, actor: Actor) -> list[ExceptionView]:
    """The open exceptions, oldest first."""
    _supervisor(session, actor, "see the exception queue")
    rows = session.scalars(select(WarehouseException).where(WarehouseException.status == OPEN)
                           .order_by(WarehouseException.created_at, WarehouseException.id)).all()
    return [_view(session, e) for e in rows]


def history(session: Session, actor: Actor, limit: int = 50) -> list[ExceptionView]:
    """Decided exceptions (approved or rejected, over-receipts approved at the dock included), newest first."""
    _supervisor(session, actor, "see the exception history")
    rows = session.scalars(select(WarehouseException).where(WarehouseException.status != OPEN)
                           .order_by(WarehouseException.resolved_at.desc(), WarehouseException.id.desc()).limit(limit)).all()
    return [_view(session, e) for e in rows]


def approve(session: Session, actor: Actor, exception_id: int) -> str:
    """Approve an open exception; a variance posts its adjustments. Returns what was done, for the screen."""
    supervisor = _supervisor(session, actor, "approve exceptions")
    exception = _open_exception(session, exception_id)
    done, shown = "approved", f"Approved {exception.kind.replace('_', ' ')} {exception.ref}"
    if exception.kind == counting.VARIANCE:
        task_id = (exception.data or {}).get("count_task")
        if task_id is None:
            raise InvalidInput(f"Exception {exception.id} names no count task — reject it and count the bin again")
        movements = count_approval.apply_variance(session, actor, int(task_id))
        done = f"approved: {len(movements)} count adjustment(s) posted"
        shown = f"Approved: {len(movements)} adjustment(s) posted"
    elif exception.kind == returns.SHORT:  # what did not come back will not: the return is closed
        returns.close_by_supervisor(session, actor, exception.ref)
        done, shown = "approved: return closed short", f"Approved: return {exception.ref} closed"
    _resolve(exception, supervisor, "approved", done)
    auth.audit(session, "exception_approved", operator=supervisor, terminal=actor.terminal,
               detail=f"exception {exception.id} {exception.kind} {exception.ref}: {done}")
    session.flush()
    return shown


def reject(session: Session, actor: Actor, exception_id: int, reason: str) -> str:
    """Reject an open exception with a reason; nothing is posted. Returns what was done, for the screen."""
    supervisor = _supervisor(session, actor, "reject exceptions")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Type why it is rejected, then Enter")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Reason is too long (at most {MAX_REASON} characters) — shorten it")
    exception = _open_exception(session, exception_id)
    if exception.kind == counting.VARIANCE and (exception.data or {}).get("count_task") is not None:
        count_approval.reject_variance(session, int(exception.data["count_task"]))
    _resolve(exception, supervisor, "rejected", reason)
    auth.audit(session, "exception_rejected", operator=supervisor, terminal=actor.terminal,
               detail=f"exception {exception.id} {exception.kind} {exception.ref}: {reason}")
    session.flush()
    return f"Rejected {exception.ref} — stock unchanged"


def _open_exception(session: Session, exception_id: int) -> WarehouseException:
    exception = session.get(WarehouseException, exception_id, with_for_update=True)
    if exception is None:
        raise NotFound(f"Exception {exception_id} is not known")
    if exception.status != OPEN:
        who = session.get(Operator, exception.resolved_by) if exception.resolved_by else None
        raise NotAllowed(f"Exception {exception.id} is already {exception.status}" + (f" by {who.badge}" if who else ""))
    return exception


def _resolve(exception: WarehouseException, supervisor: Operator, status: str, resolution: str) -> None:
    exception.status = status
    exception.resolved_by = supervisor.id
    exception.resolved_at = utcnow()
    exception.resolution = resolution[:MAX_REASON]


def _view(session: Session, e: WarehouseException) -> ExceptionView:
    by = session.get(Operator, e.created_by) if e.created_by else None
    resolver = session.get(Operator, e.resolved_by) if e.resolved_by else None
    facts: list[str] = []
    data = e.data or {}
    if e.kind == counting.VARIANCE:
        for line in data.get("lines", []):
            what = counting.label(line.get("sku", "?"), line.get("lot"), line.get("container"), line.get("serial"))
            expected, counted = int(line.get("expected", 0)), int(line.get("counted", 0))
            facts.append(f"{what}: book {expected} counted {counted} ({counted - expected:+d})")
    return ExceptionView(e.id, e.kind, e.ref, e.detail, e.status, e.created_at, by.badge if by else None, e.terminal,
                         resolver.badge if resolver else None, e.resolved_at, e.resolution, tuple(facts))


# --------------------------------------------------------------------------- badges and counts


def locked_badges(session: Session, actor: Actor) -> list[str]:
    _supervisor(session, actor, "see locked badges")
    return list(session.scalars(select(Operator.badge).where(Operator.locked.is_(True), Operator.active.is_(True))
                                .order_by(Operator.badge)))


def unlock(session: Session, actor: Actor, badge: str) -> str:
    """Unlock a badge locked by failed PINs (audited by auth.unlock)."""
    _supervisor(session, actor, "unlock a badge")
    op = auth.find_operator(session, badge)
    if not op.locked:
        raise NotAllowed(f"Badge {op.badge} is not locked — scan a locked badge")
    auth.unlock(session, actor, op.badge)
    return f"Badge {op.badge} unlocked" + (f" ({op.name})" if op.name else "")


def create_counts(session: Session, actor: Actor, *, bins: Sequence[str] = (), zone: str | None = None,
                  items: Sequence[str] = (), blind: bool = False) -> count_tasks.CreatedCounts:
    return count_tasks.create_counts(session, actor, bins=bins, zone=zone, items=items, blind=blind)


def create_counts_for(session: Session, actor: Actor, *, bins: Sequence[str] = (), zones: Sequence[str] = (),
                      items: Sequence[str] = (), blind: bool = False) -> tuple[int, list[str]]:
    """Count tasks for bins, zones and items in one transaction (every zone's tasks or none): (created, bins skipped)."""
    created, skipped = 0, []
    for n, zone in enumerate(zones or [None]):
        result = create_counts(session, actor, bins=bins if n == 0 else (), zone=zone, items=items if n == 0 else (), blind=blind)
        created += len(result.created)
        skipped += result.skipped
    return created, skipped
