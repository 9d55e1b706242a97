"""Several terminals doing the floor's real work, partly offline, syncing in any order: afterwards all agree (issue 6).

The site: the demo warehouse on a PostgreSQL upstream and two or three terminals, each with its own SQLite
file and its own operator (T1 U1001, T2 U1002, T3 U1003); the supervisor S9001 works on any terminal and in
the office (directly on the upstream). A template database is built once per module — the demo, a first
wave (ORD-10001, ORD-10003, ORD-10006, ORD-10008 in two pick lists) and two planned counts — together
with the three terminal files synced once with it (each holds its lease of SSCCs); every day below starts
from a copy of both (CREATE DATABASE … TEMPLATE, file copies).

A day is a seeded random run (the seeds are fixed, so a day replays exactly) of operator actions through the
services only — the business rules, as the screens call them, one transaction per action:

- on a terminal: receipts against the open PO/ASN lines (some over the expected quantity or of zero units:
  refused), loose or onto a new LPN, with a few serials every terminal uses (the same stove received twice),
  now and then closing the receipt; putaways of loose stock and LPNs out of the dock (to the suggested bin or
  one the operator chose: a blocked one and the pack station are refused); moves between bins (more than is
  there, or stock reserved for picking: refused);
- picking: claiming a list — online on the upstream first, inside the local transaction, as the pick screen
  does; offline locally only, so two terminals may take the same list — a new tote per order, then picks in
  full or of one unit, short picks, skips, the zero check, wrong lots and one too many (refused), finishing
  the list; or a whole list walked through;
- packing what an order's totes hold into a carton, closing it with a weight (some no scale gives: refused;
  the SSCC comes from the terminal's leased block) and shipping it (too early: refused);
- counting a bin (the next task — claimed upstream first when online — or a scanned bin), each position as
  the books say or one off, the recount, or a count left in hand; a supervisor approving or rejecting an
  open exception on a terminal or in the office (an operator trying it is refused);
- in the office: releasing waves, taking new orders, planning counts;
- the network: a terminal goes offline (it simply does not sync; a sync it tries fails with UpstreamUnavailable
  and changes nothing) or back online; an online terminal syncs now and then, as the app's worker does.

Which kinds of work a day favours is drawn per day too (swarm testing), so some days are all receipts and
moves, others all picking and packing. At the end of a day every terminal comes back online and all sync
twice in turn. The days run once (module fixture); each test below checks one guarantee over all of them, so
a bug that breaks one guarantee leaves the others checked — why this is a seeded loop
rather than a hypothesis state machine, which stops at the first broken invariant and shrinks for minutes:

- every request a service refused, and every sync tried offline, left its database exactly as it was;
- `check` holds on every database (the upstream's quants are the sum of its movements, conflicts flagged);
- every terminal holds exactly the upstream's stock, reservations, serial units, containers, documents
  (inbound and outbound orders with their line counters, pick lists with claims, totes and tasks, count tasks
  with their lines, exceptions) and cartons (SSCC, weight, status, lines); no SSCC names two cartons
  anywhere, and every label printed on the floor names its carton upstream;
- every outbox entry of every terminal was pushed and applied upstream exactly once, with the outcome the
  terminal was told, and each movement made on a terminal is on the upstream once;
- every sync_conflict no supervisor decided is open in every database's supervisor queue, and every open
  exception can be decided by a supervisor (tried in a transaction that is rolled back);
- and the days did the work this is about (conflicts, offline claims, shipments, recounts, …).

Bugs these days found are pinned at the end of the module by their smallest example each.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, exists, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from test_sync_core import CLOSED_PORT_URL
from test_sync_day import cartons, containers, exceptions, inbound, outbound, serials, stock
from warehouse_tui import clock
from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import (
    AppliedEntry,
    Bin,
    BinKind,
    Carton,
    Container,
    CountLine,
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
    PickListOrder,
    PickTask,
    Quant,
    SerialUnit,
    Tracking,
    WarehouseException,
)
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services import auth, counting, packing, picking, putaway, receiving, supervisor, waves
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import CheckReport, run_checks
from warehouse_tui.demo import build_demo
from warehouse_tui.services.ledger import Actor
from warehouse_tui.sync import DEFAULT_COMPANY_PREFIX, UpstreamUnavailable, init_upstream, open_upstream, sync_once
from warehouse_tui.sync.claims import claim_upstream

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TERMINALS = ("T1", "T2", "T3")
OPERATOR = {"T1": "U1001", "T2": "U1002", "T3": "U1003"}
SUPERVISOR = "S9001"
OFFICE = "OFFICE"
UPSTREAM = "upstream"
PREFIX = DEFAULT_COMPANY_PREFIX
# The days: (seed, terminals). Fixed, so each day replays exactly; a day that showed a bug stays in the list.
DAYS = ((1, 2), (2, 2), (3, 2), (4, 3), (6, 2), (7, 3), (10, 3), (11, 2), (12, 2), (13, 3))
STEPS = 60
# A few serials of the stoves ASN-2001 announces, used by every terminal: the same one gets received twice.
SERIALS = ("NSTV90000001", "NSTV90000002", "NSTV90000003")
FIRST_WAVE = ["ORD-10001", "ORD-10003", "ORD-10006", "ORD-10008"]
DOCK = ("RCV-01", "RCV-02")
QUANTS_ARE_MOVEMENTS = "every quant equals the sum of its movements"
# Where an operator may put stock away besides the suggestion: a reserve bin per zone, a blocked bin, the pack station.
PUT_TO = ("A-01-01-2", "B-01-01-2", "C-01-01-3", "B-02-07-3", "PACK-01")
# What the office orders: untracked, lot-tracked (food, the 3PL client's meals) and serial-tracked goods.
ORDERABLE = ("BATT-AA-4", "GLOVES-L", "MARKER-BLK", "PAPER-A4", "OLIVE-OIL-1L", "NO-MEAL-CHILI", "DRILL-18V")
WEIGHTS = ("2.5", "2.5", "2.5", "11.25", "0", "abc")
# Tables a refused request must leave as they were (on the upstream also what it applied and announced).
TABLES = ("quants", "movements", "serial_units", "containers", "lots", "inbound_orders", "inbound_lines",
          "outbound_orders", "outbound_lines", "pick_lists", "pick_list_orders", "pick_tasks", "cartons",
          "carton_lines", "sscc_ranges", "sscc_counters", "count_tasks", "count_lines", "exceptions", "audit_events",
          "outbox", "operators", "terminal_state")
UPSTREAM_TABLES = (*TABLES, "applied_entries", "change_feed")
# An order with something to do at the pack station: units picked and not packed, a carton open, or packed to ship.
PACKABLE = (OutboundOrder.status.not_in(packing.CLOSED_STATES),
            exists().where(OutboundLine.order_id == OutboundOrder.id, OutboundLine.qty_picked > OutboundLine.qty_packed)
            | exists().where(Carton.order_id == OutboundOrder.id, Carton.status == "open")
            | (OutboundOrder.status == "packed"))


def actor(s, badge: str, terminal: str) -> Actor:
    return Actor(auth.find_operator(s, badge), terminal)


# --------------------------------------------------------------------------- the site, built once per module


@dataclass(frozen=True)
class SiteTemplate:
    admin: Engine                # AUTOCOMMIT connection to the PostgreSQL server
    server_url: str              # the admin URL, whose database part each day replaces
    database: str                # the upstream template database
    terminals: Path              # T1..T3.sqlite, each synced once with the template
    stock_bins: tuple[str, ...]  # the dock and every bin holding stock of an orderable or ordered item
    count_bins: tuple[str, ...]  # those bins' pick faces

    def url(self, database: str) -> str:
        return self.server_url.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="module")
def site_template(pg_server, tmp_path_factory):
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    name = f"wt_wfr_tmpl_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    folder = tmp_path_factory.mktemp("workflow-site")
    try:
        url = pg_server.rsplit("/", 1)[0] + f"/{name}"
        build_demo(url)
        setup = Database(url, migrate=False)
        with setup.transaction() as s:
            s.add_all([Operator(badge=badge, name=f"Operator {badge}", role="operator", pin_hash="-")
                       for badge in ("U1002", "U1003")])
        setup.dispose()
        init_upstream(url)
        office = Database(url, migrate=False)  # an upstream now: what the office does goes to the feed
        with office.transaction() as s:
            sam = actor(s, SUPERVISOR, OFFICE)
            waves.release(s, sam, FIRST_WAVE, None, 2)
            supervisor.create_counts(s, sam, bins=["A-01-08-1", "B-01-02-1"], blind=True)
            ordered = set(s.scalars(select(OutboundLine.item_id))) | {md.item_by_sku(s, sku).id for sku in ORDERABLE}
            holding = s.execute(select(Bin.code, Bin.kind).join(Quant, Quant.bin_id == Bin.id)
                                .where(Quant.item_id.in_(ordered), Quant.qty > 0).distinct()).all()
        stock_bins = tuple(sorted({"RCV-01", "RCV-02", *(code for code, _ in holding)}))
        count_bins = tuple(sorted(code for code, kind in holding if kind == BinKind.PICK.value))
        link = open_upstream(url)
        for terminal in TERMINALS:
            db = Database(folder / f"{terminal}.sqlite")
            sync_once(db, link, terminal)  # pulls the warehouse, leases a block of SSCCs
            db.dispose()
            _fold_wal(folder / f"{terminal}.sqlite")
        link.dispose()
        office.dispose()
        yield SiteTemplate(admin, pg_server, name, folder, stock_bins, count_bins)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fold_wal(path: Path) -> None:
    """Fold the WAL into the main file, so a plain copy of it carries everything."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


# --------------------------------------------------------------------------- what every database must agree on


def reservations(db: Database) -> dict[tuple, int]:
    """{(sku, bin, lot, container): reserved} of every quant with a reservation."""
    with db.reading() as s:
        rows = s.execute(
            select(Item.sku, Bin.code, Lot.code, Container.code, Quant.reserved)
            .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id)
            .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
            .where(Quant.reserved != 0)).all()
    return {tuple(key): reserved for *key, reserved in rows}


def pick_lists(db: Database) -> dict[str, tuple]:
    """{ref: (status, claimed by, on terminal, ((order, tote), …), ((bin, sku, lot, qty, picked, seq, status), …))}."""
    with db.reading() as s:
        claimant = aliased(Operator)
        lists = {ref: rest for ref, *rest in s.execute(
            select(PickList.ref, PickList.status, claimant.badge, PickList.claimed_terminal)
            .outerjoin(claimant, claimant.id == PickList.claimed_by))}
        slots = s.execute(select(PickList.ref, OutboundOrder.ref, Container.code).select_from(PickListOrder)
                          .join(PickList, PickList.id == PickListOrder.pick_list_id)
                          .join(OutboundOrder, OutboundOrder.id == PickListOrder.order_id)
                          .outerjoin(Container, Container.id == PickListOrder.tote_id)).all()
        tasks = s.execute(select(PickList.ref, Bin.code, Item.sku, Lot.code, PickTask.qty, PickTask.qty_picked, PickTask.seq,
                                 PickTask.status).select_from(PickTask)
                          .join(PickList, PickList.id == PickTask.pick_list_id).join(Bin, Bin.id == PickTask.bin_id)
                          .join(Item, Item.id == PickTask.item_id).outerjoin(Lot, Lot.id == PickTask.lot_id)).all()
    orders: dict[str, list] = {ref: [] for ref in lists}
    for ref, *slot in slots:
        orders[ref].append(tuple(slot))
    walk: dict[str, list] = {ref: [] for ref in lists}
    for ref, *task in tasks:
        walk[ref].append(tuple(task))
    return {ref: (*lists[ref], tuple(sorted(orders[ref], key=repr)), tuple(sorted(walk[ref], key=repr))) for ref in lists}


def count_tasks(db: Database) -> dict[str, tuple]:
    """{task uuid: (bin, status, attempt, claimed by, on terminal, lines)}, a line being
    (sku, lot, container, serial, attempt, expected, counted)."""
    with db.reading() as s:
        claimant = aliased(Operator)
        tasks = {key: rest for key, *rest in s.execute(
            select(CountTask.uuid, Bin.code, CountTask.status, CountTask.attempt, claimant.badge, CountTask.claimed_terminal)
            .join(Bin, Bin.id == CountTask.bin_id).outerjoin(claimant, claimant.id == CountTask.claimed_by))}
        lines = s.execute(select(CountTask.uuid, Item.sku, Lot.code, Container.code, CountLine.serial, CountLine.attempt,
                                 CountLine.expected, CountLine.counted).select_from(CountLine)
                          .join(CountTask, CountTask.id == CountLine.task_id).join(Item, Item.id == CountLine.item_id)
                          .outerjoin(Lot, Lot.id == CountLine.lot_id)
                          .outerjoin(Container, Container.id == CountLine.container_id)).all()
    counted: dict[str, list] = {key: [] for key in tasks}
    for key, *line in lines:
        counted[key].append(tuple(line))
    return {key: (*tasks[key], tuple(sorted(counted[key], key=repr))) for key in tasks}


def carton_heads(db: Database) -> dict[str, tuple]:
    """{carton code: (order, sscc, weight, status, box status, box in a bin)}."""
    with db.reading() as s:
        rows = s.execute(select(Container.code, OutboundOrder.ref, Carton.sscc, Carton.weight_kg, Carton.status,
                                Container.status, Container.bin_id.is_not(None))
                         .join(Container, Container.id == Carton.container_id)
                         .join(OutboundOrder, OutboundOrder.id == Carton.order_id)).all()
    return {code: (ref, sscc, None if kg is None else str(kg), *rest) for code, ref, sscc, kg, *rest in rows}


def holdings(db: Database) -> dict[str, dict]:
    """Everything a terminal must hold as the upstream holds it after a full sync, by part."""
    return {"stock": stock(db), "reservations": reservations(db), "serials": serials(db), "containers": containers(db),
            "inbound": inbound(db), "outbound": outbound(db), "pick_lists": pick_lists(db), "count_tasks": count_tasks(db),
            "exceptions": exceptions(db), "cartons": cartons(db), "carton_heads": carton_heads(db)}


def tables(db: Database, names: tuple[str, ...]) -> tuple:
    with db.reading() as s:
        return tuple(tuple(tuple(row) for row in s.execute(text(f"SELECT * FROM {name} ORDER BY 1"))) for name in names)


def differences(got: dict, want: dict, limit: int = 6) -> str:
    keys = sorted(set(got) | set(want), key=repr)
    lines = [f"    {key!r}: terminal {got.get(key, '—')!r} / upstream {want.get(key, '—')!r}"
             for key in keys if got.get(key) != want.get(key)]
    return "\n".join(lines[:limit] + ([f"    … and {len(lines) - limit} more"] if len(lines) > limit else []))


# --------------------------------------------------------------------------- the floor: a copy of the site at work


class Floor:
    """A fresh copy of the site: the upstream (the office works on it directly) and the terminals, each working
    on its own file and reaching the upstream only when online. Every operator action goes through `attempt`."""

    def __init__(self, site: SiteTemplate, names: tuple[str, ...] = ("T1", "T2"), *, offline: tuple[str, ...] = ()) -> None:
        self.site = site
        self.database = f"wt_wfr_{uuid.uuid4().hex[:12]}"
        with site.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}" TEMPLATE "{site.database}"'))
        self.dir = Path(tempfile.mkdtemp(prefix="wfr-"))
        self.names = list(names)
        for name in self.names:
            shutil.copyfile(site.terminals / f"{name}.sqlite", self.dir / f"{name}.sqlite")
        url = site.url(self.database)
        self.office = Database(url, migrate=False)
        self.link = open_upstream(url)  # the terminals' way to the upstream
        self.terminals = {name: Database(self.dir / f"{name}.sqlite", migrate=False) for name in self.names}
        self.online = {name: name not in offline for name in self.names}
        self.events: Counter = Counter()
        self.changed_by_refusal: list[str] = []  # what must never happen: a refusal that changed the database
        self.surprises: list[str] = []   # what must never happen otherwise during the day
        self.decided: set[str] = set()   # exceptions a supervisor decided (a sync conflict among them is not open)
        self.labels: list[tuple[str, str, str]] = []  # (SSCC, carton, terminal) of every carton label printed
        self.made = 0                    # totes, LPNs and orders made so far (their codes)
        self.acting: str | None = None   # the terminal the last piece of work was done on
        self.can: dict[str, list[str]] = {}
        self.refresh()

    def close(self) -> None:
        for db in (self.link, self.office, *self.terminals.values()):
            db.dispose()
        with self.site.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        shutil.rmtree(self.dir, ignore_errors=True)

    def event(self, what: str) -> None:
        self.events[what] += 1

    # ------------------------------------------------------------------ running one request

    def db(self, where: str) -> Database:
        return self.office if where == UPSTREAM else self.terminals[where]

    def attempt(self, where: str, what: str, operation: Callable) -> bool:
        """One operator action in its own transaction; a refusal must leave the database exactly as it was."""
        db = self.db(where)
        names = UPSTREAM_TABLES if where == UPSTREAM else TABLES
        before = tables(db, names)
        try:
            with db.transaction() as s:
                operation(s)
        except WarehouseError as exc:
            if tables(db, names) != before:
                self.changed_by_refusal.append(f"{where}: the refused {what} changed the database ({exc})")
            self.event(f"{what}: refused")
            return False
        self.event(f"{what}: done")
        return True

    def next_code(self, prefix: str, name: str) -> str:
        self.made += 1
        return f"{prefix}-{name}-{self.made}"

    def refresh(self) -> None:
        """Where each kind of work can be done now, so a day's steps go where there is something to do."""
        can: dict[str, list[str]] = {"receive": [], "putaway": [], "pick": [], "pack": [], "decide": []}
        for where in [*self.names, UPSTREAM]:
            with self.db(where).reading() as s:
                if s.scalar(select(exists().where(WarehouseException.status == "open"))):
                    can["decide"].append(where)
                if where == UPSTREAM:
                    continue
                if s.scalar(select(exists().where(InboundOrder.status != "closed", InboundOrder.kind != "blind"))):
                    can["receive"].append(where)
                in_dock = exists().where(Quant.bin_id == Bin.id, Bin.kind == BinKind.RECEIVING.value, Quant.qty > 0)
                if s.scalar(select(in_dock)):
                    can["putaway"].append(where)
                mine = ((PickList.status == "picking") & (PickList.claimed_by == Operator.id)
                        & (Operator.badge == OPERATOR[where]))
                if s.scalar(select(exists().where((PickList.status == "released") | mine))):
                    can["pick"].append(where)
                if s.scalar(select(exists().where(*PACKABLE))):
                    can["pack"].append(where)
        self.can = can

    def terminal(self, t: int, among: str | None = None) -> str:
        names = self.can[among] if among else self.names
        self.acting = names[t % len(names)]
        return self.acting

    # ------------------------------------------------------------------ inbound

    def receive(self, t, line, how, serial, onto_lpn, dock, close):
        """Receive against a line of an open PO/ASN, loose or onto a new LPN; now and then close the receipt."""
        name = self.terminal(t, "receive")
        with self.db(name).reading() as s:
            lines = s.execute(
                select(InboundOrder.ref, InboundLine.item_id, Item.tracking, Item.expiry_required, InboundLine.lot,
                       InboundLine.expiry)
                .join(InboundOrder, InboundOrder.id == InboundLine.order_id).join(Item, Item.id == InboundLine.item_id)
                .where(InboundOrder.status != "closed", InboundOrder.kind != "blind")
                .order_by(InboundOrder.ref, InboundLine.id)).all()
            ref, item_id, tracking, dated, lot, expiry = lines[line % len(lines)]
            received, expected = receiving.line_progress(s, ref, item_id)
        rest = expected - received
        qty = {"rest": max(rest, 1), "some": max(rest // 3, 1), "one": 1, "over": max(rest, 0) + 1, "zero": 0}[how]
        serial_tracked = tracking == Tracking.SERIAL.value
        if serial_tracked and how != "zero":
            qty = 1
        if tracking == Tracking.LOT.value:
            lot = lot or f"LT-{name}"
        if tracking == Tracking.LOT.value or dated:
            expiry = expiry or clock.today() + dt.timedelta(days=400)
        lpn = self.next_code("LPN", name) if onto_lpn and not serial_tracked else None

        def receipt(s):
            receiving.receive_item(s, actor(s, OPERATOR[name], name), receipt_ref=ref, item_id=item_id, qty=qty,
                                   lot_code=lot if tracking == Tracking.LOT.value else None, expiry=expiry,
                                   serial=serial if serial_tracked else None, lpn_code=lpn, bin_code=dock)
        self.attempt(name, "receive" + (" onto LPN" if lpn else ""), receipt)
        if close:
            self.attempt(name, "close receipt", lambda s: receiving.close_receipt(s, actor(s, OPERATOR[name], name), ref))

    def put_away(self, t, pick, how, to, suggested):
        """Put loose stock or an LPN from the dock away: to the suggested bin, or one the operator chose."""
        name = self.terminal(t, "putaway")
        with self.db(name).reading() as s:
            dock = s.execute(
                select(Item.id, Item.tracking, Bin.code, Lot.code, Container.code, Quant.qty - Quant.reserved)
                .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id)
                .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
                .where(Bin.kind == BinKind.RECEIVING.value, Quant.qty > 0).order_by(Quant.id)).all()
            item_id, tracking, from_bin, lot, lpn, free = dock[pick % len(dock)]
            serial = s.scalar(select(SerialUnit.serial).join(Bin, Bin.id == SerialUnit.bin_id).where(
                SerialUnit.item_id == item_id, Bin.code == from_bin, SerialUnit.container_id.is_(None),
                SerialUnit.status == "in_stock").order_by(SerialUnit.serial).limit(1))
            to_bin = PUT_TO[to % len(PUT_TO)]
            if suggested:
                box = md.container(s, lpn, create=False) if lpn else None
                bin_ = putaway.container_suggestion(s, box) if box else putaway.suggest_bin(s, s.get(Item, item_id))
                to_bin = bin_.code if bin_ is not None else to_bin
        if lpn is not None:
            self.attempt(name, "putaway LPN", lambda s: putaway.putaway_container(
                s, actor(s, OPERATOR[name], name), container_code=lpn, to_bin_code=to_bin))
            return
        serial_tracked = tracking == Tracking.SERIAL.value
        qty = {"all": None, "part": max(free // 2, 1), "too many": free + 1}[how]
        if serial_tracked:
            qty = 2 if how == "too many" else 1
        self.attempt(name, "putaway", lambda s: putaway.putaway_item(
            s, actor(s, OPERATOR[name], name), item_id=item_id, from_bin_code=from_bin, to_bin_code=to_bin, qty=qty,
            lot_code=lot, serial=serial if serial_tracked else None))

    def move(self, t, pick, to, how):
        """Move loose stock between bins (reserved stock and more than is there are refused)."""
        name = self.terminal(t)
        bins = self.site.stock_bins
        with self.db(name).reading() as s:
            loose = s.execute(
                select(Item.id, Item.tracking, Bin.code, Lot.code, Quant.qty, Quant.reserved)
                .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id)
                .outerjoin(Lot, Lot.id == Quant.lot_id)
                .where(Bin.code.in_(bins), Quant.container_id.is_(None), Quant.qty > 0, Quant.status == "available")
                .order_by(Bin.code, Quant.id)).all()
            if not loose:
                self.event("move: nothing loose")
                return
            item_id, tracking, from_bin, lot, qty, reserved = loose[pick % len(loose)]
            serial = s.scalar(select(SerialUnit.serial).join(Bin, Bin.id == SerialUnit.bin_id).where(
                SerialUnit.item_id == item_id, Bin.code == from_bin, SerialUnit.container_id.is_(None),
                SerialUnit.status == "in_stock").order_by(SerialUnit.serial).limit(1))
        to_bin = bins[to % len(bins)]
        n = {"all": max(qty - reserved, 1), "part": max((qty - reserved) // 2, 1), "too many": qty + 1}[how]
        serial_tracked = tracking == Tracking.SERIAL.value
        self.attempt(name, "move", lambda s: putaway.move_stock(
            s, actor(s, OPERATOR[name], name), item_id=item_id, from_bin_code=from_bin, to_bin_code=to_bin,
            qty=1 if serial_tracked else n, lot_code=lot, serial=serial if serial_tracked else None))

    # ------------------------------------------------------------------ picking

    def my_list(self, name: str) -> str | None:
        with self.db(name).reading() as s:
            return s.scalar(select(PickList.ref).join(Operator, Operator.id == PickList.claimed_by).where(
                Operator.badge == OPERATOR[name], PickList.status == "picking").order_by(PickList.id).limit(1))

    def claim_list(self, name: str, pick: int = 0, ref: str | None = None) -> str | None:
        """Claim a list (`ref`, else one chosen by `pick`, or @NEXT) — online on the upstream first, inside the local
        transaction, as the pick screen does — and give each of its orders a new tote. Returns the list's ref."""
        if ref is None:
            with self.db(name).reading() as s:
                # mostly a list nobody took (as far as this terminal knows), now and then one someone holds
                free = PickList.status == "released" if pick % 5 else PickList.status != "done"
                refs = list(s.scalars(select(PickList.ref).where(free).order_by(PickList.ref)))
            ref = refs[pick % len(refs)] if refs and pick % 4 else None
        claimed = []

        def claim(s):
            view = picking.claim(s, actor(s, OPERATOR[name], name), ref)
            if self.online[name]:
                claim_upstream(self.link, "pick_list", view.ref, OPERATOR[name], name)
            claimed.append(view)
        if not self.attempt(name, "claim list" + (" online" if self.online[name] else " offline"), claim):
            return None
        view = claimed[0]
        while view.order_without_tote is not None:  # one tote per order, each scan its own transaction
            tote, order_ref = self.next_code("TOTE", name), view.order_without_tote
            views = []
            if not self.attempt(name, "tote", lambda s: views.append(
                    picking.assign_tote(s, actor(s, OPERATOR[name], name), view.ref, order_ref, tote))):
                return None
            view = views[0]
        return view.ref

    def pick_task(self, name: str, ref: str, action: str, found: int = 0, empty: bool = True) -> bool:
        """One step of the walk on the terminal's list; False when refused or the list is finished."""
        done = []

        def act(s):
            who = actor(s, OPERATOR[name], name)
            task = picking.next_task(s, who, ref)
            if task is None or action == "finish":
                picking.finish(s, who, ref)
                done.append(None)
                return
            if action == "short":
                picking.short(s, who, task.id, min(found, task.remaining))  # all of it: refused
                return
            if action == "skip":
                picking.skip(s, who, task.id)
                return
            lot, serial = task.lot_code, None
            qty = {"one": 1, "too many": task.remaining + 1}.get(action, task.remaining)
            if task.serial:
                qty = 2 if action == "too many" else 1
                serial = s.scalar(select(SerialUnit.serial).join(Bin, Bin.id == SerialUnit.bin_id)
                                  .where(SerialUnit.item_id == task.item_id, Bin.code == task.bin_code,
                                         SerialUnit.container_id.is_(None), SerialUnit.status == "in_stock")
                                  .order_by(SerialUnit.serial).limit(1)) or "SN-NOT-HERE"
            if action == "wrong lot":
                lot = f"{lot}X" if lot else "LOT-X"
            result = picking.confirm_pick(s, who, task.id, bin_code=task.bin_code, item_id=task.item_id, qty=qty,
                                          lot_code=lot, serial=serial)
            if action in ("wrong lot", "too many"):
                self.surprises.append(f"{name}: {action} was picked: {result}")
            if result.bin_empty:
                done.append(task.id)
        if not self.attempt(name, f"pick {action}", act):
            return False
        if done and done[0] is not None:  # the zero check, answered after the pick as on the screen
            self.attempt(name, "zero check", lambda s: picking.zero_check(s, actor(s, OPERATOR[name], name), done[0], empty))
        return not (done and done[0] is None)

    def pick(self, t, pick, action, found, empty):
        """The picker's next step: claim a list (and totes) when they have none, else act on its next task."""
        name = self.terminal(t, "pick")
        ref = self.my_list(name)
        if ref is None:
            self.claim_list(name, pick)
        else:
            self.pick_task(name, ref, action, found, empty)

    def walk_list(self, name: str, ref: str | None) -> None:
        """Every task picked in full (one transaction each), then the list finished."""
        for _ in range(30):
            if ref is None or not self.pick_task(name, ref, "all"):
                return

    def pick_whole_list(self, t, pick):
        """A picker walks a whole list: claim (with totes) if needed, every task picked in full, finish."""
        name = self.terminal(t, "pick")
        self.walk_list(name, self.my_list(name) or self.claim_list(name, pick))

    # ------------------------------------------------------------------ packing and shipping

    def pack(self, t, pick, weight, ship, early):
        name = self.terminal(t, "pack")
        with self.db(name).reading() as s:
            orders = list(s.scalars(select(OutboundOrder.ref).where(*PACKABLE).order_by(OutboundOrder.ref)))
        self.pack_order(name, orders[pick % len(orders)], weight=weight, ship=ship, early=early)

    def pack_order(self, name: str, ref: str, *, weight="2.5", ship=True, early=False) -> str | None:
        """Pack what the order's totes hold into its carton, close it with a weight, ship it (too early: refused).
        Returns the SSCC of the carton closed."""
        with self.db(name).reading() as s:
            order_id = s.scalar(select(OutboundOrder.id).where(OutboundOrder.ref == ref))
            totes = select(PickListOrder.tote_id).where(PickListOrder.order_id == order_id,
                                                        PickListOrder.tote_id.is_not(None))
            room = Counter()  # per item: units picked for the order and not packed yet
            for item_id, qty, picked, packed in s.execute(
                    select(OutboundLine.item_id, OutboundLine.qty, OutboundLine.qty_picked, OutboundLine.qty_packed)
                    .where(OutboundLine.order_id == order_id)):
                room[item_id] += max(0, min(qty, picked) - packed)
            loose = s.execute(select(Quant.item_id, Lot.code, Quant.qty - Quant.reserved)
                              .join(Item, Item.id == Quant.item_id).outerjoin(Lot, Lot.id == Quant.lot_id)
                              .where(Quant.container_id.in_(totes), Quant.qty > 0, Item.tracking != Tracking.SERIAL.value)
                              .order_by(Quant.id)).all()
            units = s.execute(select(SerialUnit.item_id, SerialUnit.serial).where(
                SerialUnit.container_id.in_(totes), SerialUnit.status == "in_stock").order_by(SerialUnit.serial)).all()
        who = OPERATOR[name]
        if early:
            self.attempt(name, "ship early", lambda s: packing.ship_order(s, actor(s, who, name), ref))
        for item_id, lot, qty in loose:
            n = min(qty, room[item_id])
            if n > 0 and self.attempt(name, "pack", lambda s: packing.pack_units(
                    s, actor(s, who, name), order_ref=ref, item_id=item_id, qty=n, lot_code=lot)):
                room[item_id] -= n
        for item_id, serial in units:
            if room[item_id] > 0 and self.attempt(name, "pack serial", lambda s: packing.pack_units(
                    s, actor(s, who, name), order_ref=ref, item_id=item_id, serial=serial)):
                room[item_id] -= 1
        closed = []
        if self.attempt(name, "close carton", lambda s: closed.append(packing.close_carton(
                s, actor(s, who, name), order_ref=ref, weight=weight, company_prefix=PREFIX))):
            self.labels.append((closed[0].sscc, closed[0].carton_code, name))
        if ship:
            self.attempt(name, "ship", lambda s: packing.ship_order(s, actor(s, who, name), ref))
        return closed[0].sscc if closed else None

    # ------------------------------------------------------------------ counting

    def positions(self, name: str, task_id: int) -> list[tuple]:
        """What the books hold in the task's bin, as a counter finds it: (item, lot, expiry, LPN, serial, qty)."""
        with self.db(name).reading() as s:
            bin_id = s.get(CountTask, task_id).bin_id
            loose = s.execute(
                select(Quant.item_id, Lot.code, Lot.expiry, Container.code, Quant.qty)
                .join(Item, Item.id == Quant.item_id).outerjoin(Lot, Lot.id == Quant.lot_id)
                .outerjoin(Container, Container.id == Quant.container_id)
                .where(Quant.bin_id == bin_id, Quant.status == "available", Quant.qty > 0, Quant.owner_id == Item.owner_id,
                       Item.tracking != Tracking.SERIAL.value,
                       Quant.container_id.is_(None) | Container.kind.in_(counting.PALLETS))
                .order_by(Quant.id)).all()
            units = s.execute(
                select(SerialUnit.item_id, Container.code, SerialUnit.serial)
                .outerjoin(Container, Container.id == SerialUnit.container_id)
                .where(SerialUnit.bin_id == bin_id, SerialUnit.status == "in_stock",
                       SerialUnit.container_id.is_(None) | Container.kind.in_(counting.PALLETS))
                .order_by(SerialUnit.serial)).all()
        return ([(item_id, lot, expiry, lpn, None, qty) for item_id, lot, expiry, lpn, qty in loose]
                + [(item_id, None, None, lpn, serial, 1) for item_id, lpn, serial in units])

    def count_through(self, name: str, task_id: int, off: int) -> None:
        """Count every position (the first `off` from the books; -1 on a serial bin: one unit missed) and close;
        the recount alike."""
        who = OPERATOR[name]
        for _ in range(counting.MAX_ATTEMPTS):
            positions = self.positions(name, task_id)
            if off > 0 and not positions:  # found something the books do not have here
                with self.db(name).reading() as s:
                    positions = [(md.item_by_sku(s, "GLOVES-L").id, None, None, None, None, 0)]
            for n, (item_id, lot, expiry, lpn, serial, qty) in enumerate(positions):
                if serial is not None and n == 0 and off < 0:
                    continue
                self.attempt(name, "count", lambda s: counting.record(
                    s, actor(s, who, name), task_id, item_id=item_id, qty=qty + (off if n == 0 and serial is None else 0),
                    lot_code=lot, expiry=expiry, serial=serial, container_code=lpn))
            results = []
            if not self.attempt(name, "close count",
                                lambda s: results.append(counting.close_bin(s, actor(s, who, name), task_id))):
                return
            self.event(f"count: {results[0].outcome}")
            if results[0].outcome != "recount":
                return

    def count(self, t, scan, pick, off, through):
        """Count: go on with the count in hand, else take the next task (`scan` None) or scan a bin of the dock or the
        racks (claimed upstream first when online); `through` counts the bin to the end, else the count stays in hand."""
        name = self.terminal(t)
        who = OPERATOR[name]
        with self.db(name).reading() as s:
            task_id = s.scalar(select(CountTask.id).join(Operator, Operator.id == CountTask.claimed_by).where(
                Operator.badge == who, CountTask.status.in_(counting.IN_HAND)).order_by(CountTask.id).limit(1))
        if task_id is None:
            bins = DOCK if scan == "dock" else self.site.count_bins
            started = []

            def start(s):
                me = actor(s, who, name)
                view = counting.next_task(s, me) if scan is None else counting.start_bin(s, me, bins[pick % len(bins)])
                if self.online[name]:
                    claim_upstream(self.link, "count_task", s.get(CountTask, view.task_id).uuid, who, name)
                started.append(view.task_id)
            if not self.attempt(name, "start count" + (" online" if self.online[name] else " offline"), start):
                return
            task_id = started[0]
        if through:
            self.count_through(name, task_id, off)

    # ------------------------------------------------------------------ the supervisor and the office

    def decide(self, w, pick, decision):
        """A supervisor approves or rejects an open exception, on a terminal or in the office; an operator is refused."""
        where = self.can["decide"][w % len(self.can["decide"])]
        self.acting = None if where == UPSTREAM else where
        terminal = OFFICE if where == UPSTREAM else where
        with self.db(where).reading() as s:
            queue = s.execute(select(WarehouseException.id, WarehouseException.uuid, WarehouseException.kind)
                              .where(WarehouseException.status == "open").order_by(WarehouseException.id)).all()
        exception_id, key, kind = queue[pick % len(queue)]

        def decide(s):
            if decision == "approve":
                supervisor.approve(s, actor(s, SUPERVISOR, terminal), exception_id)
            elif decision == "reject":
                supervisor.reject(s, actor(s, SUPERVISOR, terminal), exception_id, "seen on the floor")
            else:
                supervisor.approve(s, actor(s, OPERATOR.get(where, "U1001"), terminal), exception_id)
        if self.attempt(where, f"{decision} {kind}", decide):
            self.decided.add(key)

    def office_work(self, action, orders, batch, lines, picks, blind):
        """The office, on the upstream: releases a wave, takes a new order or plans counts."""
        self.acting = None
        if action == "wave":
            self.attempt(UPSTREAM, "wave", lambda s: waves.release(s, actor(s, SUPERVISOR, OFFICE), None, orders, batch))
        elif action == "order":
            ref = self.next_code("ORD", "NEW")

            def order(s):
                o = OutboundOrder(ref=ref, channel="webshop", ship_to="Test customer", priority=1, status="new")
                s.add(o)
                s.flush()
                for sku, qty in lines:
                    item = md.item_by_sku(s, sku)
                    serial_tracked = item.tracking == Tracking.SERIAL.value
                    s.add(OutboundLine(order_id=o.id, item_id=item.id, qty=1 if serial_tracked else qty))
            self.attempt(UPSTREAM, "new order", order)
        else:
            planned = (*DOCK, *self.site.count_bins)
            bins = sorted({planned[p % len(planned)] for p in picks})
            self.attempt(UPSTREAM, "create counts", lambda s: supervisor.create_counts(
                s, actor(s, SUPERVISOR, OFFICE), bins=bins, blind=blind))

    # ------------------------------------------------------------------ the network

    def network_flips(self, t):
        """A terminal loses the Wi-Fi (and its next sync fails) or gets it back (and syncs)."""
        name = self.terminal(t)
        self.online[name] = not self.online[name]
        self.event("offline" if not self.online[name] else "back online")
        self.sync_terminal(name)

    def sync(self, t):
        self.sync_terminal(self.terminal(t))

    def sync_terminal(self, name: str) -> None:
        """An online terminal syncs; an offline one cannot reach the upstream, and its try changes nothing."""
        db = self.db(name)
        if self.online[name]:
            result = sync_once(db, self.link, name)
            if result.pending:
                self.surprises.append(f"{name}: {result.pending} entries still waiting after a sync: {result.render()}")
            self.event("sync: with conflicts" if result.push.conflict else "sync: clean")
            return
        before = tables(db, TABLES)
        try:
            sync_once(db, open_upstream(CLOSED_PORT_URL), name)
            self.surprises.append(f"{name}: a sync with the upstream unreachable did not fail")
        except UpstreamUnavailable:
            pass
        if tables(db, TABLES) != before:
            self.changed_by_refusal.append(f"{name}: a sync that could not reach the upstream changed the terminal")
        self.event("sync: offline")

    # ------------------------------------------------------------------ the end of the day

    def settle(self) -> None:
        """Every terminal back online; all sync twice in turn."""
        for _ in range(2):
            for name in self.names:
                self.online[name] = True
                self.sync_terminal(name)

    def every_database(self) -> dict[str, Database]:
        return {UPSTREAM: self.office, **self.terminals}


# --------------------------------------------------------------------------- a day: random work, then everyone syncs


def _draw(r: random.Random, choices):
    return choices[r.randrange(len(choices))]


# The kinds of work: (base weight, where it can be done now or None for always, the request drawn).
WORK: dict[str, tuple[int, str | None, Callable[[random.Random], dict]]] = {
    "receive": (3, "receive", lambda r: dict(
        t=r.randrange(3), line=r.randrange(61), how=_draw(r, ("rest", "some", "some", "one", "over", "zero")),
        serial=_draw(r, SERIALS), onto_lpn=r.random() < 0.4, dock=_draw(r, ("RCV-01", "RCV-01", "RCV-02")),
        close=r.random() < 0.12)),
    "put_away": (2, "putaway", lambda r: dict(
        t=r.randrange(3), pick=r.randrange(61), how=_draw(r, ("all", "all", "part", "too many")), to=r.randrange(61),
        suggested=r.random() < 0.7)),
    "move": (2, None, lambda r: dict(
        t=r.randrange(3), pick=r.randrange(61), to=r.randrange(61), how=_draw(r, ("all", "part", "part", "too many")))),
    "pick": (3, "pick", lambda r: dict(
        t=r.randrange(3), pick=r.randrange(61), found=r.randrange(4), empty=r.random() < 0.7,
        action=_draw(r, ("all", "all", "all", "one", "short", "skip", "finish", "wrong lot", "too many")))),
    "pick_whole_list": (2, "pick", lambda r: dict(t=r.randrange(3), pick=r.randrange(61))),
    "pack": (3, "pack", lambda r: dict(
        t=r.randrange(3), pick=r.randrange(61), weight=_draw(r, WEIGHTS), ship=r.random() < 0.7, early=r.random() < 0.2)),
    "count": (3, None, lambda r: dict(
        t=r.randrange(3), scan=_draw(r, (None, None, "dock", "rack", "rack")), pick=r.randrange(61),
        off=_draw(r, (0, 0, 0, 1, -1)), through=r.random() < 0.75)),
    "decide": (2, "decide", lambda r: dict(
        w=r.randrange(4), pick=r.randrange(61), decision=_draw(r, ("approve", "approve", "reject", "reject", "operator")))),
    "office_work": (2, None, lambda r: dict(
        action=_draw(r, ("wave", "wave", "order", "counts")), orders=r.randint(1, 3), batch=r.randint(1, 2),
        lines=[(sku, r.randint(1, 4)) for sku in r.sample(ORDERABLE, r.randint(1, 3))],
        picks=[r.randrange(61) for _ in range(r.randint(1, 3))], blind=r.random() < 0.5)),
    "network_flips": (2, None, lambda r: dict(t=r.randrange(3))),
    "sync": (2, None, lambda r: dict(t=r.randrange(3))),
}
ALWAYS = ("pick", "network_flips")  # every day picks and loses the network now and then


@dataclass
class DayEnd:
    """What a day left, for the tests to read (the databases themselves are dropped)."""

    seed: int
    names: list[str]
    script: list[str] = field(default_factory=list)
    crash: str | None = None
    events: Counter = field(default_factory=Counter)
    changed_by_refusal: list[str] = field(default_factory=list)
    surprises: list[str] = field(default_factory=list)
    checks: dict[str, CheckReport] = field(default_factory=dict)   # database -> what `check` says
    holdings: dict[str, dict] = field(default_factory=dict)        # database -> part -> what it holds
    labels: list[tuple[str, str, str]] = field(default_factory=list)
    ssccs: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # database -> SSCC -> carton codes
    unpushed: dict[str, list] = field(default_factory=dict)
    told_otherwise: dict[str, list] = field(default_factory=dict)
    not_booked_once: dict[str, list] = field(default_factory=dict)
    applied_twice: list[str] = field(default_factory=list)
    conflicts: set[str] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)
    queues: dict[str, set[str]] = field(default_factory=dict)      # database -> uuids in the supervisor's queue
    undecidable: dict[str, list] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"day {self.seed} ({len(self.names)} terminals)"


def run_day(site: SiteTemplate, seed: int, terminals: int) -> DayEnd:
    r = random.Random(seed)
    names = TERMINALS[:terminals]
    end = DayEnd(seed, list(names))
    weights = {kind: base * (max(1, r.choice((0, 1, 1, 2))) if kind in ALWAYS else r.choice((0, 1, 1, 2)))
               for kind, (base, _, _) in WORK.items()}
    floor = Floor(site, names, offline=tuple(name for name in names if r.random() < 0.4))
    try:
        for _ in range(STEPS):
            kinds = [kind for kind, (_, where, _) in WORK.items() if weights[kind] and (where is None or floor.can[where])]
            kind = r.choices(kinds, [weights[k] for k in kinds])[0]
            request = WORK[kind][2](r)
            then_sync = r.random() < 0.3
            arguments = ", ".join(f"{k}={v!r}" for k, v in request.items())
            end.script.append(f"{kind}({arguments})" + (" + sync" if then_sync else ""))
            getattr(floor, kind)(**request)
            if then_sync and floor.acting is not None and floor.online[floor.acting]:
                floor.sync_terminal(floor.acting)
            floor.refresh()
        floor.settle()
        inspect_day(floor, end)
    except Exception:  # a crash is a finding of its own (test_no_day_crashes); the other days still count
        end.crash = f"{end.title} crashed after {len(end.script)} steps:\n{traceback.format_exc()}"
    finally:
        end.events, end.labels, end.decided = floor.events, floor.labels, floor.decided
        end.changed_by_refusal, end.surprises = floor.changed_by_refusal, floor.surprises
        floor.close()
    return end


def inspect_day(floor: Floor, end: DayEnd) -> None:
    every = floor.every_database()
    for where, db in every.items():
        with db.reading() as s:
            report = run_checks(s)
            end.ssccs[where] = {}
            for code, sscc in s.execute(select(Container.code, Carton.sscc)
                                        .join(Container, Container.id == Carton.container_id).where(Carton.sscc.is_not(None))):
                end.ssccs[where].setdefault(sscc, set()).add(code)
        end.checks[where] = report
        end.holdings[where] = holdings(db)

    with floor.office.reading() as s:
        applied = Counter(s.scalars(select(AppliedEntry.uuid)))
        outcomes = dict(s.execute(select(AppliedEntry.uuid, AppliedEntry.outcome)).all())
        booked = Counter(s.scalars(select(Movement.uuid)))
        end.conflicts = set(s.scalars(select(WarehouseException.uuid).where(WarehouseException.kind == "sync_conflict")))
    end.applied_twice = [key for key, n in applied.items() if n > 1]
    for name, db in floor.terminals.items():
        with db.reading() as s:
            entries = s.execute(select(OutboxEntry.uuid, OutboxEntry.kind, OutboxEntry.outcome, OutboxEntry.pushed_at)).all()
            made = list(s.scalars(select(Movement.uuid).where(Movement.origin == "local")))
        end.unpushed[name] = [(key, kind) for key, kind, _outcome, pushed in entries if pushed is None]
        end.told_otherwise[name] = [(key, kind, outcome, outcomes.get(key)) for key, kind, outcome, _ in entries
                                    if outcome != outcomes.get(key)]
        end.not_booked_once[name] = [key for key in made if booked[key] != 1]
        floor.events["conflicts told to a terminal"] += sum(outcome == "conflict" for _k, _kind, outcome, _p in entries)

    for where, db in every.items():  # each open exception, rejected in a transaction that is rolled back
        end.undecidable[where] = []
        with db.sessions() as s:
            s.begin()
            sam = actor(s, SUPERVISOR, "SUP")
            try:
                queue = supervisor.queue(s, sam)
                end.queues[where] = set(s.scalars(select(WarehouseException.uuid).where(
                    WarehouseException.id.in_([e.id for e in queue]))))
                for e in queue:
                    try:
                        with s.begin_nested():
                            supervisor.reject(s, sam, e.id, "seen at the end of the day")
                    except WarehouseError as exc:
                        end.undecidable[where].append((e.kind, e.ref, str(exc)))
            finally:
                s.rollback()


@pytest.fixture(scope="module")
def days(site_template) -> list[DayEnd]:
    """Every day of DAYS, run once for the module; the tests read what each left."""
    return [run_day(site_template, seed, terminals) for seed, terminals in DAYS]


def finished(days: list[DayEnd]) -> list[DayEnd]:
    return [day for day in days if day.crash is None]


def parts_differing(day: DayEnd, parts: tuple[str, ...]) -> list[str]:
    found = []
    for name in day.names:
        for part in parts:
            got, want = day.holdings[name][part], day.holdings[UPSTREAM][part]
            if got != want:
                found.append(f"{day.title}: {name} differs from the upstream in {part}:\n{differences(got, want)}")
    return found


# --------------------------------------------------------------------------- the guarantees, over every day

# Bugs the days found, fixed, each still pinned by its smallest example at the end of the module: one carton code
# made on two terminals merged two cartons upstream; an LPN first pulled through a count line became a tote; a
# reservation was lost on a terminal whose quant had been emptied offline.


def test_no_day_crashes(days):
    assert [day.crash for day in days if day.crash] == []


def test_refused_requests_and_syncs_tried_offline_change_nothing(days):
    # the days refused plenty (bad quantities, wrong lots, operators doing supervisors' work, blocked bins, …)
    refused = sum(n for day in days for what, n in day.events.items() if what.endswith(": refused"))
    offline = sum(day.events["sync: offline"] for day in days)
    assert refused >= 50 and offline >= 10, (refused, offline)
    assert [change for day in days for change in day.changed_by_refusal] == []
    # and nothing else went wrong on the way: a wrong lot or one too many never picked, every sync left nothing waiting
    assert [f"{day.title}: {surprise}" for day in days for surprise in day.surprises] == []


def test_every_quant_is_the_sum_of_its_movements_on_every_database_after_the_day(days):
    broken = [f"{day.title}, {where}: {finding.problems}" for day in finished(days) for where, report in day.checks.items()
              for finding in report.findings if finding.invariant == QUANTS_ARE_MOVEMENTS and not finding.ok]
    assert sum(1 for day in finished(days) for report in day.checks.values()
               for finding in report.findings if finding.invariant == QUANTS_ARE_MOVEMENTS and finding.checked) > 0
    assert broken == [], "\n".join(broken)


def test_check_holds_on_every_database_after_the_day(days):
    broken = [f"{day.title}, {where}:\n{report.render()}" for day in finished(days) for where, report in day.checks.items()
              if not report.ok]
    assert broken == [], "\n".join(broken)


def test_every_terminal_shows_the_upstream_stock_and_serials(days):
    found = [diff for day in finished(days) for diff in parts_differing(day, ("stock", "serials"))]
    assert found == [], "\n".join(found)


def test_every_terminal_holds_the_upstream_documents(days):
    parts = ("inbound", "outbound", "pick_lists", "count_tasks", "exceptions")
    found = [diff for day in finished(days) for diff in parts_differing(day, parts)]
    assert found == [], "\n".join(found)


def test_every_outbox_entry_went_up_and_was_applied_exactly_once_with_the_outcome_told(days):
    for day in finished(days):
        assert day.applied_twice == [], day.title
        for name in day.names:
            assert day.unpushed[name] == [], (day.title, name)
            assert day.told_otherwise[name] == [], (day.title, name)
            assert day.not_booked_once[name] == [], (day.title, name)


def test_every_sync_conflict_is_open_in_every_supervisor_queue_and_every_open_exception_can_be_decided(days):
    for day in finished(days):
        for where, queue in day.queues.items():
            missing = sorted(day.conflicts - day.decided - queue)
            assert missing == [], f"{day.title}, {where}: sync conflicts not open in the supervisor's queue"
            assert day.undecidable[where] == [], f"{day.title}, {where}"


def test_the_days_did_the_work_this_is_about(days):
    seen = sum((day.events for day in days), Counter())
    for what in ("receive: done", "receive onto LPN: done", "putaway: done", "putaway LPN: done", "move: done",
                 "claim list online: done", "claim list offline: done", "pick short: done", "pick skip: done", "pack: done",
                 "close carton: done", "ship: done", "count: recount", "count: review", "approve variance: done",
                 "reject variance: done", "start count offline: done", "wave: done", "new order: done",
                 "create counts: done", "sync: with conflicts", "conflicts told to a terminal"):
        assert seen[what] > 0, f"no day did {what!r}: {sorted(seen.items())}"
    assert sum(len(day.conflicts) for day in finished(days)) > 0


def test_every_terminal_has_the_upstream_containers_where_the_upstream_has_them(days):
    found = [diff for day in finished(days) for diff in parts_differing(day, ("containers",))]
    assert found == [], "\n".join(found)


def test_every_terminal_holds_the_upstream_reservations(days):
    found = [diff for day in finished(days) for diff in parts_differing(day, ("reservations",))]
    assert found == [], "\n".join(found)


def test_cartons_agree_and_every_label_printed_names_its_own_carton_upstream(days):
    for day in finished(days):
        found = parts_differing(day, ("cartons", "carton_heads"))
        assert found == [], "\n".join(found)
        for where, labels in day.ssccs.items():
            assert {sscc: codes for sscc, codes in labels.items() if len(codes) > 1} == {}, (day.title, where)
        upstream = {sscc: codes for sscc, codes in day.ssccs[UPSTREAM].items()}
        lost = [(sscc, code, name) for sscc, code, name in day.labels if upstream.get(sscc) != {code}]
        assert lost == [], f"{day.title}: labels printed on the floor whose carton the upstream does not hold: {lost}"


# --------------------------------------------------------------------------- the bugs the days found, smallest examples


@pytest.fixture
def floor(site_template):
    opened = []

    def open_floor(names=("T1", "T2"), offline=()):
        opened.append(Floor(site_template, names, offline=offline))
        return opened[-1]
    yield open_floor
    for f in opened:
        f.close()


def require(done: bool, what: str) -> None:
    """A step of a pinned example that must work for the example to reach what it checks (else it fails saying so)."""
    if not done:
        pytest.fail(f"the example did not get there: {what}")


def test_two_terminals_packing_one_order_offline_keep_two_cartons_with_their_own_labels(floor):
    # given ORD-10003's pick list picked twice: by T1 offline (its claim only local) and by T2 online
    site = floor(offline=("T1",))
    for name in ("T1", "T2"):
        site.walk_list(name, site.claim_list(name, ref="ORD-10003"))
    require(site.events["pick all: done"] >= 2 * 7, f"both picked the list: {site.events}")
    # when T2 packs and ships ORD-10003 and syncs, T1 packs and ships its own picks of it offline, then syncs
    first = site.pack_order("T2", "ORD-10003")
    site.sync_terminal("T2")
    second = site.pack_order("T1", "ORD-10003")
    require(first is not None and second is not None and first != second and site.events["ship: done"] == 2,
            f"two boxes shipped with two labels from two leased blocks: {first}, {second}, {site.events}")
    site.settle()
    # then the upstream holds both cartons, each under its own label, and so does every terminal
    for where, db in site.every_database().items():
        labels = sorted(sscc for (code, sscc, status) in cartons(db) if code.startswith("ORD-10003"))
        assert labels == sorted([first, second]), (where, cartons(db))


def test_an_lpn_first_seen_in_a_pulled_count_stays_an_lpn(floor):
    site = floor()
    # given T1 receives 4 staplers onto a new LPN in RCV-02 and counts RCV-02 (the LPN as the books say)
    site.attempt("T1", "receive", lambda s: receiving.receive_item(
        s, actor(s, "U1001", "T1"), receipt_ref="PO-1001", item_id=md.item_by_sku(s, "STAPLER").id, qty=4,
        lpn_code="LPN-X1", bin_code="RCV-02"))
    task = []
    site.attempt("T1", "count", lambda s: task.append(counting.start_bin(s, actor(s, "U1001", "T1"), "RCV-02").task_id))
    site.attempt("T1", "count", lambda s: counting.record(
        s, actor(s, "U1001", "T1"), task[0], item_id=md.item_by_sku(s, "STAPLER").id, qty=4, container_code="LPN-X1"))
    site.attempt("T1", "count", lambda s: counting.close_bin(s, actor(s, "U1001", "T1"), task[0]))
    require(site.events["receive: done"] == 1 and site.events["count: done"] == 3, f"received and counted: {site.events}")
    # when T1 syncs, then T2
    site.sync_terminal("T1")
    site.sync_terminal("T2")
    # then the LPN is an LPN in RCV-02 everywhere (a tote would not be counted, nor put away as a pallet)
    for where, db in site.every_database().items():
        assert containers(db).get("LPN-X1") == ("lpn", "RCV-02"), where


def test_stock_coming_back_to_a_bin_emptied_offline_is_reserved_on_the_terminal_too(floor):
    site = floor(offline=("T2",))

    def move(name, qty, from_bin, to_bin):
        return lambda s: putaway.move_stock(s, actor(s, OPERATOR[name], name), item_id=md.item_by_sku(s, "LED-E27-9W").id,
                                            from_bin_code=from_bin, to_bin_code=to_bin, qty=qty)
    # given the office waves ORD-10005 (6 × LED-E27-9W from the pick face A-02-10-1, which holds 15) while T2, offline,
    # moves all 15 away
    require(site.attempt(UPSTREAM, "wave", lambda s: waves.release(s, actor(s, SUPERVISOR, OFFICE), ["ORD-10005"], None, 1)),
            "ORD-10005 waved")
    require(site.attempt("T2", "move", move("T2", 15, "A-02-10-1", "A-01-01-2")), "T2 moved the 15 offline")
    site.online["T2"] = True
    site.sync_terminal("T2")  # the move conflicts upstream: the face is 0 there with 6 reserved
    # when T1 brings 4 back to the face and both sync
    site.sync_terminal("T1")
    require(site.attempt("T1", "move", move("T1", 4, "A-01-04-2", "A-02-10-1")), "T1 moved 4 back")
    site.settle()
    # then the 4 are reserved for the pick list on every database, as on the upstream
    for where, db in site.every_database().items():
        assert reservations(db).get(("LED-E27-9W", "A-02-10-1", None, None)) == 6, where
        assert stock(db)[("LED-E27-9W", "A-02-10-1", None, None, "available")] == 4, where
