"""Packing, SSCCs and shipping: the services, and the Pack workflow driven scan by scan (no UI)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from drivers.base import RawScan
from warehouse_tui import clock
from warehouse_tui.config import Settings
from warehouse_tui.db.models import (
    Carton,
    CartonLine,
    Container,
    Movement,
    OutboundLine,
    OutboundOrder,
    PickList,
    PickListOrder,
    Quant,
    SerialUnit,
    SsccCounter,
)
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound
from warehouse_tui.scan.gtin import gs1_check_digit, has_valid_check_digit
from warehouse_tui.services import exporting
from warehouse_tui.services import masterdata as md
from warehouse_tui.services import packing
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import post
from warehouse_tui.workflows.base import Terminal
from warehouse_tui.workflows.pack import Pack

PREFIX = "0950110"
PLAIN_GTIN = "09501101530003"
MILK_GTIN = "0950110153001" + str(gs1_check_digit("0950110153001"))
EXPIRY = clock.today() + dt.timedelta(days=200)  # read when the module loads: 200 days leave room for a run across midnight


@pytest.fixture
def station(db, actor):
    return build_station(db, actor)


def build_station(db, actor):
    """A picking face, a staging lane with TOTE-1 holding ORD-1 (partly picked), a pack bin.

    ORD-1 wants 5 PLAIN, 3 MILK (lot-tracked) and 2 PHONE (serial). Picked into TOTE-1:
    5 PLAIN, 2 MILK of lot L1, PHONE serials SN-1 and SN-2. SN-9 stays on the shelf.
    """
    with db.transaction() as s:
        face = md.add_bin(s, "A-01", kind="pick", zone="A")
        md.add_bin(s, "STAGE", kind="staging")
        md.add_bin(s, "PACK-1", kind="pack")
        plain = md.add_item(s, "PLAIN", gtins=[PLAIN_GTIN])
        milk = md.add_item(s, "MILK", tracking="lot", expiry_required=True, aliases=["MILK-ALIAS"], gtins=[MILK_GTIN])
        phone = md.add_item(s, "PHONE", tracking="serial", aliases=["PHONE-ALIAS"])
        md.add_item(s, "OTHER", aliases=["OTHER-CODE"])
        for lot_code in ("L1", "L2"):
            post(s, actor, kind="adjust", item=milk, qty=20, lot=md.lot(s, milk, lot_code, EXPIRY), to_bin=face)
        post(s, actor, kind="adjust", item=plain, qty=50, to_bin=face)
        for sn in ("SN-1", "SN-2", "SN-9"):
            post(s, actor, kind="adjust", item=phone, qty=1, serial=sn, to_bin=face)
        order = OutboundOrder(ref="ORD-1", ship_to="Jana Novak, Hauptstrasse 12, 10115 Berlin, DE", status="released")
        s.add(order)
        s.flush()
        s.add_all([OutboundLine(order_id=order.id, item_id=plain.id, qty=5),
                   OutboundLine(order_id=order.id, item_id=milk.id, qty=3),
                   OutboundLine(order_id=order.id, item_id=phone.id, qty=2)])
        md.container(s, "TOTE-1", "tote")
        pick_list = PickList(ref="PL-1")
        s.add(pick_list)
        s.flush()
        s.add(PickListOrder(pick_list_id=pick_list.id, order_id=order.id, tote_id=md.container(s, "TOTE-1").id))
    pick(db, actor, "PLAIN", 5)
    pick(db, actor, "MILK", 2, lot="L1")
    pick(db, actor, "PHONE", 1, serial="SN-1")
    pick(db, actor, "PHONE", 1, serial="SN-2")
    return db


def pick(db, actor, sku: str, qty: int, *, lot: str | None = None, serial: str | None = None, order_ref: str = "ORD-1",
         tote: str = "TOTE-1") -> None:
    """What picking leaves behind: units moved from the face into the order's tote, qty_picked counted."""
    with db.transaction() as s:
        item = md.item_by_sku(s, sku)
        post(s, actor, kind="pick", item=item, qty=qty, lot=md.lot(s, item, lot) if lot else None, serial=serial,
             from_bin=md.bin_by_code(s, "A-01"), to_bin=md.bin_by_code(s, "STAGE"), to_container=md.container(s, tote),
             doc_ref=order_ref)
        line = s.scalars(select(OutboundLine).join(OutboundOrder)
                         .where(OutboundOrder.ref == order_ref, OutboundLine.item_id == item.id)).one()
        line.qty_picked += qty


def item_id(db, sku: str) -> int:
    with db.reading() as s:
        return md.item_by_sku(s, sku).id


def pack(db, actor, sku: str, qty: int = 1, **kw) -> packing.PackProgress:
    with db.transaction() as s:
        return packing.pack_units(s, actor, order_ref="ORD-1", item_id=md.item_by_sku(s, sku).id, qty=qty, **kw)


def packed(db) -> dict[str, int]:
    with db.reading() as s:
        return {ln.sku: ln.packed for ln in packing.progress(s, "ORD-1").lines}


def in_tote(db, sku: str) -> int:
    with db.reading() as s:
        tote = md.container(s, "TOTE-1", create=False)
        return int(s.scalar(select(func.coalesce(func.sum(Quant.qty), 0))
                            .where(Quant.container_id == tote.id, Quant.item_id == md.item_by_sku(s, sku).id)))


def close(db, actor, weight="4.2") -> packing.CartonLabel:
    with db.transaction() as s:
        return packing.close_carton(s, actor, order_ref="ORD-1", weight=weight, company_prefix=PREFIX)


def pack_everything(db, actor) -> None:
    pick(db, actor, "MILK", 1, lot="L1")
    pack(db, actor, "PLAIN", 5)
    pack(db, actor, "MILK", 3)
    pack(db, actor, "PHONE", serial="SN-1")
    pack(db, actor, "PHONE", serial="SN-2")


# --------------------------------------------------------------------------- finding the order


def test_tote_scan_finds_the_order_in_it(station):
    with station.reading() as s:
        assert packing.order_for_packing(s, "TOTE-1").ref == "ORD-1"
        assert packing.order_for_packing(s, "ORD-1").ref == "ORD-1"


def test_empty_tote_and_unpicked_order_are_refused(station, actor):
    with station.transaction() as s:
        md.container(s, "TOTE-2", "tote")
        s.add(OutboundOrder(ref="ORD-2"))
    with station.reading() as s:
        with pytest.raises(NotFound, match="Tote TOTE-2 holds no order"):
            packing.order_for_packing(s, "TOTE-2")
        with pytest.raises(NotAllowed, match="Nothing of ORD-2 is picked yet"):
            packing.order_for_packing(s, "ORD-2")


# --------------------------------------------------------------------------- verifying every unit


def test_packing_moves_units_from_tote_into_a_carton_in_the_pack_bin(station, actor):
    view = pack(station, actor, "PLAIN", 2)
    assert (view.carton_code, view.carton_units) == ("ORD-1-1", 2)
    with station.reading() as s:
        carton = s.scalars(select(Carton)).one()
        box = s.get(Container, carton.container_id)
        assert (box.kind, md.bin_by_code(s, "PACK-1").id == box.bin_id, carton.status) == ("carton", True, "open")
        assert [(m.kind, m.qty, m.doc_ref) for m in s.scalars(select(Movement).where(Movement.kind == "pack"))] == [("pack", 2, "ORD-1")]
        assert s.scalars(select(CartonLine.qty)).all() == [2]
        assert run_checks(s).ok
    assert in_tote(station, "PLAIN") == 3
    assert packed(station)["PLAIN"] == 2


def test_wrong_item_is_refused_and_nothing_moves(station, actor):
    with pytest.raises(InvalidInput, match="OTHER is not on ORD-1 — put it aside"):
        pack(station, actor, "OTHER")
    with station.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "pack")) == 0
        assert s.scalar(select(func.count()).select_from(Carton)) == 0


def test_one_unit_too_many_is_refused(station, actor):
    pack(station, actor, "PLAIN", 5)
    with pytest.raises(InvalidInput, match="ORD-1 needs 5 PLAIN, all packed"):
        pack(station, actor, "PLAIN")
    assert packed(station)["PLAIN"] == 5 and in_tote(station, "PLAIN") == 0


def test_a_count_above_what_is_left_is_refused_whole(station, actor):
    pack(station, actor, "PLAIN", 3)
    with pytest.raises(InvalidInput, match="Only 2 more PLAIN for ORD-1, not 3"):
        pack(station, actor, "PLAIN", 3)
    assert packed(station)["PLAIN"] == 3


def test_units_ordered_but_not_picked_are_refused(station, actor):
    # MILK: 3 ordered, 2 picked. The third unit on the bench is not from this order's tote.
    with pytest.raises(InvalidInput, match="Only 2 MILK picked for ORD-1"):
        pack(station, actor, "MILK", 3)


def test_count_packs_that_many(station, actor):
    view = pack(station, actor, "PLAIN", 3)
    assert view.carton_units == 3 and packed(station)["PLAIN"] == 3 and in_tote(station, "PLAIN") == 2


@pytest.mark.parametrize("qty", [0, -1, 2.5, "3"])
def test_a_count_that_is_not_a_positive_whole_number_is_refused(station, actor, qty):
    with pytest.raises(InvalidInput):
        pack(station, actor, "PLAIN", qty)
    assert packed(station)["PLAIN"] == 0


# --------------------------------------------------------------------------- lots and serials


def test_the_only_lot_in_the_tote_is_taken_without_asking(station):
    with station.reading() as s:
        goods = packing.check_goods(s, "ORD-1", item_id(station, "MILK"), qty=2)
    assert (goods.ask, goods.lot) == (None, "L1")


def test_several_lots_in_the_tote_are_asked_for(station, actor):
    pick(station, actor, "MILK", 1, lot="L2")
    with station.reading() as s:
        goods = packing.check_goods(s, "ORD-1", item_id(station, "MILK"))
    assert (goods.ask, goods.lots) == ("lot", ("L1", "L2"))
    with pytest.raises(InvalidInput, match="lots L1, L2 — scan the lot"):
        pack(station, actor, "MILK")
    pack(station, actor, "MILK", lot_code="L2")
    with station.reading() as s:
        line = s.scalars(select(CartonLine)).one()
        assert (line.qty, md.lot(s, md.item_by_sku(s, "MILK"), "L2").id == line.lot_id) == (1, True)


def test_a_lot_not_in_the_tote_is_refused(station, actor):
    with pytest.raises(InvariantViolation, match="Lot L2 of MILK is not in TOTE-1"):
        pack(station, actor, "MILK", lot_code="L2")


def test_a_serial_item_needs_its_serial_and_packs_it(station, actor):
    with station.reading() as s:
        assert packing.check_goods(s, "ORD-1", item_id(station, "PHONE")).ask == "serial"
    with pytest.raises(InvalidInput, match="PHONE is serial-tracked — scan the serial number"):
        pack(station, actor, "PHONE")
    pack(station, actor, "PHONE", serial="SN-2")
    with station.reading() as s:
        unit = s.scalars(select(SerialUnit).where(SerialUnit.serial == "SN-2")).one()
        assert s.get(Container, unit.container_id).code == "ORD-1-1"
        assert s.scalars(select(CartonLine.serial)).all() == ["SN-2"]


def test_a_serial_still_on_the_shelf_is_refused(station, actor):
    with pytest.raises(InvariantViolation, match="Serial SN-9 is in A-01, not in this order's tote"):
        pack(station, actor, "PHONE", serial="SN-9")
    with pytest.raises(InvariantViolation, match="Serial NOPE of PHONE is not in stock"):
        pack(station, actor, "PHONE", serial="NOPE")


def test_a_count_for_a_serial_item_is_refused(station, actor):
    with pytest.raises(InvalidInput, match="scan each unit, no count"):
        pack(station, actor, "PHONE", 2, serial="SN-1")


# --------------------------------------------------------------------------- closing a carton, SSCC


@pytest.mark.parametrize("weight, message", [
    ("0", "more than 0 kg"), (Decimal("0"), "more than 0 kg"), ("-1", "must be a number"), (Decimal("-1"), "more than 0 kg"),
    ("abc", "must be a number"), ("10000", "more than a carton weighs"), (Decimal("10000"), "more than a carton weighs"),
    ("1.2345", "must be a number"), (Decimal("1.2345"), "more than 3 decimals"), (float("nan"), "must be a number"),
    (True, "must be a number"),
])
def test_close_needs_a_sane_weight(station, actor, weight, message):
    pack(station, actor, "PLAIN", 2)
    with pytest.raises(InvalidInput, match=message):
        close(station, actor, weight)
    with station.reading() as s:
        carton = s.scalars(select(Carton)).one()
        assert (carton.status, carton.sscc, carton.weight_kg) == ("open", None, None)
        assert s.get(SsccCounter, PREFIX) is None


def test_close_gives_the_carton_weight_and_a_valid_sscc(station, actor):
    pack(station, actor, "PLAIN", 2)
    label = close(station, actor, "12,5")
    assert label.sscc == "0" + PREFIX + "000000001" + label.sscc[-1] and has_valid_check_digit(label.sscc)
    assert (label.order_ref, label.carton_no, label.units, label.weight_kg) == ("ORD-1", 1, 2, Decimal("12.500"))
    with station.reading() as s:
        carton = s.scalars(select(Carton)).one()
        assert (carton.status, carton.sscc, Decimal(carton.weight_kg)) == ("closed", label.sscc, Decimal("12.5"))
    view = pack(station, actor, "PLAIN")
    assert view.carton_code == "ORD-1-2" and view.cartons_closed == 1


def test_an_empty_or_missing_carton_cannot_be_closed(station, actor):
    with pytest.raises(NotAllowed, match="No carton of ORD-1 is open"):
        close(station, actor)


def test_ssccs_are_valid_and_unique_across_1000_cartons(db):
    ssccs = []
    for _ in range(10):  # committed in batches, as cartons are closed one by one
        with db.transaction() as s:
            ssccs += [packing.allocate_sscc(s, PREFIX) for _ in range(100)]
    assert len(set(ssccs)) == 1000
    assert all(len(c) == 18 and c[1:8] == PREFIX and has_valid_check_digit(c) for c in ssccs)


def test_sscc_extension_digit_takes_over_when_the_serial_reference_runs_out(db):
    long_prefix = "095011012345"  # 12 digits: 4-digit serial references
    with db.transaction() as s:
        s.add(SsccCounter(company_prefix=long_prefix, last_serial=9_999))
    with db.transaction() as s:
        assert packing.allocate_sscc(s, long_prefix)[:17] == "1" + long_prefix + "0000"
        s.get(SsccCounter, long_prefix).last_serial = 99_999
    with pytest.raises(InvalidInput, match="Every SSCC of company prefix 095011012345 is used"):
        with db.transaction() as s:
            packing.allocate_sscc(s, long_prefix)


def test_a_rolled_back_close_leaves_no_sscc_behind(station, actor):
    pack(station, actor, "PLAIN", 2)
    first = close(station, actor)
    pack(station, actor, "PLAIN", 1)
    with pytest.raises(RuntimeError):
        with station.transaction() as s:
            lost = packing.close_carton(s, actor, order_ref="ORD-1", weight="1", company_prefix=PREFIX)
            raise RuntimeError("power cut before commit")
    with station.reading() as s:
        assert s.scalars(select(Carton.sscc).where(Carton.status == "open")).one() is None
        assert s.scalars(select(Carton.sscc).where(Carton.sscc.is_not(None))).all() == [first.sscc]
    again = close(station, actor)
    # The rolled-back number was never on a committed carton (nor on a label: those are written after commit).
    assert again.sscc == lost.sscc != first.sscc


def test_a_bad_company_prefix_is_refused_before_anything_changes(station, actor):
    pack(station, actor, "PLAIN", 1)
    with pytest.raises(InvalidInput, match="company prefix must be 6 to 12 digits"):
        with station.transaction() as s:
            packing.close_carton(s, actor, order_ref="ORD-1", weight="1", company_prefix="12AB")


# --------------------------------------------------------------------------- shipping


def test_done_only_when_every_line_is_packed(station, actor):
    pack(station, actor, "PLAIN", 5)
    close(station, actor)
    with pytest.raises(NotAllowed, match="ORD-1 is not fully packed: MILK 0/3 and 1 more line"):
        with station.transaction() as s:
            packing.ship_order(s, actor, "ORD-1")
    pick(station, actor, "MILK", 1, lot="L1")
    pack(station, actor, "MILK", 3)
    pack(station, actor, "PHONE", serial="SN-1")
    pack(station, actor, "PHONE", serial="SN-2")
    with pytest.raises(NotAllowed, match="A carton is still open"):
        with station.transaction() as s:
            packing.ship_order(s, actor, "ORD-1")
    with station.reading() as s:
        assert s.scalar(select(func.count()).select_from(Movement).where(Movement.kind == "ship")) == 0


def test_shipping_takes_the_stock_out_and_the_check_stays_green(station, actor):
    pack_everything(station, actor)
    close(station, actor)
    with station.reading() as s:
        assert packing.progress(s, "ORD-1").complete
        assert s.scalars(select(OutboundOrder.status)).one() == "packed"
    with station.transaction() as s:
        shipment = packing.ship_order(s, actor, "ORD-1")
    assert (shipment.units, len(shipment.cartons)) == (10, 1)
    with station.reading() as s:
        ships = s.scalars(select(Movement).where(Movement.kind == "ship")).all()
        assert sum(m.qty for m in ships) == 10 and all(m.to_bin_id is None and m.doc_ref == "ORD-1" for m in ships)
        assert s.scalars(select(Quant).where(Quant.container_id.is_not(None))).all() == []
        assert {u.serial: u.status for u in s.scalars(select(SerialUnit))} == {"SN-1": "shipped", "SN-2": "shipped", "SN-9": "in_stock"}
        assert [(ln.qty_packed, ln.qty_shipped) for ln in s.scalars(select(OutboundLine).order_by(OutboundLine.id))] == [(5, 5), (3, 3), (2, 2)]
        carton = s.scalars(select(Carton)).one()
        assert (carton.status, s.scalars(select(OutboundOrder.status)).one()) == ("shipped", "shipped")
        assert s.get(Container, carton.container_id).bin_id is None
        report = run_checks(s)
        assert report.ok, report.render()
    with pytest.raises(NotAllowed, match="ORD-1 is shipped"):
        with station.transaction() as s:
            packing.ship_order(s, actor, "ORD-1")


def test_export_shipments_lists_order_carton_sscc_weight_lines_lots_serials(station, actor):
    pick(station, actor, "MILK", 1, lot="L1")
    pack(station, actor, "PLAIN", 5)
    pack(station, actor, "MILK", 3)
    first = close(station, actor, "7.25")
    pack(station, actor, "PHONE", serial="SN-1")
    pack(station, actor, "PHONE", serial="SN-2")
    second = close(station, actor, "1.5")
    with station.transaction() as s:
        packing.ship_order(s, actor, "ORD-1")
    with station.reading() as s:
        rows = [dict(zip(exporting.EXPORT_KEYS["shipments"], r)) for r in exporting.rows(s, "shipments")]
    assert exporting.EXPORT_KEYS["shipments"] == ("order", "carton", "sscc", "weight", "sku", "qty", "lot", "serial", "channel",
                                                  "carrier", "service", "tracking", "shipped_at", "ship_to", "owner")
    with station.reading() as s:
        shipped_at = exporting._time(s.scalars(select(OutboundOrder.shipped_at)).one())
    order = {"channel": "", "carrier": None, "service": None, "tracking": None, "shipped_at": shipped_at,
             "ship_to": "Jana Novak, Hauptstrasse 12, 10115 Berlin, DE", "owner": md.DEFAULT_OWNER}
    assert shipped_at is not None
    assert rows == [
        {"order": "ORD-1", "carton": "ORD-1-1", "sscc": first.sscc, "weight": 7.25, "sku": "PLAIN", "qty": 5, "lot": None, "serial": None, **order},
        {"order": "ORD-1", "carton": "ORD-1-1", "sscc": first.sscc, "weight": 7.25, "sku": "MILK", "qty": 3, "lot": "L1", "serial": None, **order},
        {"order": "ORD-1", "carton": "ORD-1-2", "sscc": second.sscc, "weight": 1.5, "sku": "PHONE", "qty": 1, "lot": None, "serial": "SN-1", **order},
        {"order": "ORD-1", "carton": "ORD-1-2", "sscc": second.sscc, "weight": 1.5, "sku": "PHONE", "qty": 1, "lot": None, "serial": "SN-2", **order},
    ]


# --------------------------------------------------------------------------- the Pack workflow, scan by scan


@pytest.fixture
def packer(station, tmp_path):
    terminal = Terminal(station, Settings(gs1_company_prefix=PREFIX, label_dir=str(tmp_path / "labels")), "T1")
    workflow = Pack(terminal)

    def scan(text: str):
        return workflow.submit(RawScan(text=text))

    workflow.scan = scan
    return workflow


def test_workflow_count_then_scan_packs_that_many(packer, station):
    assert packer.scan("TOTE-1").ok and packer.state == "item"
    assert packer.scan("3").ok and packer.prompt.text == "Scan item — packs 3"
    outcome = packer.scan(PLAIN_GTIN)
    assert outcome.ok and outcome.message == "Packed 3 × PLAIN"
    assert packed(station)["PLAIN"] == 3 and packer.count is None


def test_workflow_refusal_changes_nothing_and_drops_the_count(packer, station):
    packer.scan("ORD-1")
    assert packer.scan("9").ok and packer.count == 9
    outcome = packer.scan("OTHER-CODE")
    assert not outcome.ok and outcome.message == "OTHER is not on ORD-1 — put it aside"
    assert packer.count is None and packer.state == "item"
    assert not packer.scan("11").ok  # more than the 10 units left on the order
    assert packer.scan("4").ok
    outcome = packer.scan(PLAIN_GTIN)
    assert outcome.ok and packed(station)["PLAIN"] == 4


def test_workflow_takes_count_lot_and_serial_from_gs1_scans(packer, station, actor):
    pick(station, actor, "MILK", 1, lot="L2")
    packer.scan("TOTE-1")
    assert packer.scan(f"(01){PLAIN_GTIN}(30)2").message == "Packed 2 × PLAIN"
    assert packer.scan(f"(01){MILK_GTIN}(10)L2").message == "Packed 1 × MILK lot L2"
    assert packer.state == "item" and packed(station) == {"PLAIN": 2, "MILK": 1, "PHONE": 0}


def test_workflow_asks_lot_then_serial_and_closes_with_weight(packer, station, actor, tmp_path):
    pick(station, actor, "MILK", 1, lot="L2")
    packer.scan("TOTE-1")
    packer.scan("MILK-ALIAS")
    assert packer.state == "lot" and "Lots: L1, L2" in packer.lines()
    assert packer.scan("L2").ok and packer.state == "item"
    packer.scan("PHONE-ALIAS")
    assert packer.state == "serial"
    assert not packer.scan("SN-9").ok and packer.state == "serial"  # on the shelf, not in the tote: scan another
    assert packer.scan("SN-1").ok
    assert packer.scan("@CLOSE").ok and packer.state == "weight"
    for bad in ("0", "-1", "abc", "10000"):
        assert not packer.scan(bad).ok and packer.state == "weight"
    outcome = packer.scan("3.5")
    assert outcome.ok and "closed, 3.500 kg" in outcome.message and packer.state == "item"
    with station.reading() as s:
        sscc = s.scalars(select(Carton.sscc)).one()
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [f"{sscc}.svg", f"{sscc}.zpl"]


def test_workflow_done_ships_when_everything_is_packed(packer, station, actor):
    pick(station, actor, "MILK", 1, lot="L1")
    packer.scan("TOTE-1")
    packer.scan("5")
    packer.scan(PLAIN_GTIN)
    packer.scan("3")
    packer.scan("MILK-ALIAS")
    assert not packer.scan("@DONE").ok  # PHONE not packed yet
    for sn in ("SN-1", "SN-2"):
        packer.scan("PHONE-ALIAS")
        packer.scan(sn)
    outcome = packer.scan("@DONE")
    assert not outcome.ok and "still open" in outcome.message
    packer.scan("@CLOSE")
    packer.scan("2")
    assert packer.state == "ready" and packer.prompt.commands == ("DONE",)
    outcome = packer.scan("@DONE")
    assert outcome.ok and outcome.message == "Shipped ORD-1 — scan the next tote"
    assert packer.state == "document" and packer.lines() == ["Shipped ORD-1: 1 carton(s), 10 unit(s)"]
    with station.reading() as s:
        assert run_checks(s).ok


def test_workflow_cancel_steps_back_one_level(packer):
    packer.scan("TOTE-1")
    packer.scan("2")
    assert packer.scan("@CANCEL").message == "Count dropped — scan item" and packer.count is None
    packer.scan(PLAIN_GTIN)
    packer.scan("@CLOSE")
    assert packer.scan("@CANCEL").message == "Cancelled — scan item" and packer.state == "item"
    assert packer.scan("@CANCEL").message == "Cancelled — scan tote or order" and packer.state == "document"
    assert packer.scan("ORD-1").message == "Packing ORD-1 — carton ORD-1-1 open"


# --------------------------------------------------------------------------- codes for `warehouse-tui labels`


def test_label_codes_for_each_kind(station):
    with station.transaction() as s:
        md.container(s, "LPN-7", "lpn")
        assert packing.label_codes(s, "bins", ["A-01"]) == ["A-01"]
        assert packing.label_codes(s, "bins") == ["A-01", "PACK-1", "STAGE"]  # walking order, then code
        assert packing.label_codes(s, "items", ["PLAIN", "PHONE"]) == [PLAIN_GTIN, "PHONE"]  # a GTIN, else the SKU
        assert packing.label_codes(s, "lpn") == ["LPN-7"]
        new = packing.label_codes(s, "sscc", count=2, company_prefix=PREFIX)
    assert len(set(new)) == 2 and all(has_valid_check_digit(c) for c in new)
    with station.transaction() as s:
        assert packing.allocate_sscc(s, PREFIX) not in new  # issued for labels: never again
        with pytest.raises(NotFound, match="Bin NOPE is not known"):
            packing.label_codes(s, "bins", ["NOPE"])
        with pytest.raises(InvalidInput, match="--count N"):
            packing.label_codes(s, "sscc", company_prefix=PREFIX)


@pytest.mark.postgres
def test_pack_close_and_ship_on_postgresql(pg_url, actor):
    from warehouse_tui.db.engine import Database

    db = Database(pg_url)
    try:
        build_station(db, actor)
        pack_everything(db, actor)
        label = close(db, actor, "3.25")
        with db.transaction() as s:
            assert packing.ship_order(s, actor, "ORD-1").cartons == (label.sscc,)
        with db.reading() as s:
            rows = list(exporting.rows(s, "shipments"))
            assert {r[2] for r in rows} == {label.sscc} and sum(r[5] for r in rows) == 10
            assert run_checks(s).ok
    finally:
        db.dispose()


def test_the_carton_label_is_laid_out_for_the_configured_printer_resolution(station, actor, tmp_path):
    settings = Settings(gs1_company_prefix=PREFIX, label_dir=str(tmp_path / "labels"), printer_dpi=300)
    packer = Pack(Terminal(station, settings, "T1"))
    for text in ("TOTE-1", PLAIN_GTIN, "@CLOSE", "2.0"):
        outcome = packer.submit(RawScan(text=text))
        assert outcome.ok, (text, outcome.message)
    (zpl,) = (tmp_path / "labels").glob("*.zpl")

    # 4 x 6 inches at 300 dpi: 1200 dots wide, where a 203 dpi layout is 812.
    assert "^PW1200" in zpl.read_text(encoding="utf-8")
