"""A pick list or count belongs to a badge on a terminal: the same badge on a second terminal must take it over (issue 10).

Two terminals on one database (a site running terminals straight on it), the
same badge logged in on both. The second is refused, told which terminal holds
the work; an explicit take-over moves it (audited), and the first terminal's
next scan on it is refused, told which terminal took it. Nothing is booked from
the first terminal into the totes afterwards.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_counting import count, start, u1, wh  # noqa: F401  (fixtures)
from test_picking import actor, next_task, pick, site, two_orders  # noqa: F401  (fixtures)
from test_picking import start as start_list
from test_workflows import log_in, scan

from warehouse_tui.config import Settings
from warehouse_tui.db.models import AuditEvent, Movement, PickList
from warehouse_tui.errors import NotAllowed
from warehouse_tui.services import counting, picking, waves
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.services.ledger import Actor
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.count import Count
from warehouse_tui.workflows.pick import Pick


def audited(db, kind: str) -> list[tuple[str | None, str, str]]:
    with db.reading() as s:
        return [(e.badge, e.terminal, e.detail) for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == kind))]


def movements(db) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(Movement))


# --------------------------------------------------------------------------- pick lists, through the services


def test_the_same_badge_on_a_second_terminal_is_refused_naming_the_first(two_orders):
    start_list(two_orders, "U1", "PL-00001")  # on T1, totes assigned there
    with two_orders.transaction() as s, pytest.raises(HeldOnAnotherTerminal, match="on terminal T1"):
        picking.claim(s, actor(s, "U1", "T2"), "PL-00001")
    with two_orders.transaction() as s, pytest.raises(HeldOnAnotherTerminal, match="on terminal T1"):
        picking.claim(s, actor(s, "U1", "T2"))  # @NEXT offers the operator's own list, it does not hand it over
    with two_orders.reading() as s:
        assert s.scalars(select(PickList.claimed_terminal).where(PickList.ref == "PL-00001")).one() == "T1"
    assert audited(two_orders, "pick_list_taken_over") == []


def test_a_take_over_is_audited_and_the_first_terminal_is_refused_naming_the_second(two_orders):
    start_list(two_orders, "U1", "PL-00001")
    task = next_task(two_orders, "U1", "PL-00001")
    before = movements(two_orders)
    # when U1 takes the list over on T2, explicitly
    with two_orders.transaction() as s:
        picking.claim(s, actor(s, "U1", "T2"), "PL-00001", take_over=True)
    assert audited(two_orders, "pick_list_taken_over") == [("U1", "T2", "Pick list PL-00001 taken over from terminal T1")]
    # then T1 can no longer pick into the totes, nor scan on the list, told where it went
    with pytest.raises(NotAllowed, match="taken over by terminal T2"):
        pick(two_orders, "U1", task)
    with two_orders.reading() as s, pytest.raises(NotAllowed, match="taken over by terminal T2"):
        picking.check_claim(s, actor(s, "U1", "T1"), task.id)
    assert movements(two_orders) == before
    # while T2 picks on, into the totes the list already has
    with two_orders.transaction() as s:
        result = picking.confirm_pick(s, actor(s, "U1", "T2"), task.id, bin_code=task.bin_code, item_id=task.item_id,
                                      qty=task.remaining, lot_code=task.lot_code)
    assert result.task.tote_code == task.tote_code and movements(two_orders) == before + 1


# --------------------------------------------------------------------------- counts, through the services


def test_a_count_on_a_second_terminal_of_the_same_badge_is_refused_then_taken_over(wh, u1):
    view = start(wh, u1, "A-1")  # u1 counts on T1
    count(wh, u1, view.task_id, "PLAIN", 3)
    on_t2 = Actor(u1.operator, "T2")
    with pytest.raises(HeldOnAnotherTerminal, match="bin A-1 is open under your badge on terminal T1"):
        start(wh, on_t2, "A-1")
    with pytest.raises(HeldOnAnotherTerminal, match="terminal T1"), wh.transaction() as s:
        counting.next_task(s, on_t2)
    # taken over explicitly: the count so far comes along
    with wh.transaction() as s:
        taken = counting.start_bin(s, on_t2, "A-1", take_over=True)
    assert taken.task_id == view.task_id and [c.counted for c in taken.counted] == [3]
    assert audited(wh, "count_taken_over") == [("U1", "T2", "The count of bin A-1 taken over from terminal T1")]
    # and T1's next scan on it is refused, naming T2
    with pytest.raises(NotAllowed, match="taken over by terminal T2"):
        count(wh, u1, view.task_id, "PLAIN", 1)


# --------------------------------------------------------------------------- through the workflows


@pytest.fixture
def two_terminals(demo_db):
    """U1001 logged in on T1 and on T2, one demo order released as a pick list."""
    with demo_db.transaction() as s:
        ref = waves.release(s, Actor(None, "CLI"), ["ORD-10001"]).pick_lists[0].ref
    terminals = []
    for name in ("T1", "T2"):
        terminal = Terminal(demo_db, Settings(db="", terminal=name, idle_logout_seconds=0), name)
        log_in(terminal)
        terminals.append(terminal)
    return ref, *terminals


def test_pick_on_a_second_terminal_asks_before_taking_over_and_the_first_is_told(two_terminals, demo_db):
    ref, t1, t2 = two_terminals
    first = Pick(t1)
    assert first.submit(scan(ref)).ok and first.state == "tote"
    assert first.submit(scan("TOTE-0001")).ok and first.state == "bin"
    second = Pick(t2)
    # the second terminal is refused, naming the first, and asked
    refused = second.submit(scan(ref))
    assert not refused.ok and "terminal T1" in refused.message and "@YES" in refused.message
    assert second.state == "take_over" and second.prompt.commands == ("YES", "NO")
    # @NO leaves it where it is
    assert second.submit(scan("@NO")).ok and second.state == "list"
    assert audited(demo_db, "pick_list_taken_over") == []
    # asked again, @YES takes it over: the list goes on where T1 left it
    second.submit(scan(ref))
    taken = second.submit(scan("@YES"))
    assert taken.ok and second.state == "bin" and second.task.tote_code == "TOTE-0001"
    assert audited(demo_db, "pick_list_taken_over") == [("U1001", "T2", f"Pick list {ref} taken over from terminal T1")]
    # the first terminal's next scan on the list is refused, naming the second; nothing is booked
    before = movements(demo_db)
    told = first.submit(scan(first.task.bin_code))
    assert not told.ok and "taken over by terminal T2" in told.message
    assert movements(demo_db) == before


def test_count_on_a_second_terminal_asks_before_taking_over_and_the_first_is_told(two_terminals, demo_db):
    _, t1, t2 = two_terminals
    first = Count(t1)
    assert first.submit(scan("A-01-01-2")).ok and first.state == "item"
    second = Count(t2)
    refused = second.submit(scan("A-01-01-2"))
    assert not refused.ok and "terminal T1" in refused.message and second.state == "take_over"
    assert second.submit(scan("@YES")).ok and second.state == "item"
    assert len(audited(demo_db, "count_taken_over")) == 1
    told = first.submit(scan("09501101010031"))  # TAPE-48, which A-01-01-2 holds
    assert not told.ok and "taken over by terminal T2" in told.message
