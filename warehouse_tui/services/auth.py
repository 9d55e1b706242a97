"""Operators: scrypt PIN hashes, login with lockout after 5 failures, roles, the audit log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import AuditEvent, Operator, Role
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services.ledger import Actor

MAX_FAILED_LOGINS = 5
# scrypt cost: ~50 ms on the development machine, slow enough for offline guessing, fast at a terminal.
_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_pin(pin: str, pin_hash: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = pin_hash.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


def check_pin_format(pin: str) -> str:
    if not pin or not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise InvalidInput("PIN must be 4 to 12 digits")
    return pin


def audit(session: Session, kind: str, *, operator: Operator | None = None, badge: str | None = None, terminal: str = "", detail: str = "") -> None:
    session.add(AuditEvent(kind=kind, operator_id=operator.id if operator else None, badge=badge or (operator.badge if operator else None), terminal=terminal, detail=detail))


def find_operator(session: Session, badge: str) -> Operator:
    op = session.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
    if op is None or not op.active:
        raise NotFound(f"Badge {badge} is not known — scan your badge again")
    return op


def login(session: Session, badge: str, pin: str, terminal: str, purpose: str = "login",
          asked_by: Operator | None = None) -> Operator:
    """Check badge + PIN. A wrong PIN counts toward the lockout; the 5th locks the badge.

    The lockout is per badge, wherever the PIN is typed: at a supervisor approval
    (`purpose` other than "login") too. There each failure is audited as
    approval_failed with the operator who asked (`asked_by`), since someone other
    than the badge's owner may be typing.

    The failure is committed even though the caller sees an exception: the caller
    must commit the session in both cases (use `attempt_login`).
    """
    failed = "login_failed" if purpose == "login" else "approval_failed"
    asked = f" (asked by {asked_by.badge} for {purpose})" if asked_by is not None and purpose != "login" else ""
    op = session.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
    if op is None or not op.active:
        audit(session, failed, badge=badge[:64], terminal=terminal, detail="unknown badge" + asked)
        raise NotFound("Badge not known — scan your badge again")
    if op.locked:
        audit(session, failed, operator=op, terminal=terminal, detail="badge locked" + asked)
        raise NotAllowed(f"Badge {badge} is locked — ask a supervisor to unlock it")
    if not verify_pin(pin, op.pin_hash):
        op.failed_logins += 1
        if op.failed_logins >= MAX_FAILED_LOGINS:
            op.locked = True
            audit(session, "badge_locked", operator=op, terminal=terminal, detail=f"{op.failed_logins} failed PINs" + asked)
            raise NotAllowed(f"Wrong PIN — badge {badge} is now locked; ask a supervisor")
        audit(session, failed, operator=op, terminal=terminal, detail="wrong PIN" + asked)
        left = MAX_FAILED_LOGINS - op.failed_logins
        raise InvalidInput(f"Wrong PIN — {left} tr{'y' if left == 1 else 'ies'} left")
    op.failed_logins = 0
    audit(session, purpose, operator=op, terminal=terminal, detail=asked.strip(" ()"))
    return op


def is_supervisor(operator: Operator | None) -> bool:
    return operator is not None and operator.role == Role.SUPERVISOR.value


def require_supervisor(operator: Operator | None, action: str = "do this") -> Operator:
    if not is_supervisor(operator):
        raise NotAllowed(f"Only a supervisor may {action} — scan a supervisor badge")
    return operator


def clear_lock(session: Session, operator: Operator, *, by: Actor, reason: str = "") -> None:
    """Unlock a badge and reset its count of failed PINs; audited as badge_unlocked with who, where and why.

    The one way a lock is cleared: a supervisor on the floor (`unlock`), a terminal
    admin (`warehouse-tui users unlock`), an import bringing the badge a new PIN.
    `by` without an operator is the command line (audited as badge "cli").
    """
    operator.locked = False
    operator.failed_logins = 0
    audit(session, "badge_unlocked", operator=by.operator, badge=None if by.operator is not None else "cli",
          terminal=by.terminal, detail=f"unlocked {operator.badge}" + (f" — {reason}" if reason else ""))


def unlock(session: Session, actor: Actor, badge: str) -> Operator:
    require_supervisor(actor.operator, "unlock a badge")
    op = find_operator(session, badge)
    clear_lock(session, op, by=actor)
    return op


def unlock_from_cli(db, badge: str, actor: Actor, reason: str) -> str:
    """`warehouse-tui users unlock BADGE`: a terminal admin clears a lock (whoever can open the database, as for imports)."""
    with db.transaction() as session:
        op = session.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
        if op is None:
            raise NotFound(f"Badge {badge} is not known — check the badge")
        if not op.locked and not op.failed_logins:
            raise NotAllowed(f"Badge {badge} is not locked — nothing to unlock")
        clear_lock(session, op, by=actor, reason=reason)
    return f"Badge {badge} unlocked" + (f" ({op.name})" if op.name else "")


def attempt_login(db, badge: str, pin: str, terminal: str, purpose: str = "login", *,
                  asked_by: Operator | None = None) -> Operator:
    """Log in through `login`, committing the failure count and audit entry even when refused.

    `purpose` names the audit entry of a success: "login", or "supervisor_approval"
    when a supervisor authorises an override at someone else's terminal; then
    `asked_by` is the operator logged in there, named in the audit of each try.
    """
    from warehouse_tui.errors import WarehouseError

    with db.sessions() as session:
        session.begin()
        try:
            op = login(session, badge, pin, terminal, purpose, asked_by)
        except WarehouseError:
            session.commit()
            raise
        session.commit()
        return op
