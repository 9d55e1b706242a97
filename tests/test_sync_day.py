"""A day in miniature (issue 6): two terminals and the upstream run a warehouse day and agree to the unit at the end.

The site: the demo warehouse on a fresh PostgreSQL upstream, two terminals T1 and
T2 with their own SQLite files, and between them and the upstream the site
network — a real TCP relay (`SiteNetwork`) that can go down and come back. The
terminals run the real app headless (WarehouseApp + SimScanner, replay-script
steps) with their background sync worker pointed at the upstream through that
network. HQ (the office, on the upstream directly) does what the floor does not:
imports a second operator, releases waves and creates count tasks through the CLI.

The day:
1. Morning, online. T1 (Maria) receives PO-1002 in full (onto an LPN and loose,
   lots and expiry dates from GS1 scans) and puts it away; @SYNC brings it up.
2. HQ waves ORD-10001 and ORD-10003 into one pick list and creates blind
   counts for A-01-05-1 and B-01-07-1; both terminals sync.
3. Midday, online. T2 (Piet) picks the list (claimed on the upstream), packs
   both orders into cartons (weights) and ships them; T1 syncs.
4. Afternoon, the network is down. A sync against the upstream fails with
   UpstreamUnavailable and changes nothing. HQ waves ORD-10005 meanwhile. Both
   terminals work on:
   - the two loose cases of PAPER-A4 in RCV-01 are taken twice — T1 puts
     them away, T2 moves them — the last units of the bin, twice;
   - both take the next count task, the same one (A-01-05-1), and count it
     differently: T1 finds the books right, T2 is one short twice (variance);
   - T2 also counts B-01-07-1 (matches).
5. Evening, the network is back: T1 syncs, then T2, whose move and whose count
   of A-01-05-1 (claimed and closed by T1 first) conflict. Then each syncs once
   more, so each has pulled the other's work.

Afterwards all three databases hold the same stock, serials, documents and
exceptions; every conflict is an open sync_conflict in each supervisor queue;
the ledger checks hold everywhere; every outbox entry was applied exactly once.
The day runs once (module fixture, its own PostgreSQL database); the tests only
read what it left, except one that tries decisions in a rolled-back transaction.
Cartons (with their SSCCs) do not sync yet: their comparison is its own test,
expected to fail until they do.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import aliased

from drivers.sim import SimScanner
from fixture_dates import FAR_YYMMDD
from warehouse_tui import cli
from warehouse_tui.app import WarehouseApp
from warehouse_tui.config import Settings
from warehouse_tui.db.engine import Database
from warehouse_tui.errors import WarehouseError
from warehouse_tui.db.models import (
    AppliedEntry,
    Bin,
    Carton,
    CartonLine,
    Container,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    OutboxEntry,
    PickList,
    PickTask,
    Quant,
    SerialUnit,
    TerminalState,
    WarehouseException,
)
from warehouse_tui.replay import apply_step, parse_script, screen_text
from warehouse_tui.services import supervisor
from warehouse_tui.services.check import run_checks
from warehouse_tui.demo import build_demo
from warehouse_tui.services.exporting import rows
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import UpstreamUnavailable, init_upstream, open_upstream, sync_once
from warehouse_tui.sync.push import pending_count

pytestmark = pytest.mark.postgres

GS = "\\x1d"  # as a replay script writes it
WAIT_S = 60  # the most a shift waits for its sync worker (a hang, not a budget)

# Demo GTINs (seeded, see demo/)
OLIVE_OIL, PASSATA, ESPRESSO, PENNE_CS = "09501101016415", "09501101017467", "09501101016583", "19501101017136"
PAPER_A4, SCISSORS, SCREWS = "19501101010205", "09501101010857", "09501101014541"
BATTERIES, USBC, STRETCH, GLOVES, GLASSES, DUCT = ("09501101011410", "09501101011571", "19501101012971",
                                                   "09501101013018", "09501101013308", "09501101013643")


# --------------------------------------------------------------------------- the site network


class SiteNetwork:
    """A TCP relay in front of PostgreSQL: what the terminals reach the upstream through. `down()` drops it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._links: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.up()

    def url(self, db_url: str) -> str:
        return make_url(db_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def down(self) -> None:
        """Refuse new connections and cut every open one, as a dropped network does."""
        with self._lock:
            self._listener = None
            links, self._links = list(self._links), set()
        if self._acceptor is not None:
            self._acceptor.join()
        for s in links:
            _close(s)

    def _accept(self, listener: socket.socket) -> None:
        try:
            while self._listener is listener:
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                try:
                    server = socket.create_connection(self.target)
                except OSError:
                    _close(client)
                    continue
                with self._lock:
                    if self._listener is not listener:
                        _close(client)
                        _close(server)
                        return
                    self._links.update((client, server))
                for a, b in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()
        finally:
            listener.close()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._links.difference_update((src, dst))
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


# --------------------------------------------------------------------------- a shift on a terminal


@dataclass
class ShiftEnd:
    screen: str
    online: str  # what the status line says: online / offline
    unsynced: int
    sync_message: str


def work_shift(db: Database, terminal: str, upstream_url: str, script: str, *, sync_at_end: bool) -> ShiftEnd:
    """One operator's shift through the real app: replay-script steps, a failed `expect` fails the test.

    The app's sync worker talks to `upstream_url`. With `sync_at_end` the operator scans
    @SYNC and the shift waits until the status line says online with nothing unsynced;
    otherwise it waits until the worker has tried the upstream once and reported.
    """
    settings = Settings(db=str(db.engine.url.database), terminal=terminal, upstream=upstream_url, idle_logout_seconds=0)
    app = WarehouseApp(db, settings, scanner=SimScanner("sim://"), terminal_name=terminal, cursor_blink=False)
    steps = parse_script(script)

    async def shift() -> ShiftEnd:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for step in steps:
                failed = await apply_step(app, pilot, step)
                if failed is not None:
                    pytest.fail(f"{terminal}: {failed.message}\n----- screen -----\n{failed.screen}", pytrace=False)
            if sync_at_end:
                app.scanner.feed("@SYNC")
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                await pilot.pause(0.05)
                status = app.sync_worker.status
                if sync_at_end and app.online == "online" and app.unsynced == 0 and _pending(db) == 0:
                    break
                if not sync_at_end and status.online is not None:
                    break
            await pilot.pause()
            return ShiftEnd(screen_text(app), app.online, app.unsynced, app.sync_worker.status.message)

    return asyncio.run(shift())


def _pending(db: Database) -> int:
    with db.reading() as s:
        return pending_count(s)


def login(badge: str, pin: str) -> str:
    return f"scan {badge}\ntype {pin}\nkey enter\nexpect Choose a task\n"


# --------------------------------------------------------------------------- what the three databases hold


def stock(db: Database) -> dict[tuple, int]:
    """{(sku, bin, lot, container, status): qty} of every non-zero quant."""
    with db.reading() as s:
        rows = s.execute(
            select(Item.sku, Bin.code, Lot.code, Container.code, Quant.status, Quant.qty)
            .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id)
            .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
            .where(Quant.qty != 0)).all()
    totals: Counter = Counter()
    for sku, bin_code, lot, container, status, qty in rows:
        totals[(sku, bin_code, lot, container, status)] += qty
    return dict(totals)


def serials(db: Database) -> dict[tuple, tuple]:
    """{(sku, serial): (bin, container, status)}."""
    with db.reading() as s:
        rows = s.execute(
            select(Item.sku, SerialUnit.serial, Bin.code, Container.code, SerialUnit.status)
            .join(Item, Item.id == SerialUnit.item_id).outerjoin(Bin, Bin.id == SerialUnit.bin_id)
            .outerjoin(Container, Container.id == SerialUnit.container_id)).all()
    return {(sku, serial): (bin_code, container, status) for sku, serial, bin_code, container, status in rows}


def containers(db: Database) -> dict[str, tuple]:
    """{code: (kind, bin)} of every LPN, pallet and tote standing in a bin (cartons are compared by `cartons`).

    A terminal learns a container from the movements that name it (or makes it when
    scanned at a tote/LPN prompt): the demo's empty totes, standing nowhere, are on no
    terminal until used, so only containers standing somewhere are compared.
    """
    with db.reading() as s:
        rows = s.execute(select(Container.code, Container.kind, Bin.code)
                         .join(Bin, Bin.id == Container.bin_id).where(Container.kind != "carton")).all()
    return {code: (kind, bin_code) for code, kind, bin_code in rows}


def outbound(db: Database) -> dict[str, tuple]:
    """{order ref: (status, ((sku, qty, picked, packed, shipped), …))}."""
    with db.reading() as s:
        orders = {o.ref: o.status for o in s.scalars(select(OutboundOrder))}
        lines = s.execute(
            select(OutboundOrder.ref, Item.sku, OutboundLine.qty, OutboundLine.qty_picked, OutboundLine.qty_packed,
                   OutboundLine.qty_shipped)
            .join(OutboundOrder, OutboundOrder.id == OutboundLine.order_id).join(Item, Item.id == OutboundLine.item_id)).all()
    by_order: dict[str, list] = {ref: [] for ref in orders}
    for ref, *line in lines:
        by_order[ref].append(tuple(line))
    return {ref: (orders[ref], tuple(sorted(by_order[ref]))) for ref in orders}


def inbound(db: Database) -> dict[str, tuple]:
    """{PO/ASN ref: (status, ((sku, lot, expected, received), …))}."""
    with db.reading() as s:
        orders = {o.ref: o.status for o in s.scalars(select(InboundOrder))}
        lines = s.execute(
            select(InboundOrder.ref, Item.sku, InboundLine.lot, InboundLine.qty_expected, InboundLine.qty_received)
            .join(InboundOrder, InboundOrder.id == InboundLine.order_id).join(Item, Item.id == InboundLine.item_id)).all()
    by_order: dict[str, list] = {ref: [] for ref in orders}
    for ref, *line in lines:
        by_order[ref].append(tuple(line))
    return {ref: (orders[ref], tuple(sorted(by_order[ref], key=repr))) for ref in orders}


def pick_lists(db: Database) -> dict[str, tuple]:
    """{pick list ref: (status, claimed by, ((bin, sku, qty, picked, status), …))}."""
    with db.reading() as s:
        claimant = aliased(Operator)
        lists = {ref: (status, badge) for ref, status, badge in s.execute(
            select(PickList.ref, PickList.status, claimant.badge).outerjoin(claimant, claimant.id == PickList.claimed_by))}
        tasks = s.execute(
            select(PickList.ref, Bin.code, Item.sku, PickTask.qty, PickTask.qty_picked, PickTask.status)
            .join(PickList, PickList.id == PickTask.pick_list_id).join(Bin, Bin.id == PickTask.bin_id)
            .join(Item, Item.id == PickTask.item_id)).all()
    by_list: dict[str, list] = {ref: [] for ref in lists}
    for ref, *task in tasks:
        by_list[ref].append(tuple(task))
    return {ref: (*lists[ref], tuple(sorted(by_list[ref]))) for ref in lists}


def count_tasks(db: Database) -> dict[str, tuple]:
    """{task uuid: (bin, status, attempt, claimed by)}."""
    with db.reading() as s:
        claimant = aliased(Operator)
        rows = s.execute(select(CountTask.uuid, Bin.code, CountTask.status, CountTask.attempt, claimant.badge)
                         .join(Bin, Bin.id == CountTask.bin_id)
                         .outerjoin(claimant, claimant.id == CountTask.claimed_by)).all()
    return {key: tuple(rest) for key, *rest in rows}


def count_status(db: Database, bin_code: str) -> list[str]:
    with db.reading() as s:
        return list(s.scalars(select(CountTask.status).join(Bin, Bin.id == CountTask.bin_id).where(Bin.code == bin_code)))


def exceptions(db: Database) -> dict[str, tuple]:
    """{exception uuid: (kind, ref, status)}."""
    with db.reading() as s:
        return {e.uuid: (e.kind, e.ref, e.status) for e in s.scalars(select(WarehouseException))}


def supervisor_queue(db: Database) -> list[supervisor.ExceptionView]:
    """The open exceptions as the supervisor's queue shows them on this database."""
    with db.reading() as s:
        sam = s.scalars(select(Operator).where(Operator.badge == "S9001")).one()
        return supervisor.queue(s, Actor(sam, "SUP"))


def cartons(db: Database) -> dict[tuple, tuple]:
    """{(carton container code, sscc, status): ((sku, lot, serial, qty), …)} of the cartons packed today.

    The demo's own shipped carton (there to try returns on) is left out.
    """
    from warehouse_tui.demo.returns import DEMO_RETURN_CARTON

    with db.reading() as s:
        heads = s.execute(select(Carton.id, Container.code, Carton.sscc, Carton.status)
                          .join(Container, Container.id == Carton.container_id).where(Container.code != DEMO_RETURN_CARTON)).all()
        lines = s.execute(select(CartonLine.carton_id, Item.sku, Lot.code, CartonLine.serial, CartonLine.qty)
                          .join(Item, Item.id == CartonLine.item_id).outerjoin(Lot, Lot.id == CartonLine.lot_id)).all()
    by_carton: dict[int, list] = {}
    for carton_id, *line in lines:
        by_carton.setdefault(carton_id, []).append(tuple(line))
    return {(code, sscc, status): tuple(sorted(by_carton.get(cid, []), key=repr)) for cid, code, sscc, status in heads}


def snapshot(db: Database) -> dict:
    """Everything the day is compared on (cartons aside)."""
    return {"stock": stock(db), "serials": serials(db), "containers": containers(db), "outbound": outbound(db),
            "inbound": inbound(db), "pick_lists": pick_lists(db), "count_tasks": count_tasks(db),
            "exceptions": exceptions(db)}


def local_state(db: Database) -> dict:
    """A terminal's own sync state: its outbox and cursor, beside what it holds."""
    with db.reading() as s:
        outbox = s.execute(select(OutboxEntry.uuid, OutboxEntry.pushed_at, OutboxEntry.outcome)).all()
        cursors = s.execute(select(TerminalState.name, TerminalState.pull_cursor)).all()
    return {**snapshot(db), "outbox": sorted(map(tuple, outbox), key=repr), "cursors": sorted(map(tuple, cursors))}


def upstream_state(db: Database) -> dict:
    with db.reading() as s:
        applied = s.execute(select(AppliedEntry.uuid, AppliedEntry.outcome)).all()
        movements = s.scalar(select(func.count()).select_from(Movement))
    return {**snapshot(db), "applied": sorted(map(tuple, applied)), "movements": movements}


def check(db: Database) -> None:
    with db.reading() as s:
        report = run_checks(s)
    assert report.ok, report.render()


# --------------------------------------------------------------------------- the site and the day


class Site:
    """The upstream (demo warehouse, made an upstream), the site network in front of it, T1 and T2."""

    def __init__(self, pg_url: str, tmp_path: Path) -> None:
        self.pg_url = pg_url
        build_demo(pg_url)
        init_upstream(pg_url)
        users = tmp_path / "users.csv"
        users.write_text("badge,name,role,pin\nU1002,Piet Jansen,operator,4321\n", encoding="utf-8")
        self.hq("import", "users", str(users))
        self.upstream = Database(pg_url)
        pg = make_url(pg_url)
        self.network = SiteNetwork((pg.host or "127.0.0.1", pg.port or 5432))
        self.upstream_url = self.network.url(pg_url)  # what the terminals are configured with
        self.t1 = Database(tmp_path / "t1.sqlite")
        self.t2 = Database(tmp_path / "t2.sqlite")
        self.terminals = {"T1": self.t1, "T2": self.t2}
        self._link: Database | None = None

    def hq(self, *args: str) -> None:
        """The office runs the CLI against the upstream itself (not through the floor network)."""
        code = cli.main([*args, "--db", self.pg_url, "--terminal", "HQ"])
        assert code == 0, f"warehouse-tui {' '.join(args)} failed"

    def link(self) -> Database:
        if self._link is None:
            self._link = open_upstream(self.upstream_url)
        return self._link

    def sync(self, name: str):
        return sync_once(self.terminals[name], self.link(), name)

    def every_database(self) -> dict[str, Database]:
        return {"upstream": self.upstream, **self.terminals}

    def close(self) -> None:
        for db in (self._link, self.upstream, self.t1, self.t2):
            if db is not None:
                db.dispose()
        self.network.down()


def gs1(gtin: str, lot: str, expiry: str, qty: int | None = None) -> str:
    """A GS1-128 scan as a replay script writes it: GTIN, expiry, lot (then GS) and count."""
    text = f"]C101{gtin}17{expiry}10{lot}"
    return text + (f"{GS}30{qty}" if qty is not None else "")


def po_lines(db: Database, ref: str) -> dict[str, tuple[str | None, str | None]]:
    """{sku: (lot, expiry YYMMDD)} as the PO announces them (the demo's dates follow the day it is built)."""
    with db.reading() as s:
        rows = s.execute(select(Item.sku, InboundLine.lot, InboundLine.expiry)
                         .join(InboundOrder, InboundOrder.id == InboundLine.order_id)
                         .join(Item, Item.id == InboundLine.item_id).where(InboundOrder.ref == ref)).all()
    return {sku: (lot, expiry.strftime("%y%m%d") if expiry else None) for sku, lot, expiry in rows}


@dataclass
class Day:
    site: Site
    offline_t1: ShiftEnd
    offline_t2: ShiftEnd
    evening: dict  # terminal -> the SyncResult of its first sync back online


def run_day(site: Site) -> Day:
    t1, t2, upstream = site.t1, site.t2, site.upstream

    # ---- before the shift: both terminals pull the warehouse
    first = open_upstream(site.pg_url)
    try:
        for name, db in site.terminals.items():
            sync_once(db, first, name)
            assert stock(db) == stock(upstream), name
    finally:
        first.dispose()

    # ---- 1. morning, online: T1 receives PO-1002 and puts it away
    po = po_lines(upstream, "PO-1002")
    oil_lot, oil_exp = po["OLIVE-OIL-1L"]
    esp_lot, esp_exp = po["ESPRESSO-1K"]
    pen_lot, pen_exp = po["PASTA-PENNE-CS"]
    morning = work_shift(t1, "T1", site.upstream_url, login("U1001", "1234") + f"""
scan @RECEIVE
scan PO-1002
expect Scan item or LPN
scan LPN-DAY-0001
expect Onto LPN LPN-DAY-0001
scan {gs1(OLIVE_OIL, oil_lot, oil_exp, 60)}
expect Received 60 × OLIVE-OIL-1L lot {oil_lot} onto LPN-DAY-0001
scan @CANCEL
expect receiving loose
scan {gs1(PASSATA, "LT-DAY1", FAR_YYMMDD, 96)}
expect Received 96 × PASSATA-700 lot LT-DAY1
scan {gs1(ESPRESSO, esp_lot, esp_exp, 40)}
expect Received 40 × ESPRESSO-1K
scan {gs1(PENNE_CS, pen_lot, pen_exp, 30)}
expect Received 30 × PASTA-PENNE-CS
scan @DONE
expect Receipt closed — all as expected
scan @PUTAWAY
scan LPN-DAY-0001
scan C-01-04-4
expect Put LPN LPN-DAY-0001 in C-01-04-4
scan {PASSATA}
key enter
scan C-01-06-1
expect Put 96 × PASSATA-700 lot LT-DAY1 in C-01-06-1
scan ]C101{ESPRESSO}17{esp_exp}10{esp_lot}
type 30
key enter
scan C-01-02-1
expect Put 30 × ESPRESSO-1K lot {esp_lot} in C-01-02-1
""", sync_at_end=True)
    assert morning.online == "online" and " 0 unsynced" in morning.screen, morning.screen
    # the receipt is upstream, once
    received = inbound(upstream)["PO-1002"]
    assert received[0] == "closed"
    assert sorted((sku, got) for sku, _lot, _exp, got in received[1]) == [
        ("ESPRESSO-1K", 40), ("OLIVE-OIL-1L", 60), ("PASSATA-700", 96), ("PASTA-PENNE-CS", 30)]
    up = stock(upstream)
    assert up[("OLIVE-OIL-1L", "C-01-04-4", oil_lot, "LPN-DAY-0001", "available")] == 60
    assert up[("PASSATA-700", "C-01-06-1", "LT-DAY1", None, "available")] == 96
    assert up[("ESPRESSO-1K", "C-01-02-1", esp_lot, None, "available")] == 30
    assert up[("ESPRESSO-1K", "RCV-01", esp_lot, None, "available")] == 10
    assert up[("PASTA-PENNE-CS", "RCV-01", pen_lot, None, "available")] == 30

    # ---- 2. HQ releases a wave and plans counts; both terminals sync
    site.hq("wave", "--orders", "ORD-10001,ORD-10003")
    site.hq("count", "create", "--bins", "A-01-05-1,B-01-07-1", "--blind")
    site.sync("T2"), site.sync("T1")
    for name, db in site.terminals.items():
        assert pick_lists(db) == pick_lists(upstream), name
        assert count_tasks(db) == count_tasks(upstream), name
        assert stock(db) == stock(upstream), name

    # ---- 3. midday, online: T2 picks the list, packs and ships both orders
    midday = work_shift(t2, "T2", site.upstream_url, login("U1002", "4321") + f"""
scan @PICK
scan PL-00001
expect Scan tote for ORD-10001
scan TOTE-0005
expect Scan tote for ORD-10003
scan TOTE-0006
expect Scan bin A-01-08-1
scan A-01-08-1
scan {BATTERIES}
type 6
key enter
expect Picked 6 × BATT-AA-4 into TOTE-0005
scan A-01-09-1
scan {USBC}
type 1
key enter
scan B-01-01-1
scan {STRETCH}
type 6
key enter
scan B-01-02-1
scan {GLOVES}
type 6
key enter
scan B-01-03-1
scan {GLASSES}
type 6
key enter
scan B-01-04-1
scan {DUCT}
type 3
key enter
expect All picked
key f2
expect PL-00001 done
scan @PACK
scan TOTE-0005
expect Packing ORD-10001
type 6
key enter
scan {BATTERIES}
scan {USBC}
expect all packed: @CLOSE the carton
scan @CLOSE
type 1.2
key enter
expect @DONE ships it
scan @DONE
expect Shipped ORD-10001
scan TOTE-0006
expect Packing ORD-10003
type 6
key enter
scan {STRETCH}
type 6
key enter
scan {GLOVES}
scan @CLOSE
type 8.5
key enter
expect Carton 1 closed
type 6
key enter
scan {GLASSES}
type 3
key enter
scan {DUCT}
scan @CLOSE
type 3.25
key enter
scan @DONE
expect Shipped ORD-10003: 2 carton\\(s\\), 21 unit\\(s\\)
""", sync_at_end=True)
    assert midday.online == "online" and " 0 unsynced" in midday.screen, midday.screen
    # the list was claimed on the upstream by the picker, and the orders left upstream too
    assert pick_lists(upstream)["PL-00001"][:2] == ("done", "U1002")
    assert outbound(upstream)["ORD-10001"][0] == outbound(upstream)["ORD-10003"][0] == "shipped"
    site.sync("T1")
    assert outbound(t1)["ORD-10003"] == outbound(upstream)["ORD-10003"]

    # ---- 4. afternoon: the network goes down
    site.network.down()
    before_t1, before_up = local_state(t1), upstream_state(upstream)
    with pytest.raises(UpstreamUnavailable):
        site.sync("T1")
    assert local_state(t1) == before_t1, "a failed sync changed the terminal"
    assert upstream_state(upstream) == before_up, "a failed sync changed the upstream"
    site.hq("wave", "--orders", "ORD-10005")  # the office still reaches its database

    offline_t1 = work_shift(t1, "T1", site.upstream_url, login("U1001", "1234") + f"""
scan @PUTAWAY
scan {PAPER_A4}
expect PAPER-A4 from RCV-01
expect Enter = all 2
key enter
scan A-01-02-1
expect Put 2 × PAPER-A4 in A-01-02-1
scan @COUNT
scan @NEXT
expect Bin A-01-05-1 · blind
scan {SCISSORS}
type 11
key enter
scan @DONE
expect A-01-05-1 matches the books — closed
""", sync_at_end=False)
    offline_t2 = work_shift(t2, "T2", site.upstream_url, login("U1002", "4321") + f"""
scan @MOVE
scan RCV-01
scan {PAPER_A4}
type 2
key enter
scan A-01-01-3
expect Moved 2 × PAPER-A4 to
scan @COUNT
scan @NEXT
expect Bin A-01-05-1 · blind
scan {SCISSORS}
type 10
key enter
scan @DONE
expect Recount A-01-05-1: counts differ
scan {SCISSORS}
type 10
key enter
scan @DONE
expect A-01-05-1 differs: to supervisor
scan @NEXT
expect Bin B-01-07-1 · blind
scan {SCREWS}
type 44
key enter
scan @DONE
expect B-01-07-1 matches the books — closed
""", sync_at_end=False)

    # ---- 5. evening: the network is back; T1 syncs first, then T2
    site.network.up()
    evening = {"T1": site.sync("T1"), "T2": site.sync("T2")}
    for name in ("T1", "T2", "T1", "T2"):  # each once more, so both have pulled the other's work
        site.sync(name)
    return Day(site, offline_t1, offline_t2, evening)


@pytest.fixture(scope="module")
def day(pg_server, tmp_path_factory):
    """The day, run once on its own fresh database (dropped afterwards); the tests only read what it left."""
    name = f"wt_test_day_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    site = None
    try:
        site = Site(pg_server.rsplit("/", 1)[0] + f"/{name}", tmp_path_factory.mktemp("day"))
        yield run_day(site)
    finally:
        if site is not None:
            site.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --------------------------------------------------------------------------- the tests


def test_a_day_with_an_offline_afternoon_ends_with_all_three_databases_agreeing_to_the_unit(day):
    site = day.site
    t1, t2, upstream = site.t1, site.t2, site.upstream

    # the terminals said they were offline and how much waited, and worked on
    for shift, name in ((day.offline_t1, "T1"), (day.offline_t2, "T2")):
        assert shift.online == "offline" and "offline" in shift.screen, (name, shift.screen)
        assert shift.unsynced > 0 and f" {shift.unsynced} unsynced" in shift.screen, (name, shift.screen)
        assert "unreachable" in shift.sync_message, (name, shift.sync_message)

    # back online: T1 was first, so its putaway and its count stand and nothing of T1's conflicts; T2's do
    assert day.evening["T1"].push.conflict == 0, day.evening["T1"].render()
    assert day.evening["T2"].push.conflict > 0, day.evening["T2"].render()

    # then the three databases hold the same stock, serials, containers and documents
    expected = snapshot(upstream)
    for name, db in (("T1", t1), ("T2", t2)):
        got = snapshot(db)
        for part in expected:
            assert got[part] == expected[part], f"{name} differs from the upstream in {part}"

    # the day's work is in it, to the unit
    s = expected["stock"]
    assert s[("PAPER-A4", "RCV-01", None, None, "available")] == -2  # the two cases went twice: flagged, never dropped
    assert s[("PAPER-A4", "A-01-02-1", None, None, "available")] == 13 + 2
    assert s[("PAPER-A4", "A-01-01-3", None, None, "available")] == 22 + 2
    assert s[("BATT-AA-4", "A-01-08-1", None, None, "available")] == 78 - 6
    assert not any(key[3] in ("TOTE-0005", "TOTE-0006") for key in s)  # the totes were emptied into cartons
    assert not any(key[3] and key[3].startswith(("ORD-10001", "ORD-10003")) for key in s)  # the cartons left
    assert expected["outbound"]["ORD-10001"] == ("shipped", (("BATT-AA-4", 6, 6, 6, 6), ("USBC-1M", 1, 1, 1, 1)))
    assert expected["outbound"]["ORD-10003"][0] == "shipped"
    assert all(line[1:] == (line[1],) * 4 for line in expected["outbound"]["ORD-10003"][1])
    assert expected["outbound"]["ORD-10005"][0] == "released"  # waved while the floor was offline, pulled since
    assert "PL-00002" in expected["pick_lists"]
    assert expected["inbound"]["PO-1002"][0] == "closed"
    assert count_status(upstream, "B-01-07-1") == ["closed"]

    # the ledger invariants hold on all three (a conflict's negative quant is flagged)
    for db in (upstream, t1, t2):
        check(db)

    # every outbox entry of both terminals went up and was applied exactly once, with the outcome it was told
    with upstream.reading() as s:
        applied = dict(s.execute(select(AppliedEntry.uuid, AppliedEntry.outcome)).all())
        upstream_movements = Counter(s.scalars(select(Movement.uuid)))
    for name, db in (("T1", t1), ("T2", t2)):
        with db.reading() as s:
            assert pending_count(s) == 0, name
            entries = s.execute(select(OutboxEntry.uuid, OutboxEntry.kind, OutboxEntry.outcome)).all()
            local_movements = list(s.scalars(select(Movement.uuid).where(Movement.origin == "local")))
        assert entries, name
        for entry_id, kind, outcome in entries:
            assert entry_id in applied, f"{name}: {kind} entry {entry_id} never reached the upstream"
            assert outcome == applied[entry_id], (name, kind, entry_id, outcome, applied[entry_id])
        # each movement made here is booked upstream exactly once
        assert all(upstream_movements[u] == 1 for u in local_movements), name
    with upstream.reading() as s:
        per_uuid = Counter(s.scalars(select(AppliedEntry.uuid)))
    assert set(per_uuid.values()) == {1}


def _entries_of(exception: WarehouseException) -> list[str]:
    """The outbox entries a sync_conflict exception stands for (a movement's carries its uuid as entry id)."""
    data = exception.data or {}
    first = data.get("uuid") or (data.get("entry") or {}).get("id")
    return [first, *(more["uuid"] for more in data.get("more", []))]


def test_every_conflict_of_the_day_is_an_open_sync_conflict_in_every_supervisor_queue(day):
    site = day.site
    with site.upstream.reading() as s:
        conflicted = {key: (terminal, kind, detail or "") for key, terminal, kind, detail in s.execute(
            select(AppliedEntry.uuid, AppliedEntry.terminal, AppliedEntry.kind, AppliedEntry.detail)
            .where(AppliedEntry.outcome == "conflict"))}
    # every conflict is T2's, one per outbox entry: the move of the cases T1 had already put away, and the
    # transactions of its count of A-01-05-1, which T1 had claimed and closed first (today: claim + count, recount, review)
    assert {terminal for terminal, _kind, _detail in conflicted.values()} == {"T2"}, conflicted
    kinds = Counter(kind for _t, kind, _d in conflicted.values())
    assert kinds["movement"] == 1 and kinds["document"] >= 1 and set(kinds) == {"movement", "document"}, conflicted
    moved = [d for _t, kind, d in conflicted.values() if kind == "movement"]
    assert "PAPER-A4" in moved[0] and "RCV-01" in moved[0], moved
    counted = [d for _t, kind, d in conflicted.values() if kind == "document"]
    assert all("A-01-05-1" in d for d in counted), counted
    assert all("kept out" in d and "U1001 on T1" in d for d in counted), counted

    # each conflict is in exactly one open sync_conflict exception (the entries of one piece of work share one),
    # in the supervisor's queue on all three databases
    moved_entry = next(key for key, (_t, kind, _d) in conflicted.items() if kind == "movement")
    for name, db in site.every_database().items():
        queue = supervisor_queue(db)
        in_queue = {e.id for e in queue if e.kind == "sync_conflict"}
        with db.reading() as s:
            recorded = s.scalars(select(WarehouseException).where(WarehouseException.kind == "sync_conflict")).all()
        assert {e.id for e in recorded} == in_queue and all(e.status == "open" for e in recorded), name
        carried = Counter(u for e in recorded for u in _entries_of(e))
        assert carried == Counter(set(conflicted)), (name, [e.detail for e in recorded])
        assert all(e.terminal == "T2" for e in recorded), name
        assert [e.ref for e in recorded if (e.data or {}).get("entry", {}).get("id") == moved_entry] == ["PAPER-A4"], name

    # the moved-twice cases: flagged on every database (the movement and the open exception)
    for name, db in site.every_database().items():
        with db.reading() as s:
            flagged = s.execute(select(Movement.terminal, Movement.kind).where(Movement.conflict.is_(True))).all()
        assert ("T2", "move") in flagged, (name, flagged)


def test_the_same_count_taken_on_both_offline_terminals_stays_with_the_first_claim_everywhere(day):
    site = day.site
    # T1's push came first: its claim and its count (the books were right) stand; T2's came second
    tasks = {name: [t[1:] for t in count_tasks(db).values() if t[0] == "A-01-05-1"] for name, db in site.every_database().items()}
    assert tasks["T1"] == tasks["T2"] == tasks["upstream"], tasks
    [(status, _attempt, claimed_by)] = tasks["upstream"]
    assert (status, claimed_by) == ("closed", "U1001"), tasks
    # no count posted anything by itself: SCISSORS-21 is where it was, everywhere
    for name, db in site.every_database().items():
        assert stock(db)[("SCISSORS-21", "A-01-05-1", None, None, "available")] == 11, name


def test_a_count_kept_out_upstream_does_not_rewrite_the_count_that_closed_the_task(day):
    # T1 closed A-01-05-1 with 11 × SCISSORS-21, as the books said. T2's count of the same task (10, recounted 10)
    # reached the upstream after it was closed and was kept out of its status: the closed task must still show
    # the count that closed it, on every database (the counts export shows each task's latest attempt).
    for name, db in day.site.every_database().items():
        with db.reading() as s:
            lines = [(sku, expected, counted, status) for _id, bin_code, sku, _lot, expected, counted, status
                     in rows(s, "counts") if bin_code == "A-01-05-1"]
        assert lines == [("SCISSORS-21", 11, 11, "closed")], (name, lines)


def test_every_exception_left_in_the_queue_can_be_decided_by_a_supervisor(day):
    # The queue is the supervisor's to empty: each open exception can at least be rejected with a reason
    # (tried in a transaction that is rolled back, so the day's end state stays as it is for the other tests).
    for name, db in day.site.every_database().items():
        undecidable = []
        with db.sessions() as s:
            s.begin()
            sam = s.scalars(select(Operator).where(Operator.badge == "S9001")).one()
            actor = Actor(sam, "SUP")
            try:
                for e in supervisor.queue(s, actor):
                    try:
                        with s.begin_nested():
                            supervisor.reject(s, actor, e.id, "seen at the end of the day")
                    except WarehouseError as exc:
                        undecidable.append((e.kind, e.ref, str(exc)))
            finally:
                s.rollback()
        assert undecidable == [], (name, undecidable)


def test_cartons_packed_on_one_terminal_are_the_same_on_every_database(day):
    site = day.site
    expected = cartons(site.t2)  # packed on T2
    assert {key[0] for key in expected} == {"ORD-10001-T2-1", "ORD-10003-T2-1", "ORD-10003-T2-2"}  # named by the terminal packing them
    assert all(key[2] == "shipped" and key[1] for key in expected)
    for name in ("upstream", "T1"):
        assert cartons(site.every_database()[name]) == expected, name
