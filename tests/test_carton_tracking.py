"""Tracking numbers on cartons: scanned after the weight, refused when another carrier's or already on a carton, skipped into the exceptions queue and filled by a rescan."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from warehouse_tui.db.models import Carton, OutboundOrder, WarehouseException
from warehouse_tui.errors import InvalidInput, NotAllowed
from warehouse_tui.services import carton_tracking, packing
from tests.test_packing import build_station, close, pack

UPS = "1Z879E930346834440"
UPS_2 = "1Z5R89390357567127"
FEDEX = "986578788855"


@pytest.fixture
def sealed(db, actor):
    """ORD-1 (carrier UPS, service ground) with one closed carton ORD-1-1."""
    build_station(db, actor)
    with db.transaction() as s:
        order = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "ORD-1")).one()
        order.carrier, order.service = "ups", "ground"
    pack(db, actor, "PLAIN", 2)
    close(db, actor)
    return db


def tracking_of(db, code="ORD-1-1"):
    with db.reading() as s:
        return carton_tracking.carton(s, code).tracking


def test_the_orders_carriers_number_goes_on_the_carton_and_its_label(sealed, actor):
    with sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", UPS)
    assert tracking_of(sealed) == UPS
    with sealed.reading() as s:
        label = packing.carton_label(s, "ORD-1-1")
    assert (label.carrier, label.service, label.tracking) == ("UPS", "ground", UPS)


def test_another_carriers_number_is_refused_naming_both_and_nothing_changes(sealed, actor):
    with pytest.raises(InvalidInput) as refused, sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", FEDEX)
    assert "FedEx" in str(refused.value) and "UPS" in str(refused.value)
    assert tracking_of(sealed) is None


def test_wrong_check_digit_is_refused(sealed, actor):
    with pytest.raises(InvalidInput, match="check digit"), sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", UPS[:-1] + "1")
    assert tracking_of(sealed) is None


def test_one_number_on_two_cartons_is_refused_naming_the_first(sealed, actor):
    with sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", UPS)
    pack(sealed, actor, "PLAIN", 1)
    close(sealed, actor)
    with pytest.raises(NotAllowed, match="ORD-1-1"), sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-2", UPS)
    assert tracking_of(sealed, "ORD-1-2") is None
    with sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-2", UPS_2)
    assert tracking_of(sealed, "ORD-1-2") == UPS_2


def test_skip_raises_an_exception_that_a_rescan_by_sscc_closes(sealed, actor):
    with sealed.transaction() as s:
        carton_tracking.skip(s, actor, "ORD-1-1")
        carton_tracking.skip(s, actor, "ORD-1-1")  # twice: still one exception
        sscc = s.scalars(select(Carton.sscc)).one()
    with sealed.reading() as s:
        (open_one,) = s.scalars(select(WarehouseException).where(WarehouseException.kind == "tracking_missing")).all()
        assert (open_one.ref, open_one.status) == ("ORD-1-1", "open")
    with sealed.transaction() as s:
        carton_tracking.record(s, actor, sscc, UPS)
    with sealed.reading() as s:
        assert s.scalars(select(WarehouseException.status).where(WarehouseException.kind == "tracking_missing")).one() == "approved"
    assert tracking_of(sealed) == UPS


def test_an_open_carton_takes_no_tracking(db, actor):
    build_station(db, actor)
    pack(db, actor, "PLAIN", 1)
    with pytest.raises(NotAllowed, match="still open"), db.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", UPS)


def test_shipping_stamps_the_ship_time_by_the_clock(db, actor):
    from warehouse_tui import clock
    from tests.test_packing import pack_everything

    build_station(db, actor)
    pack_everything(db, actor)
    close(db, actor)
    with db.reading() as s:
        assert s.scalars(select(OutboundOrder.shipped_at)).one() is None
    before = clock.utcnow()
    with db.transaction() as s:
        packing.ship_order(s, actor, "ORD-1")
    after = clock.utcnow()
    with db.reading() as s:
        assert before <= s.scalars(select(OutboundOrder.shipped_at)).one() <= after


# --------------------------------------------------------------------------- the Pack workflow, scan by scan


@pytest.fixture
def ups_packer(db, actor, tmp_path):
    from drivers.base import RawScan
    from warehouse_tui.config import Settings
    from warehouse_tui.workflows.base import Terminal
    from warehouse_tui.workflows.pack import Pack
    from tests.test_packing import PREFIX

    build_station(db, actor)
    with db.transaction() as s:
        order = s.scalars(select(OutboundOrder)).one()
        order.carrier, order.service = "ups", "ground"
    workflow = Pack(Terminal(db, Settings(gs1_company_prefix=PREFIX, label_dir=str(tmp_path / "labels")), "T1"))
    workflow.scan = lambda text, symbology=None: workflow.submit(RawScan(text=text, symbology=symbology))
    workflow.labels = tmp_path / "labels"
    return workflow


def close_one_carton(packer):
    packer.scan("TOTE-1")
    packer.scan("2")
    packer.scan("09501101530003")
    packer.scan("@CLOSE")
    return packer.scan("4.2")


def test_workflow_asks_the_tracking_after_the_weight_and_prints_it(ups_packer, db):
    outcome = close_one_carton(ups_packer)
    assert outcome.ok and "scan the UPS label" in outcome.message
    assert ups_packer.state == "tracking" and ups_packer.prompt.text.startswith("Scan UPS tracking")
    assert "Ship UPS ground" in ups_packer.lines()
    refused = ups_packer.scan(FEDEX)
    assert not refused.ok and "FedEx" in refused.message and "UPS" in refused.message and ups_packer.state == "tracking"
    assert ups_packer.scan(UPS).ok and ups_packer.state == "item"
    assert tracking_of(db) == UPS
    (zpl,) = ups_packer.labels.glob("*.zpl")
    assert f"TRACKING {UPS}" in zpl.read_text() and "UPS ground" in zpl.read_text()


def test_workflow_skip_then_rescan_of_the_carton_fills_it(ups_packer, db):
    close_one_carton(ups_packer)
    outcome = ups_packer.scan("@SKIP")
    assert outcome.ok and ups_packer.state == "item" and tracking_of(db) is None
    ups_packer.scan("@CANCEL")
    assert ups_packer.state == "document"
    with db.reading() as s:
        sscc = s.scalars(select(Carton.sscc)).one()
    outcome = ups_packer.scan(f"00{sscc}", "C1")
    assert outcome.ok and ups_packer.state == "tracking", outcome.message
    assert ups_packer.scan(UPS).ok and ups_packer.state == "document"
    assert tracking_of(db) == UPS
    with db.reading() as s:
        assert s.scalars(select(WarehouseException.status).where(WarehouseException.kind == "tracking_missing")).one() == "approved"
    assert "has tracking" in ups_packer.scan("ORD-1-1").message


def test_workflow_takes_a_gs1_carrier_label_and_refuses_a_postcode_only_label(ups_packer, db):
    close_one_carton(ups_packer)
    refused = ups_packer.scan("421840" + "84101", "C1")
    assert not refused.ok and ups_packer.state == "tracking", refused.message
    assert tracking_of(db) is None
    assert ups_packer.scan("00109501101530003005", "C1").ok and ups_packer.state == "item"
    assert tracking_of(db) == "109501101530003005"


def test_the_cartons_own_sscc_label_is_no_tracking_number(sealed, actor):
    with sealed.reading() as s:
        sscc = s.scalars(select(Carton.sscc)).one()
    with pytest.raises(InvalidInput, match="own label"), sealed.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", f"(00){sscc}")
    assert tracking_of(sealed) is None
