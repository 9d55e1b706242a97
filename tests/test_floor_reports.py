"""The floor measures and the reports productivity, accuracy, dock-to-stock and expiry, against hand-computed numbers.

One small warehouse's evening, written straight into the ledger and the audit log
(what the floor records): P1 works 22:00 to 02:00 across midnight on terminal T1
and, logged in at the same time, 23:00-23:45 on T2; P2 receives and puts away
and is logged out by the idle timer at 22:30.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from warehouse_tui import clock
from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    CountLine,
    CountTask,
    Item,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    Owner,
    PickList,
    PickListOrder,
    PickTask,
    Quant,
    WarehouseException,
    quant_key,
)
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services import floor_metrics as fm
from warehouse_tui.services import reports

D = dt.date(2026, 11, 20)


def at(day_offset: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(D + dt.timedelta(days=day_offset), dt.time(hh, mm))


@pytest.fixture
def evening(db):
    clock.set_clock(at(1, 1, 30), frozen=True)
    with db.transaction() as s:
        w = Owner(code="W", name="Warehouse")
        acme = Owner(code="ACME", name="Acme")
        s.add_all([w, acme])
        s.flush()
        item = Item(owner_id=w.id, sku="A", description="item A", tracking="lot")
        other = Item(owner_id=acme.id, sku="B", description="acme's")
        rcv = Bin(code="RCV", barcode="RCV", kind="receiving")
        s1 = Bin(code="S1", barcode="S1", kind="storage")
        p1 = Operator(badge="P1", name="Pat", pin_hash="x")
        p2 = Operator(badge="P2", name="Sam", pin_hash="x")
        s.add_all([item, other, rcv, s1, p1, p2])
        s.flush()

        def audit(kind, op, terminal, when):
            s.add(AuditEvent(kind=kind, operator_id=op.id, badge=op.badge, terminal=terminal, at=when))

        audit("login", p2, "T3", at(0, 21))
        audit("login", p1, "T1", at(0, 22))
        audit("idle_logout", p2, "T3", at(0, 22, 30))
        audit("login", p1, "T2", at(0, 23))
        audit("logout", p1, "T2", at(0, 23, 45))
        audit("logout", p1, "T1", at(1, 2))
        audit("login_failed", p1, "T2", at(0, 22, 10))  # not a session

        def move(kind, qty, op, terminal, when, **kw):
            s.add(Movement(uuid=f"{kind}-{when:%d%H%M}-{qty}", kind=kind, item_id=kw.pop("item", item).id, qty=qty,
                           owner_id=kw.pop("owner", w).id, operator_id=op.id, terminal=terminal, at=when, **kw))

        order = OutboundOrder(ref="O1", status="picking")
        s.add(order)
        s.flush()
        move("pick", 5, p1, "T1", at(0, 22, 30), from_bin_id=s1.id, doc_ref="O1")
        move("pick", 2, p1, "T2", at(0, 23, 30), from_bin_id=s1.id, doc_ref="O1")
        move("pick", 3, p1, "T1", at(1, 1), from_bin_id=s1.id, doc_ref="O1")
        move("receipt", 10, p2, "T3", at(0, 21, 30), to_bin_id=rcv.id, doc_ref="PO1")
        move("putaway", 4, p2, "T3", at(0, 22), from_bin_id=rcv.id, to_bin_id=s1.id)
        move("putaway", 5, p2, "T3", at(0, 23, 30), from_bin_id=rcv.id, to_bin_id=s1.id)
        move("putaway", 1, p2, "T3", at(1, 0, 30), from_bin_id=rcv.id, to_bin_id=s1.id)
        move("adjust", 9, p1, "T1", at(0, 22, 40), to_bin_id=s1.id)  # a supervisor's books, not work
        move("receipt", 100, p2, "T3", at(0, 21, 45), to_bin_id=rcv.id, item=other, owner=acme)

        line = OutboundLine(order_id=order.id, item_id=item.id, qty=12)
        pick_list = PickList(ref="PL1", status="picking", claimed_by=p1.id, claimed_terminal="T1")
        s.add_all([line, pick_list])
        s.flush()
        s.add(PickListOrder(pick_list_id=pick_list.id, order_id=order.id))
        for n, status in enumerate(("done", "done", "short", "open")):
            s.add(PickTask(pick_list_id=pick_list.id, order_line_id=line.id, item_id=item.id, bin_id=s1.id, qty=3, seq=n,
                           status=status))

        done = CountTask(bin_id=s1.id, status="closed", attempt=1, started_at=at(0, 10))
        review = CountTask(bin_id=rcv.id, status="review", attempt=2, started_at=at(0, 23, 50))
        waiting = CountTask(bin_id=rcv.id, status="open", attempt=0)
        s.add_all([done, review, waiting])
        s.flush()
        for task, attempt, expected, counted in ((done, 1, 10, 10), (done, 1, 5, 5), (review, 1, 8, 6),
                                                 (review, 2, 8, 7), (review, 2, 0, 1)):
            s.add(CountLine(task_id=task.id, item_id=item.id, attempt=attempt, expected=expected, counted=counted))

        soon = Lot(item_id=item.id, code="L-SOON", expiry=D + dt.timedelta(days=10))
        gone = Lot(item_id=item.id, code="L-GONE", expiry=D - dt.timedelta(days=1))
        s.add_all([soon, gone])
        s.flush()
        for lot, qty in ((soon, 5), (gone, 2)):
            s.add(Quant(key=quant_key(item.id, s1.id, lot.id, None, w.id, "available"), item_id=item.id, bin_id=s1.id,
                        lot_id=lot.id, owner_id=w.id, qty=qty))
        s.add_all([WarehouseException(kind="short_pick", ref="PL1"), WarehouseException(kind="variance", ref="RCV"),
                   WarehouseException(kind="variance", ref="S1", status="approved")])
    yield db
    clock.reset_clock()


def report(db, kind: str, fmt: str = "csv", **opts) -> str:
    out = io.StringIO()
    with db.reading() as session:
        reports.run(session, kind, reports.options(opts.get("owner"), opts.get("date_from"), opts.get("date_to")), fmt, out)
    return out.getvalue()


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_productivity_counts_hours_once_across_terminals_and_splits_at_midnight(evening):
    got = rows(report(evening, "productivity", date_from=str(D), date_to=str(D + dt.timedelta(days=1))))
    assert [(r["date"], r["operator"], r["hours"], r["lines"], r["units"], r["lines_per_hour"], r["units_per_hour"],
             r["picked_lines"], r["picked_units"]) for r in got] == [
        # P1: 22:00-24:00 on T1 with T2's 23:00-23:45 inside it: 2 h, not 2.75; picks 5 + 2.
        ("2026-11-20", "P1", "2.0", "2", "7", "1.0", "3.5", "2", "7"),
        # P2: 21:00-22:30; a receipt of 10 + 100 (another client) and putaways of 4 and 5.
        ("2026-11-20", "P2", "1.5", "4", "119", "2.7", "79.3", "0", "0"),
        # After midnight: P1's T1 session runs on to 02:00; P2 worked while logged out: no hours, rate 0.
        ("2026-11-21", "P1", "2.0", "1", "3", "0.5", "1.5", "1", "3"),
        ("2026-11-21", "P2", "0.0", "1", "1", "0.0", "0.0", "0", "0"),
    ]


def test_productivity_for_one_client_counts_only_its_stock(evening):
    got = rows(report(evening, "productivity", owner="ACME", date_from=str(D)))
    assert [(r["operator"], r["lines"], r["units"]) for r in got] == [("P2", "1", "100")]


def test_accuracy_reads_the_last_attempt_of_finished_counts(evening):
    got = json.loads(report(evening, "accuracy", "json", date_from=str(D)))
    # Lines 10/10, 5/5, then the second attempt of the recount: 8/7, 0/1 (the first attempt's 8/6 is not the result).
    assert got == [{"date": "2026-11-20", "lines": 4, "matched": 2, "line_accuracy_pct": 50.0, "units_counted": 23,
                    "abs_variance_units": 2, "unit_accuracy_pct": 91.3}]


def test_dock_to_stock_matches_putaways_to_receipts_first_in_first_out(evening):
    got = rows(report(evening, "dock-to-stock", date_from=str(D), date_to=str(D + dt.timedelta(days=1))))
    # D: 4 units after 30 min, 5 after 120 min: the 5th of 9 units (median) and the 9th (p90) waited 120.
    assert [(r["date"], r["units"], r["median_minutes"], r["p90_minutes"]) for r in got] == [
        ("2026-11-20", "9", "120.0", "120.0"), ("2026-11-21", "1", "180.0", "180.0")]


def test_expiry_lists_lots_in_the_range_with_days_left(evening):
    got = rows(report(evening, "expiry", date_from=str(D - dt.timedelta(days=5)), date_to=str(D + dt.timedelta(days=30))))
    assert [(r["lot"], r["days_left"], r["bin"], r["qty"]) for r in got] == [("L-GONE", "-2", "S1", "2"), ("L-SOON", "9", "S1", "5")]
    assert [r["lot"] for r in rows(report(evening, "expiry", date_from=str(D), date_to=str(D + dt.timedelta(days=30))))] == ["L-SOON"]


def test_html_report_is_one_page_with_inline_svg_and_no_script(evening):
    page = report(evening, "productivity", "html", date_from=str(D))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2 and "<script" not in page.lower()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "<td>P1</td><td>2.0</td><td>2</td><td>7</td>" in page


def test_html_escapes_what_the_floor_wrote(evening):
    with evening.transaction() as s:
        s.query(Operator).filter_by(badge="P1").update({"badge": "<b>P1</b>"})
    page = report(evening, "productivity", "html", date_from=str(D))
    assert "<b>P1</b>" not in page and "&lt;b&gt;P1&lt;/b&gt;" in page


def test_an_unknown_client_is_refused_naming_the_known_ones(evening):
    with pytest.raises(InvalidInput, match="ACME, W"):
        report(evening, "accuracy", owner="NOPE")


def test_floor_snapshot_of_the_evening(evening):
    with evening.reading() as s:
        snap = fm.snapshot(s, at(1, 1, 30), fm.FloorSettings(idle_minutes=10, shift_hours=8))
    assert snap.hours[0] == at(0, 18) and snap.hours[-1] == at(1, 1)
    # 18 19 20 21 22 23 00 01
    assert snap.picked_units == (0, 0, 0, 0, 5, 2, 0, 3)
    assert snap.picked_lines == (0, 0, 0, 0, 1, 1, 0, 1)
    assert snap.received_units == (0, 0, 0, 110, 0, 0, 0, 0)
    assert snap.lists == (fm.ListProgress("PL1", 2, 1, 0, 1, "P1", 30, True),)
    p1 = next(r for r in snap.operators if r.badge == "P1")
    # Logged in 22:00-01:30 (3.5 h): 3 lines, 10 units; in the last hour the 01:00 pick.
    assert (p1.lines_last_hour, p1.units_last_hour, p1.lines_per_hour, p1.units_per_hour, p1.task, p1.workflow) == (
        1, 3, 0.9, 2.9, "PL1", "Pick")
    assert snap.exceptions[:2] == (("short_pick", 1), ("variance", 1))
    assert (snap.accuracy.lines, snap.accuracy.matched, snap.accuracy.units_counted, snap.accuracy.abs_variance) == (4, 2, 23, 2)
    # Putaways since 18:00: 4 units after 30 min, 5 after 120, 1 after 180. Nearest rank over the 10 units:
    # median = the 5th (120), p90 = the 9th (120); the 10th alone waited 180.
    assert snap.dock_to_stock == fm.DockToStock(10, 120.0, 120.0)
    assert [(lot.lot, lot.days_left, lot.bins) for lot in snap.expiring] == [("L-GONE", -2, ("S1",)), ("L-SOON", 9, ("S1",))]


def test_the_report_command_writes_the_report_and_refuses_an_unknown_kind(evening, capsys):
    from warehouse_tui.cli import main

    path = str(evening.engine.url.database)
    evening.dispose()  # the command opens the file itself, read-only
    assert main(["report", "dock-to-stock", "--db", path, "--from", str(D), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"date": "2026-11-20", "units": 9, "median_minutes": 120.0,
                                                    "p90_minutes": 120.0}]
    assert main(["report", "nonsense", "--db", path]) != 0
    err = capsys.readouterr().err
    assert "nonsense" in err and "productivity" in err and "Traceback" not in err


def test_the_view_counts_expiring_lots_up_to_a_limit_and_lists_the_soonest(evening):
    with evening.transaction() as s:
        item = s.query(Item).filter_by(sku="A").one()
        s1 = s.query(Bin).filter_by(code="S1").one()
        for n in range(fm.EXPIRING_COUNTED + 5):
            lot = Lot(item_id=item.id, code=f"L-{n:03d}", expiry=D + dt.timedelta(days=20 - n % 7))
            s.add(lot)
            s.flush()
            # Every other lot is out of stock: never counted nor listed.
            s.add(Quant(key=quant_key(item.id, s1.id, lot.id, None, item.owner_id, "available"), item_id=item.id,
                        bin_id=s1.id, lot_id=lot.id, owner_id=item.owner_id, qty=n % 2))
    with evening.reading() as s:
        snap = fm.snapshot(s, at(1, 1, 30), fm.FloorSettings(expiry_days=30))
    # 52 of the new lots in stock + L-SOON + L-GONE: 54, all counted.
    assert snap.expiring_total == 54
    assert [lot.lot for lot in snap.expiring[:3]] == ["L-GONE", "L-SOON", "L-013"]  # expired first, then by expiry
    assert all(lot.qty > 0 for lot in snap.expiring) and len(snap.expiring) == fm.EXPIRING_SHOWN
    with evening.transaction() as s:
        s.query(Quant).filter(Quant.qty == 0).update({"qty": 1})
    with evening.reading() as s:
        snap = fm.snapshot(s, at(1, 1, 30), fm.FloorSettings(expiry_days=30))
    assert snap.expiring_total == fm.EXPIRING_COUNTED + 1  # 107 due: counted to one past the limit ("over 100")
