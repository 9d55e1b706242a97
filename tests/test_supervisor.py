"""The supervisor queue, decisions, badge unlocks and role enforcement, through the services and the state machine.

Reuses the small warehouse of test_counting (A-1: PLAIN ×10, PAINT lot L1 ×5).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

# The warehouse, operators and helpers of the count tests (pytest puts tests/ on sys.path).
from test_counting import actor_for, book, operator, raw, s1, take, u1, u2, variance_in_review, wh  # noqa: F401
from warehouse_tui.config import Settings
from warehouse_tui.db.models import AuditEvent, CountTask, Movement, Operator, Quant, WarehouseException
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed
from warehouse_tui.services import supervisor
from warehouse_tui.services.check import run_checks
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.supervisor import Supervisor


def add_exception(db, kind, ref, status="open", detail="", created_at=None):
    with db.transaction() as s:
        e = WarehouseException(kind=kind, ref=ref, status=status, detail=detail or f"{kind} {ref}",
                               created_at=created_at or dt.datetime(2030, 1, 1))
        s.add(e)
        s.flush()
        return e.id


def audit_entries(db, kind):
    with db.reading() as s:
        return [(e.badge, e.operator_id, e.terminal, e.at, e.detail)
                for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id))]


# --------------------------------------------------------------------------- variances


def test_approving_a_variance_posts_count_movements_and_the_ledger_holds(wh, s1, u1):
    task_id, exception_id = variance_in_review(wh, u1, plain=7)
    with wh.transaction() as s:
        message = supervisor.approve(s, s1, exception_id)
    assert message == "Approved: 1 adjustment(s) posted"
    assert book(wh, "PLAIN", "A-1") == 7
    with wh.reading() as s:
        movement = s.scalars(select(Movement).where(Movement.kind == "count")).one()
        assert (movement.qty, movement.doc_ref, movement.operator_id) == (3, f"COUNT-{task_id}", s1.operator_id)
        exception = s.get(WarehouseException, exception_id)
        assert (exception.status, exception.resolved_by) == ("approved", s1.operator_id)
        assert exception.resolved_at is not None
        assert s.get(CountTask, task_id).status == "approved"
        assert run_checks(s).ok
    [(badge, op_id, terminal, at, detail)] = audit_entries(wh, "exception_approved")
    assert (badge, op_id, terminal) == ("S1", s1.operator_id, "T1") and at is not None
    assert f"exception {exception_id} variance A-1" in detail


def test_rejecting_a_variance_leaves_stock_and_records_why(wh, s1, u1):
    task_id, exception_id = variance_in_review(wh, u1, plain=7)
    with wh.reading() as s:
        before = sorted((q.key, q.qty) for q in s.scalars(select(Quant)))
    with pytest.raises(InvalidInput, match="why"):
        with wh.transaction() as s:
            supervisor.reject(s, s1, exception_id, "   ")
    with wh.transaction() as s:
        supervisor.reject(s, s1, exception_id, "3 units found in the overstock bin")
    with wh.reading() as s:
        assert sorted((q.key, q.qty) for q in s.scalars(select(Quant))) == before
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "count")) == 0
        exception = s.get(WarehouseException, exception_id)
        assert (exception.status, exception.resolution) == ("rejected", "3 units found in the overstock bin")
        assert s.get(CountTask, task_id).status == "rejected"
    [(badge, _, _, at, detail)] = audit_entries(wh, "exception_rejected")
    assert badge == "S1" and at is not None and detail.endswith("3 units found in the overstock bin")


def test_a_decided_exception_cannot_be_decided_again(wh, s1, u1):
    _, exception_id = variance_in_review(wh, u1)
    with wh.transaction() as s:
        supervisor.approve(s, s1, exception_id)
    s2 = actor_for(wh, "S2")
    with pytest.raises(NotAllowed, match="already approved by S1"):
        with wh.transaction() as s:
            supervisor.reject(s, s2, exception_id, "too late")
    assert book(wh, "PLAIN", "A-1") == 7


def test_the_queue_is_shown_with_book_and_counted_per_line(wh, s1, u1):
    _, exception_id = variance_in_review(wh, u1, plain=7)
    with wh.reading() as s:
        [entry] = supervisor.queue(s, s1)
    assert entry.id == exception_id and entry.created_by == "U1"
    assert entry.facts == ("PLAIN: book 10 counted 7 (-3)",)


# --------------------------------------------------------------------------- other kinds, history


def test_queue_holds_open_exceptions_oldest_first_and_history_the_decided(wh, s1):
    late = add_exception(wh, "backorder", "ORD-2", created_at=dt.datetime(2030, 1, 2))
    early = add_exception(wh, "short_pick", "ORD-1", created_at=dt.datetime(2030, 1, 1))
    with wh.transaction() as s:
        s.add(WarehouseException(kind="over_receipt", ref="PO-1", status="approved", resolved_at=dt.datetime(2030, 1, 1),
                                 resolution="approved at the dock"))
    with wh.reading() as s:
        assert [e.id for e in supervisor.queue(s, s1)] == [early, late]
        assert [e.kind for e in supervisor.history(s, s1)] == ["over_receipt"]


def test_approving_a_short_pick_records_the_decision_and_moves_no_stock(wh, s1):
    exception_id = add_exception(wh, "short_pick", "ORD-1")
    with wh.transaction() as s:
        supervisor.approve(s, s1, exception_id)
    with wh.reading() as s:
        assert s.get(WarehouseException, exception_id).status == "approved"
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "count")) == 0
        assert [e.kind for e in supervisor.history(s, s1)] == ["short_pick"]


# --------------------------------------------------------------------------- roles


def test_an_operator_can_do_nothing_of_the_supervisors(wh, u1):
    exception_id = add_exception(wh, "short_pick", "ORD-1")
    calls = [
        lambda s: supervisor.queue(s, u1),
        lambda s: supervisor.history(s, u1),
        lambda s: supervisor.approve(s, u1, exception_id),
        lambda s: supervisor.reject(s, u1, exception_id, "no"),
        lambda s: supervisor.locked_badges(s, u1),
        lambda s: supervisor.unlock(s, u1, "U2"),
        lambda s: supervisor.create_counts(s, u1, bins=["A-1"]),
    ]
    for call in calls:
        with pytest.raises(NotAllowed, match="Only a supervisor"):
            with wh.transaction() as s:
                call(s)
    with wh.reading() as s:
        assert s.get(WarehouseException, exception_id).status == "open"
        assert s.scalar(select(func.count()).select_from(CountTask)) == 0


def test_a_supervisor_demoted_since_login_is_refused(wh, s1):
    exception_id = add_exception(wh, "short_pick", "ORD-1")
    with wh.transaction() as s:
        s.get(Operator, s1.operator_id).role = "operator"
    with pytest.raises(NotAllowed):
        with wh.transaction() as s:
            supervisor.approve(s, s1, exception_id)  # s1 still carries the role it logged in with


# --------------------------------------------------------------------------- badges


def test_unlocking_a_locked_badge_is_audited(wh, s1):
    with wh.transaction() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U2")).one()
        op.locked, op.failed_logins = True, 5
    with wh.reading() as s:
        assert supervisor.locked_badges(s, s1) == ["U2"]
    with wh.transaction() as s:
        assert supervisor.unlock(s, s1, "U2") == "Badge U2 unlocked (U2)"
    with wh.reading() as s:
        op = s.scalars(select(Operator).where(Operator.badge == "U2")).one()
        assert (op.locked, op.failed_logins) == (False, 0)
    [(badge, _, _, at, detail)] = audit_entries(wh, "badge_unlocked")
    assert badge == "S1" and at is not None and detail == "unlocked U2"
    with pytest.raises(NotAllowed, match="not locked"):
        with wh.transaction() as s:
            supervisor.unlock(s, s1, "U2")


# --------------------------------------------------------------------------- the Supervisor state machine


def screen(db, badge) -> Supervisor:
    terminal = Terminal(db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")
    terminal.operator = operator(db, badge)
    return Supervisor(terminal)


def test_the_screen_refuses_an_operator(wh):
    add_exception(wh, "short_pick", "ORD-1")
    wf = screen(wh, "U1")
    assert wf.state == "denied" and wf.prompt.text == "Supervisors only — @HOME"
    assert not wf.submit(raw("@YES")).ok
    with wh.reading() as s:
        assert s.scalars(select(WarehouseException.status)).one() == "open"


def test_typed_a_and_r_approve_and_reject_like_yes_and_no(wh, s1):
    first = add_exception(wh, "short_pick", "ORD-1", created_at=dt.datetime(2030, 1, 1))
    second = add_exception(wh, "backorder", "ORD-2", created_at=dt.datetime(2030, 1, 2))
    wf = screen(wh, "S1")
    assert wf.lines()[0] == "1/2 short pick ORD-1"
    assert wf.submit(raw("n")).ok and wf.lines()[0] == "2/2 backorder ORD-2"
    assert wf.submit(raw("r")).ok and wf.state == "reason"
    assert wf.submit(raw("customer cancelled")).ok and wf.state == "queue"
    assert wf.submit(raw("a")).ok
    assert wf.lines()[0] == "No open exceptions"
    with wh.reading() as s:
        assert s.get(WarehouseException, first).status == "approved"
        assert (s.get(WarehouseException, second).status, s.get(WarehouseException, second).resolution) == ("rejected", "customer cancelled")
    refused = wf.submit(raw("x"))
    assert not refused.ok and "c (count)" in refused.message


def test_the_screen_creates_counts_for_bins_and_a_zone(wh):
    wf = screen(wh, "S1")
    wf.submit(raw("c"))
    assert wf.state == "targets"
    wf.submit(raw("B-1"))
    wf.submit(raw("A"))
    assert not wf.submit(raw("NO-SUCH-ZONE")).ok
    wf.submit(raw("@BLIND"))
    assert "Blind: yes (@BLIND to change)" in wf.lines()
    outcome = wf.submit(raw("@DONE"))
    assert outcome.ok and outcome.message == "Created 4 blind count task(s)" and wf.state == "queue"
    with wh.reading() as s:
        assert s.scalar(select(func.count()).select_from(CountTask).where(CountTask.blind.is_(True))) == 4


def test_the_screen_unlocks_a_scanned_badge(wh):
    with wh.transaction() as s:
        s.scalars(select(Operator).where(Operator.badge == "U2")).one().locked = True
    wf = screen(wh, "S1")
    wf.submit(raw("u"))
    assert wf.lines() == ["Locked: U2"]
    assert wf.submit(raw("U2")).message == "Badge U2 unlocked (U2)"
    with wh.reading() as s:
        assert s.scalars(select(Operator.locked).where(Operator.badge == "U2")).one() is False


def test_approval_that_can_no_longer_be_posted_is_refused_and_changes_nothing(wh, s1, u1, u2):
    _, exception_id = variance_in_review(wh, u1, plain=7)  # 3 missing
    with wh.transaction() as s:
        take(s, u2, "PLAIN", "A-1", 9)  # 1 left by the books: 3 cannot come off
    with pytest.raises(InvariantViolation, match="Cannot post the count: Only 1 of PLAIN"):
        with wh.transaction() as s:
            supervisor.approve(s, s1, exception_id)
    assert book(wh, "PLAIN", "A-1") == 1
    with wh.reading() as s:
        assert s.get(WarehouseException, exception_id).status == "open"
        assert audit_entries(wh, "exception_approved") == []


def test_a_rejection_decided_elsewhere_meanwhile_returns_to_the_queue(wh, s1):
    exception_id = add_exception(wh, "short_pick", "ORD-1")
    wf = screen(wh, "S1")
    wf.submit(raw("r"))
    with wh.transaction() as s:
        supervisor.approve(s, actor_for(wh, "S2"), exception_id)
    refused = wf.submit(raw("not needed"))
    assert not refused.ok and "already approved by S2" in refused.message
    assert wf.state == "queue" and wf.lines()[0] == "No open exceptions"
