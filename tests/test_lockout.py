"""Lockout: 5 wrong PINs lock a badge, at login or at a supervisor approval; who asked is audited; a lock can be cleared.

An operator who types wrong PINs at an over-receipt approval can lock a
supervisor's badge (the lockout is per badge, wherever the PIN is typed): each
such failure is audited with the operator who asked for the approval, and a
terminal admin can clear the lock with `warehouse-tui users unlock BADGE`
(audited too). `clear_lock` is the one way a lock is cleared, also for an
import of a new PIN.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_cli_check import run_cli
from test_workflows import log_in, operator, over_receipt, scan, terminal  # noqa: F401  (fixtures)

from warehouse_tui.db.models import AuditEvent, Operator
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services.auth import MAX_FAILED_LOGINS, attempt_login, clear_lock
from warehouse_tui.services.ledger import Actor


def badge_state(db, badge: str) -> tuple[bool, int]:
    with db.reading() as s:
        op = s.scalars(select(Operator).where(Operator.badge == badge)).one()
        return op.locked, op.failed_logins


def audit_of(db, kind: str) -> list[tuple[str | None, str, str]]:
    with db.reading() as s:
        return [(e.badge, e.terminal, e.detail) for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id))]


def lock(db, badge: str) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(Exception):
            attempt_login(db, badge, "0000", "T1")
    assert badge_state(db, badge) == (True, MAX_FAILED_LOGINS)


def test_wrong_pins_at_an_approval_are_audited_with_the_operator_who_asked(operator, demo_db):
    # given an over-receipt waiting for a supervisor at U1001's terminal
    wf = over_receipt(operator)
    # when five wrong PINs are typed for S9001
    for _ in range(MAX_FAILED_LOGINS):
        wf.submit(scan("S9001"))
        assert not wf.submit(scan("0000")).ok
    # then the badge is locked (the lockout holds wherever the PIN is typed) ...
    assert badge_state(demo_db, "S9001") == (True, MAX_FAILED_LOGINS)
    # ... and every failure names the operator who asked for the approval, and where
    failures = audit_of(demo_db, "approval_failed")
    assert len(failures) == MAX_FAILED_LOGINS - 1
    assert all(badge == "S9001" and terminal == "T1" and "asked by U1001" in detail for badge, terminal, detail in failures)
    [(badge, _, detail)] = audit_of(demo_db, "badge_locked")
    assert badge == "S9001" and "asked by U1001" in detail
    # and a later try with the right PIN is refused and audited with the asker too
    wf.submit(scan("S9001"))
    outcome = wf.submit(scan("9999"))
    assert not outcome.ok and "locked" in outcome.message
    assert "badge locked" in audit_of(demo_db, "approval_failed")[-1][2]


def test_users_unlock_clears_the_lock_and_is_audited(tmp_path, demo_path, demo_db):
    lock(demo_db, "S9001")
    demo_db.dispose()
    result = run_cli(tmp_path, "users", "unlock", "S9001", "--db", str(demo_path), "--terminal", "OFFICE-1")
    assert result.returncode == 0, result.stderr
    assert "Badge S9001 unlocked" in result.stdout
    assert badge_state(demo_db, "S9001") == (False, 0)
    [(badge, terminal, detail)] = audit_of(demo_db, "badge_unlocked")
    assert (badge, terminal) == ("cli", "OFFICE-1")
    assert detail.startswith("unlocked S9001") and "warehouse-tui users unlock" in detail
    # and the supervisor logs in again
    assert attempt_login(demo_db, "S9001", "9999", "T1").badge == "S9001"


def test_users_unlock_refuses_an_unknown_or_unlocked_badge_in_one_line(tmp_path, demo_path):
    for badge in ("S0000", "U1001"):
        result = run_cli(tmp_path, "users", "unlock", badge, "--db", str(demo_path))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("error: ") and badge in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_clear_lock_resets_the_count_and_audits_who_and_why(demo_db):
    # given a badge locked by failed PINs
    lock(demo_db, "U1001")
    # when its lock is cleared, e.g. by an import bringing a new PIN
    with demo_db.transaction() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        clear_lock(s, op, by=Actor(None, "T-IMPORT"), reason="new PIN imported from users.csv")
    # then it can log in, and the audit says who cleared it, where and why
    assert badge_state(demo_db, "U1001") == (False, 0)
    assert audit_of(demo_db, "badge_unlocked") == [("cli", "T-IMPORT", "unlocked U1001 — new PIN imported from users.csv")]
    assert attempt_login(demo_db, "U1001", "1234", "T1").badge == "U1001"


def test_a_supervisor_unlocking_at_the_floor_still_needs_the_role(demo_db):
    from warehouse_tui.services.auth import unlock

    lock(demo_db, "U1001")
    with demo_db.transaction() as s, pytest.raises(NotAllowed):
        operator_ = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        unlock(s, Actor(operator_, "T1"), "U1001")
    assert badge_state(demo_db, "U1001") == (True, MAX_FAILED_LOGINS)
