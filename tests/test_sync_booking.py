"""The sync's batch ledger books exactly as ledger.post does: a differential property test.

The same random movements (valid ones, ones the books refuse, malformed ones;
quantities, lots, serials, containers, reservations, a blocked bin) are booked
on two copies of the same SQLite warehouse: one movement at a time through
`ledger.post` (strict in a savepoint; if the books refuse, again with
allow_negative — what the upstream does with a pushed movement), and in
batches through `BatchLedger`. Results (booked / conflict / refused), quants,
serial units and container places must be identical.
"""

from __future__ import annotations

import datetime as dt
import gc
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.orm import aliased

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Bin, Container, Item, Lot, Movement, Quant, SerialUnit
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.sync.booking import BOOKED, CONFLICT, REFUSED, BatchLedger
from warehouse_tui.sync.push import cyclic_gc_paused

BINS = ["R1", "A1", "A2", "BLK"]
LOTS = {"L1": "2030-01-31", "L2": "2031-06-30"}


def seed(db: Database) -> None:
    """The warehouse both sides start from: stock in A1 and A2 (one in a container), a serial, a lot, a reservation."""
    with db.transaction() as s:
        for code in BINS:
            md.add_bin(s, code, blocked=code == "BLK")
        md.add_bin(s, "RCV", kind="receiving")
        md.add_item(s, "PLAIN")
        md.add_item(s, "LOTTED", tracking="lot", expiry_required=True)
        md.add_item(s, "SERIAL", tracking="serial")
        actor = Actor(None, "SEED")
        plain, serial = md.item_by_sku(s, "PLAIN"), md.item_by_sku(s, "SERIAL")
        a1, a2 = md.bin_by_code(s, "A1"), md.bin_by_code(s, "A2")
        lpn = md.container(s, "LPN1")
        post(s, actor, kind="receipt", item=plain, qty=5, to_bin=a1)
        post(s, actor, kind="receipt", item=plain, qty=3, to_bin=a2, to_container=lpn)
        post(s, actor, kind="receipt", item=serial, qty=1, to_bin=a1, serial="S1")
        post(s, actor, kind="receipt", item=md.item_by_sku(s, "LOTTED"), qty=4, to_bin=a1,
             lot=md.lot(s, md.item_by_sku(s, "LOTTED"), "L1", dt.date(2030, 1, 31)))
        # a reservation for picking on PLAIN in A1
        s.execute(update(Quant).where(Quant.bin_id == a1.id, Quant.item_id == plain.id).values(reserved=2))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("booking") / "template.sqlite"
    db = Database(path)
    seed(db)
    db.dispose()
    return path


@pytest.fixture(scope="module")
def pg_template(pg_server):
    """The same warehouse in a PostgreSQL database (each example books in a transaction it rolls back)."""
    name = f"wt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(pg_server.rsplit("/", 1)[0] + f"/{name}")
    try:
        seed(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def payload_strategy():
    """Mostly well-formed movements (which the books may still refuse), sometimes malformed ones."""
    place = st.sampled_from([None, "R1", "A1", "A1", "A2", "A2", "BLK"])
    container = st.sampled_from([None, None, None, "LPN1", "LPN2"])
    kind = st.sampled_from(["receipt", "move", "move", "pick", "ship", "adjust", "count"])

    def shaped(sku: str):
        lot = st.sampled_from(["L1", "L1", "L2"]) if sku == "LOTTED" else st.just(None)
        serial = st.sampled_from(["S1", "S1", "S2"]) if sku == "SERIAL" else st.just(None)
        qty = st.just(1) if sku == "SERIAL" else st.sampled_from([1, 1, 2, 3, 7])
        return st.fixed_dictionaries({
            "kind": kind, "sku": st.just(sku), "qty": qty, "lot": lot, "serial": serial,
            "from_bin": place, "to_bin": place, "from_container": container, "to_container": container,
            "consume_reserved": st.sampled_from([0, 0, 0, 1, 2]),
        })

    malformed = st.fixed_dictionaries({
        "kind": st.sampled_from(["receipt", "move", "bogus"]), "sku": st.sampled_from(["PLAIN", "LOTTED", "SERIAL", "NOPE"]),
        "qty": st.sampled_from([0, 1, 2]), "lot": st.sampled_from([None, "L1"]), "serial": st.sampled_from([None, "S1"]),
        "from_bin": st.sampled_from([None, "A1", "GONE"]), "to_bin": st.sampled_from([None, "A2", "GONE"]),
        "from_container": st.just(None), "to_container": st.just(None), "consume_reserved": st.just(0),
    })
    return st.one_of(*(shaped(sku) for sku in ("PLAIN", "PLAIN", "LOTTED", "SERIAL")), malformed)


def complete(p: dict, n: int) -> dict:
    return {**p, "id": str(uuid.UUID(int=n)), "owner": "MAIN", "expiry": LOTS.get(p["lot"]), "from_status": "available",
            "to_status": "available", "operator": None, "terminal": "T9", "at": f"2026-01-01T00:00:{n % 60:02d}", "ref": None,
            "from_container_kind": "lpn", "to_container_kind": "lpn"}


def post_one(s, p: dict) -> str:
    """What the upstream's per-movement path would do: strict, else allow_negative; refused if neither books."""
    item = s.scalars(select(Item).where(Item.sku == p["sku"])).one_or_none()
    try:
        if item is None:
            raise NotFound("no item")
        from_bin = md.bin_by_code(s, p["from_bin"]) if p["from_bin"] else None
        to_bin = md.bin_by_code(s, p["to_bin"]) if p["to_bin"] else None
        lot = md.lot(s, item, p["lot"], dt.date.fromisoformat(p["expiry"]) if p["expiry"] else None) if p["lot"] else None
        args = dict(kind=p["kind"], item=item, qty=p["qty"], lot=lot, serial=p["serial"], from_bin=from_bin, to_bin=to_bin,
                    from_container=md.container(s, p["from_container"]) if p["from_container"] else None,
                    to_container=md.container(s, p["to_container"]) if p["to_container"] else None,
                    consume_reserved=p["consume_reserved"], movement_uuid=p["id"], at=dt.datetime.fromisoformat(p["at"]))
    except (NotFound, InvalidInput):
        return REFUSED
    try:
        with s.begin_nested():
            post(s, Actor(None, "T9"), **args)
        return BOOKED
    except (InvariantViolation, NotAllowed):
        pass
    except (InvalidInput, ValueError):
        return REFUSED
    try:
        with s.begin_nested():
            post(s, Actor(None, "T9"), allow_negative=True, **args)
        return CONFLICT
    except (InvalidInput, InvariantViolation, ValueError):
        return REFUSED


def state(db: Database) -> dict:
    with db.reading() as s:
        return state_of(s)


def state_of(s) -> dict:
    """Quants, serial units, container places and conflict flags, by natural keys."""
    quants = sorted([
        (sku, b, lot, c, qty, reserved) for sku, b, lot, c, qty, reserved in s.execute(
            select(Item.sku, Bin.code, Lot.code, Container.code, Quant.qty, Quant.reserved)
            .join(Item, Item.id == Quant.item_id).join(Bin, Bin.id == Quant.bin_id)
            .outerjoin(Lot, Lot.id == Quant.lot_id).outerjoin(Container, Container.id == Quant.container_id)
            .where((Quant.qty != 0) | (Quant.reserved != 0)))], key=repr)
    ubin, ucont = aliased(Bin), aliased(Container)
    units = sorted(tuple(map(str, r)) for r in s.execute(
        select(Item.sku, SerialUnit.serial, SerialUnit.status, ubin.code, ucont.code, Lot.code)
        .join(Item, Item.id == SerialUnit.item_id).outerjoin(ubin, ubin.id == SerialUnit.bin_id)
        .outerjoin(ucont, ucont.id == SerialUnit.container_id).outerjoin(Lot, Lot.id == SerialUnit.lot_id)))
    # where containers stand (a refused movement may leave an empty container record standing nowhere)
    places = sorted((c, b) for c, b in s.execute(select(Container.code, Bin.code).join(Bin, Bin.id == Container.bin_id)))
    conflicts = sorted(s.scalars(select(Movement.uuid).where(Movement.conflict.is_(True))))
    return {"quants": quants, "units": units, "containers": places, "conflicts": conflicts}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(payload_strategy(), min_size=1, max_size=25), cut=st.integers(min_value=0, max_value=25))
def test_batch_booking_matches_ledger_post_movement_for_movement(template, tmp_path_factory, ops, cut):
    work = tmp_path_factory.mktemp("pair")
    shutil.copyfile(template, work / "one.sqlite")
    shutil.copyfile(template, work / "batch.sqlite")
    one, batch = Database(work / "one.sqlite"), Database(work / "batch.sqlite")
    try:
        payloads = [complete(p, n) for n, p in enumerate(ops, start=1)]
        expected = []
        with one.transaction() as s:
            for p in payloads:
                expected.append(post_one(s, p))
        got = []
        for part in (payloads[:cut], payloads[cut:]):  # two batches: state carries over
            if part:
                with batch.transaction() as s:
                    got += [b.result for b in BatchLedger(s, strict=True, origin="upstream").book(part)]
        assert got == expected
        assert state(batch) == state(one)
        for p, result in zip(payloads, got):
            event(f"{result}{' serial' if p['serial'] else ''}{' container' if p['to_container'] or p['from_container'] else ''}")
    finally:
        one.dispose()
        batch.dispose()


@pytest.mark.postgres
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(payload_strategy(), min_size=1, max_size=25), cut=st.integers(min_value=0, max_value=25))
def test_batch_booking_on_postgresql_matches_ledger_post_and_numbers_movements_in_booking_order(template, pg_template,
                                                                                               tmp_path_factory, ops, cut):
    # given the same warehouse in SQLite (booked one movement at a time by ledger.post) and in PostgreSQL
    # (where BatchLedger streams the booked movements into a COPY with seqs taken up front)
    work = tmp_path_factory.mktemp("pg-pair")
    shutil.copyfile(template, work / "one.sqlite")
    one = Database(work / "one.sqlite")
    try:
        payloads = [complete(p, n) for n, p in enumerate(ops, start=1)]
        expected = []
        with one.transaction() as s:
            for p in payloads:
                expected.append(post_one(s, p))
        # when the same movements are booked in two batches on PostgreSQL
        with pg_template.sessions() as s:
            s.begin()
            try:
                results = []
                for part in (payloads[:cut], payloads[cut:]):
                    if part:
                        results += BatchLedger(s, strict=True, origin="upstream").book(part)
                mine = state_of(s)
                stored = dict(s.execute(select(Movement.uuid, Movement.seq).where(Movement.uuid.in_([p["id"] for p in payloads]))).all())
            finally:
                s.rollback()
        # then each gets the result and the stock the per-movement ledger gives it
        assert [r.result for r in results] == expected
        assert mine == state(one)
        # and every booked movement (conflicts too) is stored under the seq it was given, in booking order; refused ones are not
        assert {r.uuid: r.seq for r in results if r.result != REFUSED} == stored
        seqs = [r.seq for r in results if r.result != REFUSED]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(r.seq is None for r in results if r.result == REFUSED)
    finally:
        one.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request, template, tmp_path) -> Database:
    if request.param == "sqlite":
        shutil.copyfile(template, tmp_path / "w.sqlite")
        db = Database(tmp_path / "w.sqlite")
        yield db
        db.dispose()
    else:
        yield request.getfixturevalue("pg_template")


def test_a_lot_without_expiry_takes_the_first_pushed_one_and_a_later_different_one_is_a_conflict(warehouse):
    # given lot L9 of LOTTED known without an expiry (rolled back afterwards: the PostgreSQL warehouse is shared)
    with warehouse.sessions() as s:
        s.begin()
        try:
            md.lot(s, md.item_by_sku(s, "LOTTED"), "L9", None)
            s.flush()
            receipt = {"kind": "receipt", "sku": "LOTTED", "qty": 2, "lot": "L9", "serial": None, "from_bin": None, "to_bin": "A2",
                       "from_container": None, "to_container": None, "consume_reserved": 0}
            first = {**complete(receipt, 1), "expiry": "2032-03-31"}
            second = {**complete(receipt, 2), "expiry": "2033-01-31"}
            # when two receipts of it are booked in one batch, naming different expiries
            results = BatchLedger(s, strict=True, origin="upstream").book([first, second])
            expiry = s.scalar(select(Lot.expiry).where(Lot.code == "L9"))
            stock_l9 = s.scalar(select(func.sum(Quant.qty)).join(Lot, Lot.id == Quant.lot_id).where(Lot.code == "L9"))
        finally:
            s.rollback()
    # then the lot keeps the first expiry, both are booked, and the second is a conflict that says why
    assert expiry == dt.date(2032, 3, 31)
    assert stock_l9 == 4
    assert [r.result for r in results] == [BOOKED, CONFLICT]
    assert "expires 2032-03-31 upstream, 2033-01-31 on the terminal" in results[1].reason


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(payload_strategy(), min_size=1, max_size=25))
def test_lenient_batch_booking_matches_allow_negative_posts(template, tmp_path_factory, ops):
    work = tmp_path_factory.mktemp("lenient")
    shutil.copyfile(template, work / "one.sqlite")
    shutil.copyfile(template, work / "batch.sqlite")
    one, batch = Database(work / "one.sqlite"), Database(work / "batch.sqlite")
    try:
        payloads = [complete(p, n) for n, p in enumerate(ops, start=1)]
        refused = []
        with one.transaction() as s:
            for p in payloads:
                outcome = post_one(s, p)
                refused.append(outcome == REFUSED)
        with batch.transaction() as s:
            results = BatchLedger(s, strict=False, origin="pulled").book(payloads, conflicts=[False] * len(payloads))
        assert [r.result == REFUSED for r in results] == refused
        assert all(r.result != CONFLICT for r in results)  # lenient mode never decides conflicts
        mine, theirs = state(batch), state(one)
        assert (mine["quants"], mine["units"], mine["containers"]) == (theirs["quants"], theirs["units"], theirs["containers"])
    finally:
        one.dispose()
        batch.dispose()


def test_a_push_holds_the_cyclic_collector_off_and_gives_it_back_as_it_found_it():
    # given the collector on, and two pushes overlapping (the app's worker and, say, a CLI sync in one process)
    gc.enable()
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        # when the second ends, the first still runs: the collector stays off
        assert not gc.isenabled()
    # then on again once the last push ended
    assert gc.isenabled()
    # and given a host that keeps it off, a push leaves it off
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.postgres
def test_a_push_whose_acknowledgement_fails_stops_and_the_next_push_completes_it_exactly_once(pg_url, tmp_path):
    from sqlalchemy.exc import DBAPIError

    from test_sync_core import Site, book
    from warehouse_tui.db.models import AppliedEntry, OutboxEntry
    from warehouse_tui.sync import open_upstream
    from warehouse_tui.sync.push import pending_count, push

    site = Site(pg_url, tmp_path)
    link = open_upstream(pg_url)
    try:
        # given 7 receipts waiting on T1, pushed 3 per batch, and a terminal database that refuses to mark the 2nd one pushed
        t1 = site.terminal("T1")
        site.sync("T1")
        uuids = [book(t1, "T1", "receipt", "PLAIN", n, to_bin="R1") for n in range(1, 8)]
        with t1.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TRIGGER refuse_ack BEFORE UPDATE OF pushed_at ON outbox WHEN NEW.uuid = '{uuids[1]}' "
                                 "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
        # when T1 pushes
        with pytest.raises(DBAPIError, match="disk I/O error"):
            push(t1, link, "T1", batch_size=3)
        # then it stopped once the batch applied beside the failed acknowledgement had committed: 2 batches upstream,
        # nothing acknowledged here (the first batch's acknowledgement was rolled back whole)
        with site.upstream.reading() as s:
            assert sorted(s.scalars(select(AppliedEntry.uuid).where(AppliedEntry.terminal == "T1"))) == sorted(uuids[:6])
        with t1.reading() as s:
            assert pending_count(s) == 7
        # and when the terminal accepts acknowledgements again, the next push completes it exactly once
        with t1.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_ack")
        result = push(t1, link, "T1", batch_size=3)
        assert (result.applied, result.duplicate, result.conflict) == (1, 6, 0)
        with site.upstream.reading() as s:
            assert sorted(s.scalars(select(Movement.uuid).where(Movement.terminal == "T1"))) == sorted(uuids)
            assert s.scalar(select(func.count()).select_from(AppliedEntry).where(AppliedEntry.terminal == "T1")) == 7
        with t1.reading() as s:
            assert pending_count(s) == 0
            outcomes = dict(s.execute(select(OutboxEntry.uuid, OutboxEntry.outcome).where(OutboxEntry.uuid.in_(uuids))).all())
        assert outcomes == {u: "duplicate" if n < 6 else "applied" for n, u in enumerate(uuids)}
    finally:
        link.dispose()
        site.close()


@pytest.mark.postgres
def test_the_push_figure_stands_beside_the_bare_executemany_and_the_bare_copy_of_the_same_movements(pg_server, tmp_path):
    from warehouse_tui.bench.sync_figures import measure_push

    # when the bench pushes 300 receipts in batches of 100
    figure = measure_push(pg_server, tmp_path, movements=300, batch_size=100)
    # then all were pushed, and both bare figures are there with the ratios they give
    assert figure["movements"] == 300 and figure["batch_size"] == 100
    assert figure["bare_executemany_per_s"] > 0 and figure["bare_copy_per_s"] > 0
    assert figure["ratio_to_bare"] == pytest.approx(figure["movements_per_s"] / figure["bare_executemany_per_s"], rel=0.01)
    assert figure["ratio_to_bare_copy"] == pytest.approx(figure["movements_per_s"] / figure["bare_copy_per_s"], rel=0.01)
