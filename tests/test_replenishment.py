"""Replenishment of pick faces, through services only: settings import, triggers, FEFO, claims, moves, shorts."""

from __future__ import annotations

import pytest
from fixture_dates import ahead
from sqlalchemy import select
from test_picking import actor, next_task, pick, release, start
from test_waves import build_site, order, stock

from warehouse_tui.db.models import (
    Bin,
    CountTask,
    Movement,
    PickFace,
    PickTask,
    Quant,
    ReplenTask,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput, NotAllowed
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import picking, replenishment
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.claims import HeldOnAnotherTerminal
from warehouse_tui.services.importing import ImportFailed, import_bytes
from warehouse_tui.services.ledger import Actor, post

CLI = Actor(None, "CLI")


@pytest.fixture
def site(db):
    """build_site plus storage bins S1, S2 and a second client's storage."""
    build_site(db)
    with db.transaction() as s:
        md.add_bin(s, "S1", kind="storage", pick_seq=100)
        md.add_bin(s, "S2", kind="storage", pick_seq=110)
        md.add_bin(s, "S3", kind="storage", pick_seq=120, blocked=True)
        md.add_bin(s, "Q1", kind="staging", pick_seq=130)
    return db


def faces(db, text: str):
    return import_bytes(db, "pickfaces", ("bin,sku,min,max\n" + text).encode(), CLI)


def tasks(s, face="A1"):
    """(from bin, lot, qty, qty_moved, status, blocking) of the replenishment tasks to a face, oldest first."""
    bin_id = md.bin_by_code(s, face).id
    out = []
    for t in s.scalars(select(ReplenTask).where(ReplenTask.to_bin_id == bin_id).order_by(ReplenTask.id)):
        lot = replenishment.task_view(s, t.id).lot_code
        out.append((s.get(Bin, t.from_bin_id).code, lot, t.qty, t.qty_moved, t.status, bool(t.blocking)))
    return out


def work(db, badge="U1", terminal="T1"):
    with db.transaction() as s:
        return replenishment.next_task(s, actor(s, badge, terminal))


def move(db, view, qty=None, lot=None, face=None, badge="U1", terminal="T1", tolerance=0):
    with db.transaction() as s:
        return replenishment.move(s, actor(s, badge, terminal), view.id, face_code=face or view.to_bin, qty=qty or view.remaining,
                                  item_id=view.item_id, lot_code=lot if lot is not None else view.lot_code, tolerance_days=tolerance)


def checks_hold(db):
    with db.reading() as s:
        report = run_checks(s)
        assert report.ok, report.render()
        return True


# --------------------------------------------------------------------------- settings


def test_pickfaces_import_sets_min_max_and_updates_on_reimport(site):
    result = faces(site, "A1,PLAIN,2,10\nA2,MILK,5,40\n")
    assert (result.rows, result.created) == (2, 2)
    faces(site, "A1,PLAIN,3,12\n")
    with site.reading() as s:
        face = s.scalars(select(PickFace).where(PickFace.bin_id == md.bin_by_code(s, "A1").id)).one()
        assert (face.min_qty, face.max_qty) == (3, 12)
        assert s.scalar(select(PickFace.id).where(PickFace.bin_id == md.bin_by_code(s, "A2").id)) is not None


@pytest.mark.parametrize("row, error", [
    ("A1,PLAIN,5,5", "min 5 must be less than max 5"),
    ("A1,PLAIN,0,5", "min must be a whole number from 1"),
    ("A1,PLAIN,-1,5", "min must be a whole number"),
    ("A1,PLAIN,2,x", "max must be a whole number"),
    ("NOPE,PLAIN,2,5", "bin NOPE is not known"),
    ("A1,NOPE,2,5", "SKU NOPE is not known"),
    ("S1,PLAIN,2,5", "bin S1 is a storage bin, not a pick bin"),
])
def test_pickfaces_import_refuses_a_bad_row_by_line_and_imports_nothing(site, row, error):
    with pytest.raises(ImportFailed) as failed:
        faces(site, f"A2,MILK,1,9\n{row}\n")
    assert f"line 3: {error}" in str(failed.value)
    with site.reading() as s:
        assert s.scalar(select(PickFace.id)) is None


def test_a_face_holds_one_sku(site):
    with site.transaction() as s:
        stock(s, "OTHER", "A1", 3)
    with pytest.raises(ImportFailed, match="line 2: bin A1 holds OTHER — a face holds one SKU"):
        faces(site, "A1,PLAIN,2,10\n")
    with pytest.raises(ImportFailed, match="line 3: bin A2 is already on line 2"):
        faces(site, "A2,PLAIN,2,10\nA2,MILK,2,10\n")


# --------------------------------------------------------------------------- triggers and quantities


def test_replenish_run_fills_faces_at_or_below_min_up_to_max_from_storage_by_fefo(site):
    faces(site, "A2,MILK,5,40\nA3,OTHER,2,10\n")
    with site.transaction() as s:
        stock(s, "MILK", "A2", 5, lot="M-A", expiry=ahead(30))
        stock(s, "MILK", "S2", 20, lot="M-SOON", expiry=ahead(40))
        stock(s, "MILK", "S1", 50, lot="M-LATE", expiry=ahead(200))
        stock(s, "MILK", "S3", 50, lot="M-BLK", expiry=ahead(35))  # blocked bin: never
        stock(s, "MILK", "R1", 1, lot="M-OLD", expiry=ahead(-3))  # expired: never
        stock(s, "OTHER", "A3", 6)  # above min: nothing
    with site.transaction() as s:
        run = replenishment.replenish_all(s, CLI)
    assert "Created 2 replenishment task(s)" in run.render()
    with site.reading() as s:
        # 40 - 5 on hand = 35: 20 of the soonest lot, then 15 of the next, one task per source bin and lot
        assert tasks(s, "A2") == [("S2", "M-SOON", 20, 0, "open", False), ("S1", "M-LATE", 15, 0, "open", False)]
        assert tasks(s, "A3") == []
        reserved = {b: q for b, q in s.execute(select(Bin.code, Quant.reserved).join(Bin, Bin.id == Quant.bin_id))}
        assert reserved["S2"] == 20 and reserved["S1"] == 15
    with site.transaction() as s:  # run again: what is on the way counts, nothing doubles
        assert replenishment.replenish_all(s, CLI).render() == "No pick face needs replenishing."


def test_replenish_never_takes_quarantine_staging_or_another_clients_stock(site):
    faces(site, "A1,PLAIN,2,10\n")
    with site.transaction() as s:
        # a client's units of the item in storage, and the warehouse's own on a staging bin
        post(s, CLI, kind="adjust", item=md.item_by_sku(s, "PLAIN"), qty=30, to_bin=md.bin_by_code(s, "S1"),
             owner=md.owner(s, "CLIENT-B"), doc_ref="OPENING")
        stock(s, "PLAIN", "Q1", 30)
    with site.transaction() as s:
        run = replenishment.replenish_all(s, CLI)
    assert run.unfilled == ["A1"] and run.tasks == []


def test_replenish_run_takes_only_the_zone_asked(site):
    faces(site, "A1,PLAIN,2,10\n")
    with site.transaction() as s:
        s.scalars(select(Bin).where(Bin.code == "A1")).one().zone = "Z1"
        stock(s, "PLAIN", "S1", 30)
    with site.transaction() as s:
        with pytest.raises(Exception, match="Zone NOPE has no bins"):
            replenishment.replenish_all(s, CLI, "NOPE")
    with site.transaction() as s:
        md.add_bin(s, "Z2BIN", kind="pick", zone="Z2")
    with site.transaction() as s:
        assert replenishment.replenish_all(s, CLI, "Z2").tasks == []
    with site.transaction() as s:
        assert [t.qty for t in replenishment.replenish_all(s, CLI, "Z1").tasks] == [10]


def test_a_pick_leaving_a_face_at_min_raises_a_replenishment(site):
    faces(site, "A1,PLAIN,2,10\n")
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 5)
        stock(s, "PLAIN", "S1", 30)
        order(s, "ORD-1", [("PLAIN", 2)])
        order(s, "ORD-2", [("PLAIN", 1)])
    release(site, "ORD-1", "ORD-2", batch_size=1)
    start(site, "U1", "ORD-1")
    pick(site, "U1", next_task(site, "U1", "PL-00001"))
    with site.reading() as s:
        assert tasks(s) == []  # 3 left: above min
    start(site, "U1", "ORD-2")
    pick(site, "U1", next_task(site, "U1", "PL-00002"))
    with site.reading() as s:
        assert tasks(s) == [("S1", None, 8, 0, "open", False)]  # 2 left: at min, up to 10
    assert checks_hold(site)


# --------------------------------------------------------------------------- waves


@pytest.fixture
def wave_site(site):
    """Face A1 (PLAIN, min 2 max 10) holds 3; storage S1 holds 30; ORD-1 wants 7."""
    faces(site, "A1,PLAIN,2,10\n")
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 3)
        stock(s, "PLAIN", "S1", 30)
        order(s, "ORD-1", [("PLAIN", 7)])
    return site


def test_a_wave_needing_more_than_the_face_holds_replenishes_first_and_holds_the_picks(wave_site):
    release(wave_site, "ORD-1")
    with wave_site.reading() as s:
        rows = [(s.get(Bin, t.bin_id).code, t.qty, t.waiting) for t in s.scalars(select(PickTask).order_by(PickTask.id))]
        assert rows == [("A1", 3, False), ("A1", 4, True)]  # picked from the face only, never from S1
        # the face to max: 10 - 3 = 7, at least the 4 the wave waits for; blocking
        assert tasks(s) == [("S1", None, 7, 0, "open", True)]
    view = start(wave_site, "U1", "ORD-1")
    first = next_task(wave_site, "U1", view.ref)
    pick(wave_site, "U1", first)
    waiting = next_task(wave_site, "U1", view.ref)
    assert waiting.waiting
    with wave_site.reading() as s, pytest.raises(NotAllowed, match="A1 is waiting for replenishment — @SKIP"):
        picking.check_bin(s, waiting.id, "A1")
    # the replenisher fills the face: the pick is released at once
    job = work(wave_site, "U2")
    assert job.blocking and job.from_bin == "S1"
    result = move(wave_site, job, badge="U2")
    assert result.released == 1 and result.task.status == "done"
    ready = next_task(wave_site, "U1", view.ref)
    assert not ready.waiting
    pick(wave_site, "U1", ready)
    with wave_site.reading() as s:
        assert s.scalar(select(Quant.qty).join(Bin, Bin.id == Quant.bin_id).where(Bin.code == "A1", Quant.container_id.is_(None))) == 3
    assert checks_hold(wave_site)


def test_wave_blocking_tasks_come_before_the_others(site):
    faces(site, "A1,PLAIN,2,10\nA2,OTHER,2,10\n")
    with site.transaction() as s:
        stock(s, "OTHER", "A2", 1)
        stock(s, "OTHER", "S2", 30)
        stock(s, "PLAIN", "S1", 30)
        replenishment.replenish_all(s, CLI)  # OTHER's face: a night-shift task first in time
        order(s, "ORD-1", [("PLAIN", 4)])
    release(site, "ORD-1")
    job = work(site)
    assert (job.to_bin, job.blocking) == ("A1", True)


def test_a_partial_move_keeps_the_task_open_and_releases_only_the_picks_it_covers(wave_site):
    release(wave_site, "ORD-1")
    job = work(wave_site)
    result = move(wave_site, job, qty=2)
    assert (result.task.status, result.task.remaining, result.released) == ("open", 5, 0)  # 4 waiting, 2 free on the face
    result = move(wave_site, result.task, qty=2)
    assert result.released == 1 and result.task.remaining == 3
    with wave_site.reading() as s:
        assert s.scalar(select(PickTask.id).where(PickTask.waiting.is_(True))) is None
        assert [m.doc_ref for m in s.scalars(select(Movement).where(Movement.kind == "move"))] == [job.ref, job.ref]
    assert checks_hold(wave_site)


# --------------------------------------------------------------------------- the replenisher's scans


def test_wrong_source_item_face_and_too_much_are_refused(wave_site):
    release(wave_site, "ORD-1")
    job = work(wave_site)
    with wave_site.reading() as s:
        with pytest.raises(InvalidInput, match="Wrong bin R1 — take from S1"):
            replenishment.check_source(s, actor(s, "U1"), job.id, "R1")
        with pytest.raises(InvalidInput, match="take PLAIN"):
            replenishment.check_item(s, job.id, md.item_by_sku(s, "OTHER").id)
    with pytest.raises(InvalidInput, match="Wrong bin A2 — put it in pick face A1"):
        move(wave_site, job, face="A2")
    with pytest.raises(InvalidInput, match="Only 7 to move"):
        move(wave_site, job, qty=8)
    assert work(wave_site).qty_moved == 0


def test_another_lot_is_allowed_within_the_fefo_tolerance_else_refused_naming_the_lot(site):
    faces(site, "A2,MILK,5,20\n")
    with site.transaction() as s:
        stock(s, "MILK", "S1", 20, lot="M-1", expiry=ahead(30))
        stock(s, "MILK", "S1", 20, lot="M-2", expiry=ahead(33))
        stock(s, "MILK", "S1", 20, lot="M-3", expiry=ahead(90))
        replenishment.replenish_all(s, CLI)
    job = work(site)
    assert job.lot_code == "M-1"
    with pytest.raises(NotAllowed, match=r"Lot M-2 breaks FEFO \(3 days later, 2 allowed\) — take lot M-1 of MILK"):
        move(site, job, qty=5, lot="M-2", tolerance=2)
    with pytest.raises(NotAllowed, match="Lot M-3 breaks FEFO"):
        move(site, job, qty=5, lot="M-3", tolerance=7)
    result = move(site, job, qty=5, lot="M-2", tolerance=3)
    assert result.lot_code == "M-2"
    with site.reading() as s:
        by_lot = {code: (qty, reserved) for code, qty, reserved in s.execute(
            select(md.Lot.code, Quant.qty, Quant.reserved).join(md.Lot, md.Lot.id == Quant.lot_id).join(Bin, Bin.id == Quant.bin_id)
            .where(Bin.code == "S1"))}
        assert by_lot["M-1"] == (20, 15) and by_lot["M-2"] == (15, 0)
    assert checks_hold(site)


def test_two_replenishers_never_take_the_same_task(wave_site):
    release(wave_site, "ORD-1")
    first = work(wave_site, "U1")
    assert work(wave_site, "U2") is None  # the only task is U1's
    with wave_site.transaction() as s, pytest.raises(NotAllowed, match="being done by U1 on T1"):
        replenishment.claim(s, actor(s, "U2"), first.id)
    with pytest.raises(NotAllowed, match="being done by U1"):
        move(wave_site, first, badge="U2")
    # the same badge on another terminal must take it over explicitly
    with pytest.raises(HeldOnAnotherTerminal):
        work(wave_site, "U1", "T2")
    with wave_site.transaction() as s:
        replenishment.next_task(s, actor(s, "U1", "T2"), take_over=True)
    with pytest.raises(NotAllowed, match="taken over by terminal T2"):
        move(wave_site, first, terminal="T1")


def test_short_at_the_source_raises_a_count_task_and_plans_the_waiting_picks_elsewhere(wave_site):
    with wave_site.transaction() as s:
        stock(s, "PLAIN", "S2", 10)
    release(wave_site, "ORD-1")
    job = work(wave_site)
    with wave_site.transaction() as s:
        view = replenishment.short(s, actor(s, "U1"), job.id, 0)
    assert view.status == "short"
    with wave_site.reading() as s:
        count = s.scalars(select(CountTask).join(Bin, Bin.id == CountTask.bin_id).where(Bin.code == "S1")).one()
        assert count.status == "open" and count.blind
        exc = s.scalars(select(WarehouseException).where(WarehouseException.kind == "short_replen")).one()
        assert exc.data["missing"] == 7
        # the 4 units the wave waits for now come from S2 (S1's stock stays free until it is counted)
        assert tasks(s)[-1] == ("S2", None, 4, 0, "open", True)
        assert s.scalar(select(Quant.reserved).join(Bin, Bin.id == Quant.bin_id).where(Bin.code == "S1")) == 0
    assert checks_hold(wave_site)


def test_short_with_some_found_keeps_the_found_to_move(wave_site):
    release(wave_site, "ORD-1")
    job = work(wave_site)
    with wave_site.transaction() as s:
        view = replenishment.short(s, actor(s, "U1"), job.id, 5)
    assert (view.status, view.remaining) == ("open", 5)
    result = move(wave_site, view)
    assert result.task.status == "done" and result.released == 1
    assert checks_hold(wave_site)


def test_inquiry_of_a_face_shows_its_settings(site):
    faces(site, "A1,PLAIN,2,10\n")
    with site.transaction() as s:
        stock(s, "PLAIN", "A1", 4)
    with site.reading() as s:
        view = replenishment.face_view(s, md.bin_by_code(s, "A1"))
        assert (view.sku, view.min_qty, view.max_qty, view.on_hand) == ("PLAIN", 2, 10, 4)
        assert replenishment.face_view(s, md.bin_by_code(s, "S1")) is None


def test_the_command_line_imports_faces_and_replenishes_a_zone(site, tmp_path, capsys):
    from warehouse_tui import cli

    path = str(tmp_path / "warehouse.sqlite")
    with site.transaction() as s:
        s.scalars(select(Bin).where(Bin.code == "A1")).one().zone = "Z1"
        stock(s, "PLAIN", "S1", 30)
    (tmp_path / "faces.csv").write_text("bin,sku,min,max\nA1,PLAIN,2,10\n", encoding="utf-8")
    assert cli.main(["import", "pickfaces", str(tmp_path / "faces.csv"), "--db", path, "--terminal", "T1"]) == 0
    assert "Imported 1 pick face (1 new, 0 updated)" in capsys.readouterr().out
    assert cli.main(["replenish", "--zone", "Z1", "--db", path, "--terminal", "T1"]) == 0
    out = capsys.readouterr().out
    assert "Created 1 replenishment task(s)" in out and "PLAIN  10  S1 -> A1" in out
    assert cli.main(["replenish", "--db", path, "--terminal", "T1"]) == 0
    assert capsys.readouterr().out.strip() == "No pick face needs replenishing."
