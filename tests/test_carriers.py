"""Tracking numbers at the pack bench: carriers' published example numbers are read as theirs, wrong check digits and other carriers' numbers are refused."""

from __future__ import annotations

import pytest

from warehouse_tui.errors import InvalidInput
from warehouse_tui.services import carriers

# Example numbers the carriers publish (as collected in the tracking_number_data project's test lists).
VALID = {
    "ups": ["1Z5R89390357567127", "1Z879E930346834440", "1Z410E7W0392751591", "1Z8V92A70367203024", "1Z999AA10123456784"],
    "fedex": ["986578788855", "477179081230", "799531274483", "974367662710",           # Express 12
              "041441760228964", "568283610012734",                                     # Ground 15
              "9611020987654312345672",                                                 # Ground 96 (22)
              "1001921334250001000300779017972697",                                     # Express 34
              "9622001900000000000000776632517510",                                     # Ground GSN 34
              "61299998820821171811"],                                                  # SmartPost
    "usps": ["03071790000523483741", "71123456789123456787", "9505511069605048600624", "9101123456789000000013",
             "92748931507708513018050063", "9400111201080805483016", "9361289878700317633795",
             "420221539101026837331000039521", "4201002334249200190132607600833457"],
    "dhl": ["3318810025", "73891051146", "8487135506", "1099255990", "3821724944"],
}
WRONG_CHECK = {
    "ups": "1Z5R89390357567128",
    "fedex": "986578788856",
    "usps": "9400111201080805483017",
    "dhl": "3318810010",
}


@pytest.mark.parametrize("carrier,number", [(c, n) for c, numbers in VALID.items() for n in numbers])
def test_published_examples_are_their_carriers(carrier, number):
    found = carriers.read(number)
    assert carrier in found.carriers
    assert carriers.validate(number, None, carrier).number == found.number


def test_barcode_tails_are_kept_as_the_tracking_number():
    assert carriers.read("1001921334250001000300779017972697").number == "779017972697"
    assert carriers.read("9611020987654312345672").number == "987654312345672"
    # USPS: the routing 420 + ZIP is no part of the number, with or without the GS after it.
    assert carriers.read("42022153\x1d9101026837331000039521", "C1").number == "9101026837331000039521"
    assert carriers.read("420221539101026837331000039521").number == "9101026837331000039521"


@pytest.mark.parametrize("carrier,number", list(WRONG_CHECK.items()))
def test_wrong_check_digit_is_refused_for_its_carrier(carrier, number):
    with pytest.raises(InvalidInput, match="check digit"):
        carriers.validate(number, None, carrier)


def test_another_carriers_number_is_refused_naming_both():
    with pytest.raises(InvalidInput) as refused:
        carriers.validate("1Z879E930346834440", None, "fedex", order_ref="SO-1")
    assert "UPS" in str(refused.value) and "FedEx" in str(refused.value) and "SO-1" in str(refused.value)


def test_unknown_format_only_for_a_site_courier():
    with pytest.raises(InvalidInput, match="not a DHL tracking number"):
        carriers.validate("BIKE-000123", None, "dhl")
    assert carriers.validate("BIKE-000123", None, "bike", any_carriers=["bike"]).number == "BIKE-000123"
    # ... but a UPS label is not the site courier's.
    with pytest.raises(InvalidInput, match="UPS"):
        carriers.validate("1Z879E930346834440", None, "bike", any_carriers=["bike"])


def test_gs1_sscc_and_consignment_are_any_carriers():
    assert carriers.validate("(00)109501101530003005", None, "dhl").number == "109501101530003005"
    assert carriers.validate("401ABC123", "C1", "ups").number == "ABC123"
    with pytest.raises(InvalidInput, match="check digit"):
        carriers.validate("(00)109501101530003001", None, "dhl")
    with pytest.raises(InvalidInput, match="postcode"):
        carriers.validate("(421)84012345", None, "dhl")


def test_unknown_carrier_is_refused_and_site_couriers_are_known():
    assert carriers.normalise_carrier(" UPS ") == "ups"
    assert carriers.normalise_carrier("") is None
    assert carriers.normalise_carrier("Bike", ["bike"]) == "bike"
    with pytest.raises(InvalidInput, match="Unknown carrier 'pigeon'"):
        carriers.normalise_carrier("pigeon")
