"""Where the warehouse holds more than one client's goods, an operator's screen names the client of the stock in hand, on a
line of its own: receive (the receipt's goods), putaway, move and count (the stock's owner), returns (the order's), and
replenishment; with one client no client is named. The client's code is master data: shown as text, cut with … to fit."""

from __future__ import annotations

import pytest

from drivers.base import RawScan
from warehouse_tui.config import Settings
from warehouse_tui.db.models import InboundLine, InboundOrder, Operator
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.workflows.base import Terminal, client_lines, fit
from warehouse_tui.workflows.count import Count
from warehouse_tui.workflows.login import Login
from warehouse_tui.workflows.putaway import Move, Putaway
from warehouse_tui.workflows.receive import Receive
from warehouse_tui.workflows.returns import Return


def scan(text: str) -> RawScan:
    return RawScan(text=text, source="test")


def build(db, owners: tuple[str, ...]) -> None:
    """A WIDGET per client (scanned as <CLIENT>-WIDGET), 3 of each in A-02 and 4 in the receiving bin; PO-1 expects the first's."""
    with db.transaction() as s:
        md.add_bin(s, "RCV", kind="receiving")
        md.add_bin(s, "A-01", kind="storage", zone="A", pick_seq=1)
        md.add_bin(s, "A-02", kind="storage", zone="A", pick_seq=2)
        setup = Actor(None, "SETUP")
        widgets = [md.add_item(s, "WIDGET", owner_code=owner, aliases=[f"{owner}-WIDGET"]) for owner in owners]
        for widget in widgets:
            post(s, setup, kind="receipt", item=widget, qty=3, to_bin=md.bin_by_code(s, "A-02"))
            post(s, setup, kind="receipt", item=widget, qty=4, to_bin=md.bin_by_code(s, "RCV"))
        order = InboundOrder(ref="PO-1", kind="po", supplier="Widgets Ltd")
        s.add(order)
        s.flush()
        s.add(InboundLine(order_id=order.id, item_id=widgets[0].id, qty_expected=10))
        s.add(Operator(badge="U1", name="U1", role="operator", pin_hash=hash_pin("1234")))


@pytest.fixture
def two_clients(db) -> Terminal:
    build(db, ("BETA", "ACME"))
    return logged_in(db)


@pytest.fixture
def one_client(db) -> Terminal:
    build(db, ("ACME",))
    return logged_in(db)


def logged_in(db) -> Terminal:
    terminal = Terminal(db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")
    login = Login(terminal)
    login.submit(scan("U1"))
    assert login.submit(scan("1234")).ok
    return terminal


def clients_shown(wf) -> list[str]:
    return [line for line in wf.lines() if line.startswith("Client ")]


def drive(wf, *scans: str):
    for text in scans:
        outcome = wf.submit(scan(text))
        assert outcome.ok, outcome
    return wf


def test_receive_names_the_receipts_client_then_the_item_in_hands(two_clients):
    wf = drive(Receive(two_clients), "PO-1")
    assert clients_shown(wf) == ["Client BETA"]  # the receipt's lines are BETA's goods
    drive(wf, "BETA-WIDGET")
    assert wf.state == "qty" and clients_shown(wf) == ["Client BETA"]


def test_blind_receive_names_the_client_of_the_item_in_hand(two_clients):
    wf = drive(Receive(two_clients), "@BLIND", "ACME-WIDGET")
    assert wf.state == "qty" and clients_shown(wf) == ["Client ACME"]


@pytest.mark.parametrize("client", ["ACME", "BETA"])
def test_putaway_names_the_client_of_the_stock_taken_from_the_receiving_bin(two_clients, client):
    wf = drive(Putaway(two_clients), f"{client}-WIDGET")
    assert clients_shown(wf) == [f"Client {client}"]


@pytest.mark.parametrize("client", ["ACME", "BETA"])
def test_move_names_the_client_of_the_stock_in_hand_from_a_bin_holding_both(two_clients, client):
    wf = drive(Move(two_clients), "A-02")
    assert clients_shown(wf) == ["Client ACME, BETA"]  # the bin holds both clients' stock
    drive(wf, f"{client}-WIDGET")
    assert clients_shown(wf) == [f"Client {client}"]
    drive(wf, "2")
    assert wf.state == "to" and clients_shown(wf) == [f"Client {client}"]


@pytest.mark.parametrize("client", ["ACME", "BETA"])
def test_count_names_the_client_of_the_item_counted_in_a_bin_holding_both(two_clients, client):
    wf = drive(Count(two_clients), "A-02")
    assert clients_shown(wf) == []  # no goods in hand yet
    drive(wf, f"{client}-WIDGET")
    assert wf.state == "qty" and clients_shown(wf) == [f"Client {client}"]


def test_count_names_the_items_client_for_stock_the_books_do_not_have_in_that_bin(two_clients):
    wf = drive(Count(two_clients), "A-01", "ACME-WIDGET")
    assert clients_shown(wf) == ["Client ACME"]


def test_one_client_is_never_named(one_client):
    screens = [drive(Receive(one_client), "PO-1"), drive(Receive(one_client), "PO-1", "ACME-WIDGET"),
               drive(Putaway(one_client), "ACME-WIDGET"), drive(Move(one_client), "A-02", "ACME-WIDGET", "2"),
               drive(Count(one_client), "A-02", "ACME-WIDGET")]
    for wf in screens:
        assert wf.lines() and clients_shown(wf) == [], wf.lines()


def test_the_client_of_a_return_is_the_client_of_its_order(demo_db):
    terminal = Terminal(demo_db, Settings(db="", terminal="T1", idle_logout_seconds=0), "T1")
    login = Login(terminal)
    login.submit(scan("U1001"))
    assert login.submit(scan("1234")).ok
    wf = drive(Return(terminal), "RMA-30001")  # the demo's RMA against ORD-20001, the warehouse's own goods
    assert clients_shown(wf) == ["Client MAIN"]


@pytest.mark.parametrize("code", [
    "[bold red]ACME[/]",
    "A" * 5000,
    "AC\u200bME\u202eX",
    "客户" * 30,
])
def test_a_hostile_client_code_is_one_line_of_text_that_fits_a_handheld(code):
    (line,) = client_lines(code)
    assert line.startswith("Client ")
    cells = sum(2 if ch in "客户" else 1 for ch in line)
    assert cells <= 38
    assert "\u200b" not in line and "\u202e" not in line and "\n" not in line
    if code.startswith("["):
        assert line == f"Client {code}"  # shown as written (the screen renders it as text, never markup)
    elif code.startswith("AC"):
        assert line == "Client AC<200B>ME<202E>X"
    else:
        assert line.endswith("…")


def test_no_client_no_line():
    assert client_lines("") == []


def test_a_long_client_code_on_the_pick_card_is_cut_with_an_ellipsis_and_the_sku_stays_whole():
    line = fit("SKU  MUG-300 · client " + "N" * 5000 + "\u202e", 38)
    assert line.startswith("SKU  MUG-300 · client N") and line.endswith("…") and len(line) == 38
