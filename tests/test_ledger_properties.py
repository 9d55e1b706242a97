"""Property test of the ledger (DESIGN §3): random sequences of valid and invalid operations.

Each operation runs in its own transaction on a real SQLite file. A pure-Python model
predicts, for every operation, whether the ledger must accept or refuse it and what the
stock is afterwards. After every step the quants, serial units and container locations
equal the model, and `run_checks` finds every invariant holding. A refused operation
raises a WarehouseError and changes nothing at all.
"""

from __future__ import annotations

import atexit
import copy
import datetime as dt
import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select, text

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Bin, Container, Item, Lot, Movement, OutboxEntry, Quant, quant_key
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import MAX_QTY, Actor, move_container, post

BINS = {"RCV": False, "A1": False, "A2": False, "B1": False, "BLK": True}  # code -> blocked
CONTAINERS = ["LPN1", "LPN2", "TOTE1"]
ITEMS = {"PLAIN": "none", "LOTTED": "lot", "SERIAL": "serial"}
EXPIRY_REQUIRED = {"LOTTED"}
# lot code -> (item, expiry). LX has no expiry, so LOTTED (expiry required) refuses it.
LOTS = {"L1": ("LOTTED", dt.date(2027, 1, 31)), "L2": ("LOTTED", dt.date(2027, 6, 30)),
        "LX": ("LOTTED", None), "SL1": ("SERIAL", None), "SL2": ("SERIAL", None)}
SERIALS = ["S1", "S2", "S3", "S4", "S5"]
KINDS_OUT = ["ship", "adjust"]
KINDS_MOVE = ["move", "putaway", "pick", "pack"]
ACTOR = Actor(None, "PROP")
MODEL_CLASSES = {"bin": Bin, "container": Container, "item": Item, "lot": Lot}

# Weighted by repetition towards the places where stock piles up and containers meet.
bins = st.sampled_from(["RCV", "RCV", "A1", "A1", "A2", "B1", "BLK"])
maybe_container = st.sampled_from([None, None, "LPN1", "LPN1", "LPN2", "TOTE1"])
any_lot = st.one_of(st.none(), st.sampled_from(sorted(LOTS)))
any_serial = st.one_of(st.none(), st.sampled_from(SERIALS))
# What receipts scan for each item: mostly right, sometimes a wrong or missing lot.
RECEIPT_LOTS = {
    "PLAIN": [None] * 5 + ["L1"],
    "LOTTED": ["L1", "L2", "L1", "L2", "LX", None, "SL1"],
    "SERIAL": [None, "SL1", "SL2", "SL1", "SL2", "L1"],
}


class Refused(Exception):
    """The model says the ledger must refuse this operation."""


@dataclass
class Stock:
    """The expected state: quants by (sku, bin, lot, container) -> (qty, reserved)."""

    quants: dict = field(default_factory=dict)
    serials: dict = field(default_factory=dict)  # (sku, serial) -> (bin, container, lot) while in stock
    container_bin: dict = field(default_factory=lambda: {c: None for c in CONTAINERS})
    movements: int = 0

    def take(self, sku, lot, bin_, cont, qty, consume):
        have, reserved = self.quants.get((sku, bin_, lot, cont), (0, 0))
        if have < qty:
            raise Refused("over-take")
        if consume > reserved or consume > qty:
            raise Refused("releasing more than reserved")
        if have - qty < reserved - consume:
            raise Refused("would take reserved stock")
        self._set(sku, bin_, lot, cont, have - qty, max(0, reserved - consume))

    def give(self, sku, lot, bin_, cont, qty):
        have, reserved = self.quants.get((sku, bin_, lot, cont), (0, 0))
        self._set(sku, bin_, lot, cont, have + qty, reserved)

    def _set(self, sku, bin_, lot, cont, qty, reserved):
        if qty == 0 and reserved == 0:
            self.quants.pop((sku, bin_, lot, cont), None)
        else:
            self.quants[(sku, bin_, lot, cont)] = (qty, reserved)

    def container_has_stock(self, cont) -> bool:
        return any(k[3] == cont and v[0] != 0 for k, v in self.quants.items())

    def post(self, kind, sku, qty, lot, serial, from_bin, to_bin, from_cont, to_cont, consume=0) -> None:
        """Mirror of ledger.post's rules, in its order of checks."""
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0 or qty > MAX_QTY:
            raise Refused("bad qty")
        if from_cont is not None and from_bin is None:
            from_bin = self.container_bin[from_cont]
            if from_bin is None:
                # Taking from a container that stands nowhere must not turn into a receipt.
                raise Refused("container is in no bin")
        if from_bin is None and to_bin is None:
            raise Refused("nowhere")
        if from_bin is not None and from_bin == to_bin and from_cont == to_cont:
            raise Refused("already there")
        tracking = ITEMS[sku]
        if lot is not None and LOTS[lot][0] != sku:
            raise Refused("lot of another item")
        if tracking == "serial":
            if not serial or qty != 1:
                raise Refused("serial rules")
        elif serial is not None:
            raise Refused("serial for untracked item")
        if tracking == "lot" and lot is None:
            raise Refused("lot missing")
        if tracking == "none" and lot is not None and sku not in EXPIRY_REQUIRED:
            raise Refused("lot for untracked item")
        if sku in EXPIRY_REQUIRED and (lot is None or LOTS[lot][1] is None):
            raise Refused("expiry missing")
        if to_bin is not None and BINS[to_bin] and kind not in ("adjust", "count"):
            raise Refused("blocked bin")
        if serial is not None:
            where = self.serials.get((sku, serial))
            if from_bin is None:
                if where is not None:
                    raise Refused("serial already in stock")
            elif where is None or where[:2] != (from_bin, from_cont) or where[2] != lot:
                raise Refused("serial not there")
        if from_bin is not None:
            self.take(sku, lot, from_bin, from_cont, qty, consume)
        if to_bin is not None:
            if to_cont is not None and self.container_bin[to_cont] != to_bin:
                if self.container_bin[to_cont] is not None and self.container_has_stock(to_cont):
                    raise Refused("container stands elsewhere")
                self.container_bin[to_cont] = to_bin
            self.give(sku, lot, to_bin, to_cont, qty)
        if serial is not None:
            if to_bin is None:
                self.serials.pop((sku, serial))
            else:
                self.serials[(sku, serial)] = (to_bin, to_cont, lot)
        self.movements += 1

    def move_container(self, cont, to_bin) -> None:
        """Mirror of ledger.move_container."""
        here = self.container_bin[cont]
        if here == to_bin:
            raise Refused("already there")
        if BINS[to_bin]:
            raise Refused("blocked bin")
        inside = sorted(((k, v) for k, v in self.quants.items() if k[3] == cont and v[0] > 0), key=str)
        if here is None or not inside:
            self.container_bin[cont] = to_bin
            return
        if any(v[1] for _, v in inside):
            raise Refused("reserved stock inside")
        self.container_bin[cont] = to_bin
        for (sku, bin_, lot, _), (qty, _) in inside:
            if ITEMS[sku] == "serial":
                moving = [k for k, w in self.serials.items() if k[0] == sku and w == (bin_, cont, lot)]
                for key in moving:
                    self.post("move", sku, 1, lot, key[1], bin_, to_bin, cont, cont)
            else:
                self.post("move", sku, qty, lot, None, bin_, to_bin, cont, cont)


@functools.cache
def _template() -> tuple[Path, dict]:
    """A migrated database with the master data, copied for each example (migrating takes ~0.7 s)."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-prop-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db = Database(folder / "template.sqlite")
    with db.transaction() as s:
        for code, blocked in BINS.items():
            md.add_bin(s, code, kind="receiving" if code == "RCV" else "storage", blocked=blocked)
        for sku, tracking in ITEMS.items():
            md.add_item(s, sku, tracking=tracking, expiry_required=sku in EXPIRY_REQUIRED)
        for code, (sku, expiry) in LOTS.items():
            md.lot(s, md.item_by_sku(s, sku), code, expiry)
        for code in CONTAINERS:
            md.container(s, code, "tote" if code.startswith("TOTE") else "lpn")
        ids = {
            "bin": {c: md.bin_by_code(s, c).id for c in BINS},
            "item": {sku: md.item_by_sku(s, sku).id for sku in ITEMS},
            "lot": {code: md.lot(s, md.item_by_sku(s, sku), code).id for code, (sku, _) in LOTS.items()},
            "container": {c: md.container(s, c).id for c in CONTAINERS},
            "owner": {md.DEFAULT_OWNER: md.owner(s, create=False).id},
        }
    db.dispose()  # the last connection checkpoints the WAL into the file
    assert not (folder / "template.sqlite-wal").exists()
    return folder / "template.sqlite", ids


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        template, self.ids = _template()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-prop-"))
        shutil.copy(template, self.dir / "warehouse.sqlite")
        self.db = Database(self.dir / "warehouse.sqlite")
        self.names = {kind: {v: k for k, v in by.items()} for kind, by in self.ids.items()}
        self.model = Stock()
        self.changed = True  # whether the last step changed the database (the first check runs anyway)

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ running an operation

    def snapshot(self):
        with self.db.reading() as s:
            return tuple(
                tuple(tuple(r) for r in s.execute(text(sql)))
                for sql in (
                    "SELECT * FROM quants ORDER BY key",
                    "SELECT * FROM serial_units ORDER BY id",
                    "SELECT id, code, bin_id FROM containers ORDER BY id",
                    "SELECT count(*) FROM movements",
                    "SELECT count(*) FROM outbox",
                )
            )

    def attempt(self, model_op, db_op) -> None:
        """Run db_op in its own transaction; the model decides whether it must succeed."""
        expected = copy.deepcopy(self.model)
        try:
            model_op(expected)
            refusal = None
        except Refused as exc:
            refusal = str(exc)
        before = self.snapshot()
        try:
            with self.db.transaction() as s:
                db_op(s)
        except WarehouseError as exc:
            assert refusal is not None, f"ledger refused what the model accepts: {exc}"
            assert self.snapshot() == before, f"refused operation changed the database: {exc}"
            event(f"refused: {refusal}")
            return
        assert refusal is None, f"ledger accepted what it must refuse ({refusal})"
        self.model = expected
        self.changed = True
        event("accepted")

    def do_post(self, kind, sku, qty, lot=None, serial=None, from_bin=None, to_bin=None,
                from_cont=None, to_cont=None, consume=0) -> None:
        def db_op(s):
            def get(kind_, code):
                return s.get(MODEL_CLASSES[kind_], self.ids[kind_][code]) if code is not None else None

            post(s, ACTOR, kind=kind, item=get("item", sku), qty=qty, lot=get("lot", lot), serial=serial,
                 from_bin=get("bin", from_bin), to_bin=get("bin", to_bin),
                 from_container=get("container", from_cont), to_container=get("container", to_cont),
                 consume_reserved=consume)

        self.attempt(lambda m: m.post(kind, sku, qty, lot, serial, from_bin, to_bin, from_cont, to_cont, consume), db_op)

    # ------------------------------------------------------------------ rules

    def receive_one(self, data, sku, to_bin, to_cont, kind="receipt") -> None:
        """A receipt (or adjust-in) as a scanner gives it: about one draw in five is malformed."""
        lot = data.draw(st.sampled_from(RECEIPT_LOTS[sku]))
        if ITEMS[sku] == "serial":
            serial = data.draw(st.sampled_from(SERIALS + [None]))
            qty = data.draw(st.sampled_from([1, 1, 1, 1, 2]))
        else:
            serial = data.draw(st.sampled_from([None] * 5 + ["S1"]))
            qty = data.draw(st.sampled_from([1, 1, 2, 3, 5, 8, 13, 0, -1]))
        self.do_post(kind, sku, qty, lot, serial, to_bin=to_bin, to_cont=to_cont)

    @rule(data=st.data(), sku=st.sampled_from(sorted(ITEMS)), to_bin=bins, to_cont=maybe_container,
          kind=st.sampled_from(["receipt", "receipt", "adjust"]))
    def receive(self, data, sku, to_bin, to_cont, kind):
        self.receive_one(data, sku, to_bin, to_cont, kind)

    @rule(data=st.data(), cont=st.sampled_from(CONTAINERS), to_bin=bins,
          skus=st.lists(st.sampled_from(["PLAIN", "LOTTED", "SERIAL", "SERIAL"]), min_size=2, max_size=5))
    def receive_mixed_pallet(self, data, cont, to_bin, skus):
        """Several receipts onto one LPN, each its own transaction, mostly where the LPN stands."""
        for sku in skus:
            here = self.model.container_bin[cont]
            self.receive_one(data, sku, data.draw(st.sampled_from([here] * 3 + [to_bin])) if here else to_bin, cont)

    @rule(data=st.data())
    def take_existing_stock(self, data):
        """Move, pick, ship or adjust out stock the model knows is there; sometimes too much."""
        if not self.model.quants:
            return
        (sku, bin_, lot, cont), (qty, reserved) = data.draw(st.sampled_from(sorted(self.model.quants.items(), key=str)))
        kind = data.draw(st.sampled_from(KINDS_MOVE + KINDS_OUT))
        if kind in KINDS_OUT and data.draw(st.booleans()):
            to_bin, to_cont = None, None
        else:
            to_bin, to_cont = data.draw(bins), data.draw(maybe_container)
        if ITEMS[sku] == "serial":
            here = sorted(k[1] for k, w in self.model.serials.items() if k[0] == sku and w == (bin_, cont, lot))
            serial = data.draw(st.sampled_from(here * 4 + SERIALS))
            take = 1
        else:
            serial = None
            take = data.draw(st.sampled_from([1, qty, qty, qty, qty + 1, 0]) | st.integers(1, qty))
        consume = data.draw(st.integers(0, reserved + 1)) if reserved else 0
        # A container's stock may also be named by the container alone (the ledger finds its bin).
        from_bin = None if cont is not None and data.draw(st.booleans()) else bin_
        self.do_post(kind, sku, take, lot, serial, from_bin=from_bin, to_bin=to_bin,
                     from_cont=cont, to_cont=to_cont, consume=consume)

    @rule(kind=st.sampled_from(["receipt", "move", "pick", "ship", "adjust"]), sku=st.sampled_from(sorted(ITEMS)),
          qty=st.sampled_from([-1, 0, 1, 1, 2, 3, MAX_QTY, MAX_QTY + 1]), lot=any_lot, serial=any_serial,
          from_bin=st.none() | bins, to_bin=st.none() | bins, from_cont=maybe_container, to_cont=maybe_container,
          consume=st.integers(0, 2))
    def post_anything(self, kind, sku, qty, lot, serial, from_bin, to_bin, from_cont, to_cont, consume):
        """Arbitrary requests: mostly refused, and a refusal must change nothing."""
        self.do_post(kind, sku, qty, lot, serial, from_bin, to_bin, from_cont, to_cont, consume)

    @rule(data=st.data(), to_bin=bins)
    def move_whole_container(self, data, to_bin):
        loaded = sorted({k[3] for k in self.model.quants if k[3] is not None})
        cont = data.draw(st.sampled_from(loaded * 3 + CONTAINERS))

        def db_op(s):
            moved = move_container(s, ACTOR, s.get(MODEL_CLASSES["container"], self.ids["container"][cont]),
                                   s.get(MODEL_CLASSES["bin"], self.ids["bin"][to_bin]))
            assert all(m.kind == "move" for m in moved)

        self.attempt(lambda m: m.move_container(cont, to_bin), db_op)

    @rule(data=st.data())
    def reserve_for_picking(self, data):
        """Promise part of a quant to a pick task, as allocation does (reserved <= qty)."""
        if not self.model.quants:
            return
        key, (qty, _) = data.draw(st.sampled_from(sorted(self.model.quants.items(), key=str)))
        reserved = data.draw(st.integers(0, qty))
        sku, bin_, lot, cont = key
        db_key = quant_key(self.ids["item"][sku], self.ids["bin"][bin_], self.ids["lot"].get(lot),
                           self.ids["container"].get(cont), self.ids["owner"][md.DEFAULT_OWNER], "available")
        with self.db.transaction() as s:
            s.scalars(select(Quant).where(Quant.key == db_key)).one().reserved = reserved
        self.model._set(sku, bin_, lot, cont, qty, reserved)
        self.changed = True

    # ------------------------------------------------------------------ invariants

    @invariant()
    def stock_equals_the_model_and_all_invariants_hold(self):
        # A refused step was already proven to leave the database exactly as it was.
        if not self.changed:
            return
        self.changed = False
        with self.db.reading() as s:
            report = run_checks(s)
            assert report.ok, report.render()
            n = self.names
            quants = {
                (n["item"][q.item_id], n["bin"][q.bin_id], n["lot"].get(q.lot_id), n["container"].get(q.container_id)):
                (q.qty, q.reserved)
                for q in s.scalars(select(Quant))
                if q.status == "available"
            }
            assert s.scalar(select(func.count()).select_from(Quant)) == len(quants)
            assert quants == self.model.quants
            serials = {
                (n["item"][item_id], serial): (n["bin"][bin_id], n["container"].get(cont_id), n["lot"].get(lot_id))
                for item_id, serial, bin_id, cont_id, lot_id in s.execute(text(
                    "SELECT item_id, serial, bin_id, container_id, lot_id FROM serial_units WHERE status = 'in_stock'"))
            }
            assert serials == self.model.serials
            containers = {c: n["bin"].get(b) for c, b in s.execute(text("SELECT code, bin_id FROM containers"))}
            assert containers == self.model.container_bin
            assert s.scalar(select(func.count()).select_from(Movement)) == self.model.movements
            assert s.scalar(select(func.count()).select_from(OutboxEntry)) == self.model.movements


LedgerMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRandomLedgerOperationsKeepStockEqualToTheModel = LedgerMachine.TestCase


# --------------------------------------------------------------------------- cases the machine found


def test_moving_a_pallet_of_serials_from_two_lots_moves_every_unit(db, actor):
    with db.transaction() as s:
        rcv, a1 = md.add_bin(s, "RCV", kind="receiving"), md.add_bin(s, "A1")
        item = md.add_item(s, "SERIAL", tracking="serial")
        lpn = md.container(s, "LPN1")
        for serial, lot in (("S1", "SL1"), ("S2", "SL2"), ("S3", None)):
            post(s, actor, kind="receipt", item=item, qty=1, serial=serial, lot=md.lot(s, item, lot) if lot else None,
                 to_bin=rcv, to_container=lpn)
    with db.transaction() as s:
        moved = move_container(s, actor, md.container(s, "LPN1"), md.bin_by_code(s, "A1"))
    assert sorted(m.serial for m in moved) == ["S1", "S2", "S3"]
    with db.reading() as s:
        assert set(s.scalars(text("SELECT DISTINCT bin_id FROM serial_units"))) == {a1.id}
        report = run_checks(s)
        assert report.ok, report.render()


def test_taking_from_a_container_that_stands_nowhere_is_refused_not_received(db, actor):
    with db.transaction() as s:
        md.add_bin(s, "A1")
        md.add_item(s, "PLAIN")
        md.container(s, "LPN1")  # known, but never placed in a bin
    with pytest.raises(WarehouseError, match="LPN1 is in no bin"):
        with db.transaction() as s:
            post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=5,
                 from_container=md.container(s, "LPN1"), to_bin=md.bin_by_code(s, "A1"))
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Quant)) == 0
        assert s.scalar(select(func.count()).select_from(Movement)) == 0
