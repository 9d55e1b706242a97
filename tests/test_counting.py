"""Cycle counts, through the services and the Count state machine (no UI).

A small warehouse: A-1 holds PLAIN ×10 and PAINT lot L1 ×5, A-2 holds the
phones SN1..SN3, B-1 holds PLAIN ×4, A-3 is empty. U1 and U2 count, S1
decides. Movements "by someone else" during a count are posted through the
ledger like any other terminal would.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from drivers.base import RawScan
from warehouse_tui.config import Settings
from warehouse_tui.db.models import (
    AuditEvent,
    CountLine,
    CountTask,
    Movement,
    Operator,
    Quant,
    SerialUnit,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import count_tasks, counting
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import supervisor
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.count import Count

PIN_HASH = hash_pin("1234")  # scrypt is slow on purpose: hash once for every operator here
PLAIN_GTIN = "09501101530003"
EXPIRY = dt.date(2031, 5, 31)


@pytest.fixture
def wh(db):
    with db.transaction() as s:
        for code, zone, seq in (("A-1", "A", 1), ("A-2", "A", 2), ("A-3", "A", 3), ("B-1", "B", 4)):
            md.add_bin(s, code, zone=zone, kind="pick", pick_seq=seq)
        md.add_bin(s, "RCV", zone="DOCK", kind="receiving", pick_seq=0)
        md.add_item(s, "PLAIN", gtins=[PLAIN_GTIN])
        md.add_item(s, "PAINT", tracking="lot", aliases=["PAINT-ALIAS"])
        md.add_item(s, "DATED", expiry_required=True, aliases=["DATED-ALIAS"])
        md.add_item(s, "PHONE", tracking="serial", aliases=["PHONE-ALIAS"])
        md.add_item(s, "OTHER", aliases=["OTHER-ALIAS"])
        for badge, role in (("U1", "operator"), ("U2", "operator"), ("S1", "supervisor"), ("S2", "supervisor")):
            s.add(Operator(badge=badge, name=badge, role=role, pin_hash=PIN_HASH))
        s.flush()
        system = Actor(None, "SETUP")
        give(s, system, "PLAIN", "A-1", 10)
        give(s, system, "PAINT", "A-1", 5, lot="L1")
        for sn in ("SN1", "SN2", "SN3"):
            give(s, system, "PHONE", "A-2", 1, serial=sn)
        give(s, system, "PLAIN", "B-1", 4)
    return db


def give(s, actor, sku, bin_code, qty, *, lot=None, serial=None, expiry=None):
    item = md.item_by_sku(s, sku)
    return post(s, actor, kind="adjust", item=item, qty=qty, lot=md.lot(s, item, lot, expiry) if lot else None, serial=serial,
                to_bin=md.bin_by_code(s, bin_code))


def take(s, actor, sku, bin_code, qty, *, lot=None, to_bin=None):
    item = md.item_by_sku(s, sku)
    return post(s, actor, kind="move" if to_bin else "pick", item=item, qty=qty, lot=md.lot(s, item, lot) if lot else None,
                from_bin=md.bin_by_code(s, bin_code), to_bin=md.bin_by_code(s, to_bin) if to_bin else None)


def operator(db, badge: str) -> Operator:
    """The operator as a login leaves it: loaded, then detached from its session."""
    with db.reading() as s:
        op = s.scalars(select(Operator).where(Operator.badge == badge)).one()
        s.expunge(op)
        return op


def actor_for(db, badge: str) -> Actor:
    return Actor(operator(db, badge), "T1")


@pytest.fixture
def u1(wh):
    return actor_for(wh, "U1")


@pytest.fixture
def u2(wh):
    return actor_for(wh, "U2")


@pytest.fixture
def s1(wh):
    return actor_for(wh, "S1")


def create(db, sup, bins, blind=True):
    with db.transaction() as s:
        return count_tasks.create_counts(s, sup, bins=bins, blind=blind)


def start(db, who, bin_code):
    with db.transaction() as s:
        return counting.start_bin(s, who, bin_code)


def count(db, who, task_id, sku, qty=1, **kw):
    with db.transaction() as s:
        return counting.record(s, who, task_id, item_id=md.item_by_sku(s, sku).id, qty=qty, **kw)


def close(db, who, task_id):
    with db.transaction() as s:
        return counting.close_bin(s, who, task_id)


def book(db, sku, bin_code, lot=None):
    with db.reading() as s:
        item = md.item_by_sku(s, sku)
        q = select(func.coalesce(func.sum(Quant.qty), 0)).where(Quant.item_id == item.id, Quant.bin_id == md.bin_by_code(s, bin_code).id)
        if lot:
            q = q.where(Quant.lot_id == md.lot(s, item, lot).id)
        return s.scalar(q)


def count_a1(db, who, plain, paint):
    """Count A-1 (PLAIN, PAINT lot L1) once and close it."""
    view = start(db, who, "A-1")
    if plain:
        count(db, who, view.task_id, "PLAIN", plain)
    if paint:
        count(db, who, view.task_id, "PAINT", paint, lot_code="L1")
    return view.task_id, close(db, who, view.task_id)


def variance_in_review(db, who, plain=7):
    task_id, first = count_a1(db, who, plain, 5)
    assert first.outcome == "recount"
    _, second = count_a1(db, who, plain, 5)
    assert second.outcome == "review"
    return task_id, second.exception_id


# --------------------------------------------------------------------------- counting and closing


def test_count_matching_the_books_closes_with_no_movement(wh, s1, u1):
    create(wh, s1, ["A-1"])
    _, result = count_a1(wh, u1, 10, 5)
    assert result.outcome == "closed" and result.differing == 0
    with wh.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "count")) == 0
        assert s.scalar(select(func.count()).select_from(WarehouseException)) == 0


def test_items_not_scanned_count_as_zero(wh, s1, u1):
    create(wh, s1, ["A-1"], blind=False)
    _, result = count_a1(wh, u1, 10, None)
    assert result.outcome == "recount"
    assert [(v.label, v.expected, v.counted) for v in result.variances] == [("PAINT lot L1", 5, 0)]


def test_variance_recounted_the_same_goes_to_the_supervisor(wh, s1, u1):
    create(wh, s1, ["A-1"])
    task_id, exception_id = variance_in_review(wh, u1, plain=7)
    with wh.reading() as s:
        task = s.get(CountTask, task_id)
        exception = s.get(WarehouseException, exception_id)
        assert (task.status, task.attempt) == ("review", 2)
        assert (exception.kind, exception.ref, exception.status) == ("variance", "A-1", "open")
        assert exception.data["lines"] == [{"sku": "PLAIN", "lot": None, "container": None, "serial": None,
                                            "expected": 10, "counted": 7}]
        # The recount is a fresh attempt: the first count's lines stay as they were.
        assert s.scalar(select(func.count()).select_from(CountLine).where(CountLine.attempt == 1)) == 2


def test_recount_matching_the_books_closes_with_no_adjustment(wh, s1, u1):
    create(wh, s1, ["A-1"])
    task_id, first = count_a1(wh, u1, 9, 5)
    assert first.outcome == "recount"
    _, second = count_a1(wh, u1, 10, 5)
    assert second.outcome == "closed"
    with wh.reading() as s:
        assert s.get(CountTask, task_id).status == "closed"
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "count")) == 0
        assert s.scalar(select(func.count()).select_from(WarehouseException)) == 0
    assert book(wh, "PLAIN", "A-1") == 10


def test_blind_count_never_hands_book_quantities_to_the_workflow(wh, s1, u1):
    create(wh, s1, ["A-1"], blind=True)
    view = start(wh, u1, "A-1")
    assert view.blind and view.book == ()
    count(wh, u1, view.task_id, "PLAIN", 7)
    result = close(wh, u1, view.task_id)
    assert result.outcome == "recount" and result.differing == 2
    assert result.variances == () and result.view.book == ()


def test_count_not_blind_shows_the_book(wh, s1, u1):
    create(wh, s1, ["A-1"], blind=False)
    view = start(wh, u1, "A-1")
    assert [(b.label, b.qty) for b in view.book] == [("PAINT lot L1", 5), ("PLAIN", 10)]


def test_counting_the_same_item_twice_adds_up(wh, s1, u1):
    view = start(wh, u1, "A-1")
    count(wh, u1, view.task_id, "PLAIN", 6)
    line = count(wh, u1, view.task_id, "PLAIN", 4)
    assert line.counted == 10
    count(wh, u1, view.task_id, "PAINT", 5, lot_code="L1")
    assert close(wh, u1, view.task_id).outcome == "closed"


def test_bad_quantities_and_missing_lot_or_expiry_are_refused(wh, u1):
    view = start(wh, u1, "A-1")
    for qty in (0, -1, True, 1.5):
        with pytest.raises(InvalidInput):
            count(wh, u1, view.task_id, "PLAIN", qty)
    with pytest.raises(InvalidInput, match="lot-tracked"):
        count(wh, u1, view.task_id, "PAINT", 5)
    with pytest.raises(InvalidInput, match="expiry"):
        count(wh, u1, view.task_id, "DATED", 2)
    with wh.reading() as s:
        assert s.scalar(select(func.count()).select_from(CountLine)) == 0


def test_dated_item_is_counted_under_the_lot_named_by_its_expiry(wh, s1, u1):
    with wh.transaction() as s:
        give(s, Actor(None, "SETUP"), "DATED", "A-3", 3, lot=EXPIRY.isoformat(), expiry=EXPIRY)
    view = start(wh, u1, "A-3")
    count(wh, u1, view.task_id, "DATED", 3, expiry=EXPIRY)
    assert close(wh, u1, view.task_id).outcome == "closed"


# --------------------------------------------------------------------------- stock moving during an open count


def test_stock_taken_out_after_it_was_counted_is_no_variance(wh, u1, u2):
    view = start(wh, u1, "A-1")
    count(wh, u1, view.task_id, "PLAIN", 10)
    with wh.transaction() as s:
        take(s, u2, "PLAIN", "A-1", 3)  # a picker takes 3 after the count of PLAIN
        take(s, u2, "PAINT", "A-1", 2, lot="L1", to_bin="B-1")  # and 2 paint before it is counted
    count(wh, u1, view.task_id, "PAINT", 3, lot_code="L1")
    assert close(wh, u1, view.task_id).outcome == "closed"


def test_stock_put_in_before_it_was_counted_is_no_variance(wh, u1, u2):
    view = start(wh, u1, "A-1")
    with wh.transaction() as s:
        give(s, u2, "PLAIN", "A-1", 2)
    count(wh, u1, view.task_id, "PLAIN", 12)
    count(wh, u1, view.task_id, "PAINT", 5, lot_code="L1")
    assert close(wh, u1, view.task_id).outcome == "closed"


def test_stock_arriving_after_the_counter_passed_is_no_variance(wh, u1, u2):
    view = start(wh, u1, "A-1")
    count(wh, u1, view.task_id, "PLAIN", 10)
    count(wh, u1, view.task_id, "PAINT", 5, lot_code="L1")
    with wh.transaction() as s:
        give(s, u2, "OTHER", "A-1", 8)  # put away while the counter was already done with the shelf
    assert close(wh, u1, view.task_id).outcome == "closed"
    assert book(wh, "OTHER", "A-1") == 8


def test_stock_gone_before_the_counter_looked_is_no_variance(wh, u1, u2):
    view = start(wh, u1, "A-1")
    with wh.transaction() as s:
        take(s, u2, "PAINT", "A-1", 5, lot="L1")
        give(s, u2, "PAINT", "A-1", 5, lot="L1")  # gone and back: the shelf was empty at some moment
    count(wh, u1, view.task_id, "PLAIN", 10)
    assert close(wh, u1, view.task_id).outcome == "closed"


def test_real_shortage_still_shows_while_stock_moves(wh, s1, u1, u2):
    create(wh, s1, ["A-1"], blind=False)
    view = start(wh, u1, "A-1")
    with wh.transaction() as s:
        take(s, u2, "PLAIN", "A-1", 3)
        take(s, u2, "PAINT", "A-1", 3, lot="L1")  # 2 left by the books, never empty: not scanned = missing
    count(wh, u1, view.task_id, "PLAIN", 5)
    result = close(wh, u1, view.task_id)
    assert result.outcome == "recount"
    assert [(v.label, v.expected, v.counted) for v in result.variances] == [("PAINT lot L1", 2, 0), ("PLAIN", 7, 5)]


def test_approval_applies_the_difference_to_the_book_as_it_is_now(wh, s1, u1, u2):
    _, exception_id = variance_in_review(wh, u1, plain=8)  # 2 missing
    with wh.transaction() as s:
        give(s, u2, "PLAIN", "A-1", 3)  # arrives after the count, before the decision
    with wh.transaction() as s:
        supervisor.approve(s, s1, exception_id)
    assert book(wh, "PLAIN", "A-1") == 11


# --------------------------------------------------------------------------- serials


def test_each_serial_counts_once_and_a_missing_serial_is_a_variance(wh, s1, u1):
    create(wh, s1, ["A-2"], blind=False)
    view = start(wh, u1, "A-2")
    count(wh, u1, view.task_id, "PHONE", serial="SN1")
    with pytest.raises(InvalidInput, match="already counted"):
        count(wh, u1, view.task_id, "PHONE", serial="SN1")
    count(wh, u1, view.task_id, "PHONE", serial="SN2")
    result = close(wh, u1, view.task_id)
    assert [(v.serial, v.expected, v.counted) for v in result.variances] == [("SN3", 1, 0)]


def test_approved_missing_serial_leaves_the_books(wh, s1, u1):
    create(wh, s1, ["A-2"])
    for _ in range(2):
        view = start(wh, u1, "A-2")
        count(wh, u1, view.task_id, "PHONE", serial="SN1")
        count(wh, u1, view.task_id, "PHONE", serial="SN2")
        result = close(wh, u1, view.task_id)
    assert result.outcome == "review"
    with wh.transaction() as s:
        supervisor.approve(s, s1, result.exception_id)
    with wh.reading() as s:
        assert s.scalars(select(SerialUnit.status).where(SerialUnit.serial == "SN3")).one() == "removed"
        assert run_checks(s).ok
    assert book(wh, "PHONE", "A-2") == 2


def test_serial_found_here_but_booked_elsewhere_is_moved_here_on_approval(wh, s1, u1):
    with wh.transaction() as s:
        give(s, Actor(None, "SETUP"), "PHONE", "B-1", 1, serial="SN9")
    for _ in range(2):
        view = start(wh, u1, "A-2")
        for sn in ("SN1", "SN2", "SN3", "SN9"):
            count(wh, u1, view.task_id, "PHONE", serial=sn)
        result = close(wh, u1, view.task_id)
    assert result.outcome == "review"
    with wh.transaction() as s:
        supervisor.approve(s, s1, result.exception_id)
    with wh.reading() as s:
        bin_id = s.scalars(select(SerialUnit.bin_id).where(SerialUnit.serial == "SN9")).one()
        assert bin_id == md.bin_by_code(s, "A-2").id
        assert run_checks(s).ok
    assert (book(wh, "PHONE", "A-2"), book(wh, "PHONE", "B-1")) == (4, 0)


# --------------------------------------------------------------------------- claims


def test_a_claimed_count_is_not_handed_to_another_operator(wh, s1, u1, u2):
    create(wh, s1, ["A-1", "A-2"])
    with wh.transaction() as s:
        first = counting.next_task(s, u1)
    with wh.transaction() as s:
        second = counting.next_task(s, u2)
    assert (first.bin_code, second.bin_code) == ("A-1", "A-2")
    with pytest.raises(NotAllowed, match="being counted by U1"):
        start(wh, u2, "A-1")
    with pytest.raises(NotAllowed, match="someone else's"):
        count(wh, u2, first.task_id, "PLAIN", 1)


def test_next_resumes_the_operators_own_count_first(wh, s1, u1):
    create(wh, s1, ["A-1", "A-2"])
    view = start(wh, u1, "A-2")
    count(wh, u1, view.task_id, "PHONE", serial="SN1")
    with wh.transaction() as s:
        again = counting.next_task(s, u1)
    assert (again.task_id, again.bin_code, [c.counted for c in again.counted]) == (view.task_id, "A-2", [1])


def test_scanning_a_bin_with_no_task_starts_an_unplanned_blind_count(wh, u1):
    view = start(wh, u1, "B-1")
    assert view.blind and view.status == "counting"
    with wh.reading() as s:
        assert "unplanned" in s.get(CountTask, view.task_id).reason


def test_no_open_task_says_scan_a_bin(wh, u1):
    with pytest.raises(NotFound, match="scan a bin"):
        with wh.transaction() as s:
            counting.next_task(s, u1)


def test_a_bin_waiting_for_a_decision_cannot_be_counted_again(wh, u1, u2):
    variance_in_review(wh, u1)
    with pytest.raises(NotAllowed, match="waits for a supervisor"):
        start(wh, u2, "A-1")


def test_closing_a_count_answers_the_open_tasks_it_covers(wh, s1, u1):
    start(wh, u1, "A-1")
    with wh.transaction() as s:  # another open task for the bin, older than this count (e.g. from a short pick)
        s.add(CountTask(bin_id=md.bin_by_code(s, "A-1").id, status="open", reason="short pick",
                        created_at=dt.datetime(2000, 1, 1)))
    count_a1(wh, u1, 10, 5)
    with wh.reading() as s:
        statuses = s.scalars(select(CountTask.status).order_by(CountTask.id)).all()
    assert statuses == ["closed", "closed"]


def test_supervisor_takes_a_claimed_count_back(wh, s1, u1, u2):
    view = start(wh, u1, "A-1")
    count(wh, u1, view.task_id, "PLAIN", 3)
    with pytest.raises(NotAllowed):
        with wh.transaction() as s:
            counting.unclaim(s, u2, view.task_id)
    with wh.transaction() as s:
        counting.unclaim(s, s1, view.task_id)
    again = start(wh, u2, "A-1")
    assert again.task_id == view.task_id and again.counted == ()


# --------------------------------------------------------------------------- LPNs in the bin


def test_stock_on_an_lpn_in_the_bin_is_counted_on_the_lpn(wh, u1):
    with wh.transaction() as s:
        item = md.item_by_sku(s, "OTHER")
        post(s, Actor(None, "SETUP"), kind="adjust", item=item, qty=6, to_bin=md.bin_by_code(s, "A-3"),
             to_container=md.container(s, "LPN-1"))
        md.container(s, "LPN-ELSEWHERE").bin_id = md.bin_by_code(s, "B-1").id
    view = start(wh, u1, "A-3")
    with pytest.raises(NotAllowed, match="stands in B-1"):
        count(wh, u1, view.task_id, "OTHER", 6, container_code="LPN-ELSEWHERE")
    count(wh, u1, view.task_id, "OTHER", 6)  # loose, not on the LPN: both lines differ
    result = close(wh, u1, view.task_id)
    assert result.outcome == "recount"
    view = start(wh, u1, "A-3")
    count(wh, u1, view.task_id, "OTHER", 6, container_code="LPN-1")
    assert close(wh, u1, view.task_id).outcome == "closed"


# --------------------------------------------------------------------------- creating counts


def test_supervisor_creates_counts_for_a_zone_skipping_bins_already_counted(wh, s1, u1):
    start(wh, u1, "A-2")
    with wh.transaction() as s:
        result = count_tasks.create_counts(s, s1, zone="A", blind=True)
    assert [code for _, code in result.created] == ["A-1", "A-3"]
    assert result.skipped == ("A-2",)
    assert result.summary() == ("Created 2 blind count task(s): A-1, A-3; "
                                "skipped 1 bin(s) with a count already open: A-2")
    with wh.reading() as s:
        entry = s.scalars(select(AuditEvent).where(AuditEvent.kind == "count_created")).one()
        assert entry.badge == "S1" and entry.at is not None


def test_counts_for_items_cover_every_bin_holding_them(wh, s1):
    with wh.transaction() as s:
        result = count_tasks.create_counts(s, s1, items=["PLAIN"])
    assert [code for _, code in result.created] == ["A-1", "B-1"]


def test_an_operator_cannot_create_counts(wh, u1):
    with pytest.raises(NotAllowed, match="Only a supervisor"):
        with wh.transaction() as s:
            count_tasks.create_counts(s, u1, bins=["A-1"])


def test_cli_creates_counts_and_refuses_bad_requests_changing_nothing(wh):
    cli = Actor(None, "CLI")
    with pytest.raises(InvalidInput, match="not both"):
        count_tasks.create_from_cli(wh, ["A-1"], "A", False, cli)
    with pytest.raises(InvalidInput, match="--bins"):
        count_tasks.create_from_cli(wh, None, None, False, cli)
    with pytest.raises(NotFound, match="Z-9"):
        count_tasks.create_from_cli(wh, ["A-1", "Z-9"], None, False, cli)
    with pytest.raises(NotFound, match="Zone Q"):
        count_tasks.create_from_cli(wh, None, "Q", False, cli)
    with wh.reading() as s:
        assert s.scalar(select(func.count()).select_from(CountTask)) == 0
    out = count_tasks.create_from_cli(wh, ["A-1", " B-1"], None, True, cli)
    assert out == "Created 2 blind count task(s): A-1, B-1"
    with wh.reading() as s:
        assert [t.blind for t in s.scalars(select(CountTask))] == [True, True]
        assert s.scalars(select(AuditEvent.badge).where(AuditEvent.kind == "count_created")).one() == "cli"


# --------------------------------------------------------------------------- the Count state machine


def raw(text: str) -> RawScan:
    return RawScan(text=text, source="test")


def workflow(db, badge="U1") -> Count:
    terminal = Terminal(db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")
    terminal.operator = operator(db, badge)
    return Count(terminal)


def test_blind_count_workflow_never_shows_expected_quantities(wh, s1):
    create(wh, s1, ["A-1"], blind=True)
    wf = workflow(wh)
    shown = []

    def feed(text):
        outcome = wf.submit(raw(text))
        shown.append(wf.prompt.text)
        shown.extend(wf.lines())
        shown.append(outcome.message)
        return outcome

    assert feed("@NEXT").ok and wf.state == "item"
    feed(PLAIN_GTIN)
    assert wf.state == "qty"
    feed("7")
    outcome = feed("@DONE")
    assert outcome.ok and outcome.message == "Recount A-1: counts differ — count the bin again" and wf.state == "item"
    text = "\n".join(shown)
    # The book has PLAIN 10 and PAINT 5: neither number may appear anywhere the operator looks.
    assert "10" not in text and "5" not in text, text
    assert "RECOUNT" in "\n".join(wf.lines())


def test_not_blind_workflow_shows_book_and_differing_lines(wh, s1):
    create(wh, s1, ["A-1"], blind=False)
    wf = workflow(wh)
    wf.submit(raw("@NEXT"))
    assert "PLAIN 10" in wf.lines()
    wf.submit(raw(PLAIN_GTIN))
    wf.submit(raw("7"))
    wf.submit(raw("@DONE"))
    assert "PLAIN 7/10" in wf.lines() and "PAINT lot L1 0/5" in wf.lines()


def test_workflow_asks_lot_and_keeps_the_serial_prompt_for_the_next_unit(wh):
    wf = workflow(wh)
    wf.submit(raw("A-2"))
    wf.submit(raw("PHONE-ALIAS"))
    assert wf.state == "serial" and wf.prompt.text == "Scan serial of PHONE"
    assert wf.submit(raw("SN1")).ok
    assert wf.prompt.text == "Next serial of PHONE or item"
    refused = wf.submit(raw("SN1"))
    assert not refused.ok and "already counted" in refused.message and wf.state == "serial"
    wf.submit(raw("SN2"))
    wf.submit(raw("PAINT-ALIAS"))
    assert wf.state == "lot"
    wf.submit(raw("L7"))
    assert wf.state == "qty"
    wf.submit(raw("2"))
    assert wf.state == "item"
    assert [(c.label, c.counted) for c in wf.view.counted] == [("PHONE", 2), ("PAINT lot L7", 2)]


def test_cancel_at_scan_item_pauses_and_next_resumes(wh):
    wf = workflow(wh)
    wf.submit(raw("A-1"))
    wf.submit(raw(PLAIN_GTIN))
    wf.submit(raw("4"))
    assert wf.submit(raw("@CANCEL")).ok and wf.state == "start"
    outcome = wf.submit(raw("@NEXT"))
    assert "resumed" in outcome.message and wf.view.counted[0].counted == 4


def test_workflow_asks_expiry_for_a_dated_item_and_for_a_new_lot_of_a_dated_lot_item(wh):
    with wh.transaction() as s:
        milk = md.add_item(s, "MILK", tracking="lot", expiry_required=True, aliases=["MILK-ALIAS"])
        md.lot(s, milk, "M1", EXPIRY)
    wf = workflow(wh)
    wf.submit(raw("A-3"))
    wf.submit(raw("DATED-ALIAS"))
    assert wf.state == "expiry"
    wf.submit(raw(EXPIRY.strftime("%y%m%d")))
    assert wf.state == "qty"
    wf.submit(raw("2"))
    wf.submit(raw("MILK-ALIAS"))
    wf.submit(raw("M1"))
    assert wf.state == "qty"  # a known lot knows its expiry
    wf.submit(raw("1"))
    wf.submit(raw("MILK-ALIAS"))
    wf.submit(raw("M2"))
    assert wf.state == "expiry"  # a lot never seen: its expiry is asked
    wf.submit(raw("310630"))
    wf.submit(raw("4"))
    assert [(c.label, c.counted) for c in wf.view.counted] == [
        (f"DATED lot {EXPIRY.isoformat()}", 2), ("MILK lot M1", 1), ("MILK lot M2", 4)]
