"""Orders with carriers: import orders takes carrier and service, refuses a carrier nobody configured; nothing changes on a bad file."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from warehouse_tui.db.models import OutboundOrder
from warehouse_tui.services.importing import ImportFailed, import_bytes
from tests.test_import_export import count, load, site  # noqa: F401  (site is a fixture)


def test_orders_carry_carrier_and_service(site, actor):  # noqa: F811
    load(site, actor, "orders", "ref,channel,ship_to,sku,qty,carrier,service\n"
                                "SO1,web,Leeds,PLAIN,1,UPS,Ground\nSO1,,,BEST,2,,\nSO2,shop,York,PLAIN,1,,\n")
    with site.reading() as s:
        got = {o.ref: (o.carrier, o.service) for o in s.scalars(select(OutboundOrder))}
    assert got == {"SO1": ("ups", "ground"), "SO2": (None, None)}


def test_an_unknown_carrier_is_refused_with_its_line_and_nothing_imported(site, actor):  # noqa: F811
    with pytest.raises(ImportFailed) as caught:
        load(site, actor, "orders", "ref,sku,qty,carrier\nSO1,PLAIN,1,ups\nSO2,PLAIN,1,pigeon\n")
    assert "line 3" in str(caught.value) and "Unknown carrier 'pigeon'" in str(caught.value)
    assert count(site, OutboundOrder) == 0


def test_a_site_courier_is_known_when_configured(site, actor):  # noqa: F811
    import_bytes(site, "orders", b"ref,sku,qty,carrier\nSO1,PLAIN,1,Bike\n", actor, any_carriers=["bike"])
    with site.reading() as s:
        assert s.scalars(select(OutboundOrder.carrier)).one() == "bike"


def test_two_rows_of_one_order_that_name_different_carriers_are_refused(site, actor):  # noqa: F811
    with pytest.raises(ImportFailed) as caught:
        load(site, actor, "orders", "ref,sku,qty,carrier\nSO1,PLAIN,1,ups\nSO1,BEST,1,fedex\n")
    assert "line 3" in str(caught.value) and "carrier" in str(caught.value)
