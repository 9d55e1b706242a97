"""CSV import (all or nothing, bad rows named by line) and CSV/JSON export (DESIGN §6) on real SQLite files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from warehouse_tui.db.models import (
    AuditEvent,
    Bin,
    Carton,
    CartonLine,
    CountLine,
    CountTask,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    Quant,
    SerialUnit,
    WarehouseException,
)
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import verify_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services import exporting
from warehouse_tui.services.exporting import EXPORT_KEYS, export
from warehouse_tui.services.importing import MAX_REPORTED, ImportFailed, import_bytes, import_file
from warehouse_tui.services.ledger import Actor, post

DATA = Path(__file__).parent / "data"


def load(db, actor, kind: str, content: str | bytes, source: str = "test.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return import_bytes(db, kind, data, actor, source=source)


def failure(db, actor, kind: str, content: str | bytes) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        load(db, actor, kind, content)
    return caught.value


def count(db, model) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count()).select_from(model))


def exported(db, kind: str, fmt: str = "json"):
    out = io.StringIO()
    with db.reading() as s:
        export(s, kind, fmt, out)
    text = out.getvalue()
    return json.loads(text) if fmt == "json" else list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def site(db, actor):
    """Items and bins from the sample files in tests/data."""
    import_file(db, "items", DATA / "items.csv", actor)
    import_file(db, "bins", DATA / "bins.csv", actor)
    return db


# --------------------------------------------------------------------------- happy paths


def test_items_import_stores_gtin14_tracking_and_owners(db, actor):
    result = import_file(db, "items", DATA / "items.csv", actor)

    assert str(result) == "Imported 5 items (5 new, 0 updated; 2 owners)"
    with db.reading() as s:
        plain = md.item_by_sku(s, "PLAIN")
        assert sorted(c.code for c in plain.codes) == ["04006381333931", "09501101530003"]
        assert md.item_by_code(s, "4006381333931").sku == "PLAIN"
        lotted = md.item_by_sku(s, "LOTTED")
        assert (lotted.tracking, lotted.expiry_required) == ("lot", True)
        assert md.item_by_sku(s, "ACME-1").owner.code == "ACME"
        assert md.item_by_sku(s, "ACME-1").description == "Client item, boxed"
        assert md.item_by_sku(s, "BEST").uom == "BOX"


def test_items_reimport_updates_the_sku_and_keeps_old_gtins(db, actor):
    load(db, actor, "items", "sku,description,gtin\nPLAIN,Old name,09501101530003\n")

    result = load(db, actor, "items", "sku,description,gtin,tracking\nPLAIN,New name,4006381333931,lot\n")

    assert "0 new, 1 updated" in str(result)
    with db.reading() as s:
        item = md.item_by_sku(s, "PLAIN")
        assert item.description == "New name"
        assert item.tracking == "lot"
        assert sorted(c.code for c in item.codes) == ["04006381333931", "09501101530003"]
        assert s.scalar(select(func.count()).select_from(Item)) == 1


def test_items_tracking_cannot_change_while_stock_is_on_hand(site, actor):
    load(site, actor, "stock", "bin,sku,qty\nA-01-01,PLAIN,4\n")

    err = failure(site, actor, "items", "sku,tracking\nPLAIN,serial\n")

    assert "line 2: SKU PLAIN has stock on hand" in str(err)
    with site.reading() as s:
        assert md.item_by_sku(s, "PLAIN").tracking == "none"


def test_items_expiry_accepts_true_false_and_refuses_maybe(db, actor):
    load(db, actor, "items", "sku,expiry\nA,TRUE\nB,false\nC,Yes\n")
    with db.reading() as s:
        assert [md.item_by_sku(s, k).expiry_required for k in "ABC"] == [True, False, True]

    err = failure(db, actor, "items", "sku,expiry\nD,maybe\n")
    assert "line 2: expiry must be yes or no, not 'maybe'" in str(err)


def test_bins_import_defaults_barcode_to_code_and_updates_existing_bins(db, actor):
    result = import_file(db, "bins", DATA / "bins.csv", actor)
    assert str(result) == "Imported 4 bins (4 new, 0 updated)"

    load(db, actor, "bins", "code,pick_seq,kind\nA-01-02,7,pick\n")

    with db.reading() as s:
        assert md.bin_by_code(s, "RCV-01").barcode == "RCV-01"
        assert md.bin_by_code(s, "BA0101").code == "A-01-01"
        updated = md.bin_by_code(s, "A-01-02")
        assert (updated.pick_seq, updated.kind, updated.zone) == (7, "pick", "A")


def test_bins_duplicate_code_or_barcode_in_file_is_refused(db, actor):
    err = failure(db, actor, "bins", "code,barcode,kind,pick_seq\nA1,,storage,1\nA2,A1,storage,2\nA1,,pick,3\nA3,,shelf,-1\n")

    text = str(err)
    assert "line 3: A1 is already bin A1's code or barcode (line 2)" in text
    assert "line 4: bin A1 is already on line 2" in text
    assert "line 5: kind must be receiving, storage, pick, pack, shipping, staging, returns or quarantine, not 'shelf'" in text
    assert count(db, Bin) == 0


def test_bins_barcode_that_names_another_bin_in_the_database_is_refused(db, actor):
    load(db, actor, "bins", "code,barcode\nA1,X-1\n")

    err = failure(db, actor, "bins", "code,barcode\nA2,A1\nA3,X-1\nA1,X-2\n")

    assert [str(e) for e in err.errors] == ["line 2: A1 is already bin A1's code or barcode",
                                            "line 3: X-1 is already bin A1's code or barcode"]
    with db.reading() as s:
        assert md.bin_by_code(s, "A1").barcode == "X-1"


def test_users_import_hashes_pins_and_never_stores_them_plain(db, actor):
    result = load(db, actor, "users", "badge,name,role,pin\nU1001,Ann,operator,1234\nS9001,Sam,Supervisor,987654\n")

    assert str(result) == "Imported 2 users (2 new, 0 updated)"
    with db.reading() as s:
        ann = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        sam = s.scalars(select(Operator).where(Operator.badge == "S9001")).one()
        assert "1234" not in ann.pin_hash and ann.pin_hash.startswith("scrypt$")
        assert verify_pin("1234", ann.pin_hash) and verify_pin("987654", sam.pin_hash)
        assert sam.role == "supervisor"
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "user_imported")) == 2


def test_users_reimport_without_pin_keeps_the_pin_and_changes_the_role(db, actor):
    load(db, actor, "users", "badge,name,role,pin\nU1001,Ann,operator,1234\n")

    load(db, actor, "users", "badge,role,pin\nU1001,supervisor,\n")

    with db.reading() as s:
        ann = s.scalars(select(Operator).where(Operator.badge == "U1001")).one()
        assert ann.role == "supervisor" and ann.name == "Ann"
        assert verify_pin("1234", ann.pin_hash)


def test_users_bad_pin_role_and_new_badge_without_pin_are_reported_without_the_pin(db, actor):
    err = failure(db, actor, "users", "badge,name,role,pin\nU1,A,operator,12a4\nU2,B,boss,1234\nU3,C,operator,98765432109876\n")

    text = str(err)
    assert "line 2: PIN must be 4 to 12 digits" in text
    assert "line 3: role must be operator or supervisor, not 'boss'" in text
    assert "line 4: PIN must be 4 to 12 digits" in text
    assert "12a4" not in text and "98765432109876" not in text
    assert count(db, Operator) == 0

    err = failure(db, actor, "users", "badge,pin\nU9,\n")
    assert "line 2: badge U9 is new and needs a PIN" in str(err)


def test_inbound_rows_with_the_same_ref_form_one_order_with_lines(site, actor):
    result = load(site, actor, "inbound",
                  "ref,supplier,sku,qty,lot,expiry\n"
                  "PO1,Acme Ltd,PLAIN,100,,\n"
                  "PO2,Beta,LOTTED,20,L7,2026-05-31\n"
                  "PO1,,SERIAL,3,,\n")

    assert str(result) == "Imported 2 inbound orders with 3 lines (2 new, 0 replaced)"
    with site.reading() as s:
        po1 = s.scalars(select(InboundOrder).where(InboundOrder.ref == "PO1")).one()
        assert po1.supplier == "Acme Ltd" and po1.status == "open"
        assert [(s.get(Item, line.item_id).sku, line.qty_expected) for line in po1.lines] == [("PLAIN", 100), ("SERIAL", 3)]
        line = s.scalars(select(InboundLine).join(InboundOrder).where(InboundOrder.ref == "PO2")).one()
        assert (line.lot, line.expiry) == ("L7", dt.date(2026, 5, 31))


def test_inbound_open_ref_is_replaced_but_a_closed_ref_is_refused(site, actor):
    load(site, actor, "inbound", "ref,sku,qty\nPO1,PLAIN,100\nPO1,BEST,5\n")

    result = load(site, actor, "inbound", "ref,sku,qty\nPO1,PLAIN,80\n")
    assert "0 new, 1 replaced" in str(result)
    with site.reading() as s:
        assert [line.qty_expected for line in s.scalars(select(InboundLine))] == [80]

    with site.transaction() as s:
        s.scalars(select(InboundOrder)).one().status = "closed"
    err = failure(site, actor, "inbound", "ref,sku,qty\nPO1,PLAIN,1\nPO1,BEST,2\nPO3,PLAIN,1\n")
    assert str(err).count("closed") == 1 and "line 2: inbound order PO1 is closed" in str(err)
    assert count(site, InboundOrder) == 1


def test_inbound_lot_for_an_item_without_lots_is_refused(site, actor):
    err = failure(site, actor, "inbound", "ref,sku,qty,lot\nPO1,PLAIN,1,L1\n")

    assert "line 2: SKU PLAIN is not lot-tracked — leave lot empty" in str(err)


def test_orders_import_groups_lines_and_keeps_header_values(site, actor):
    result = load(site, actor, "orders",
                  "ref,channel,ship_to,priority,sku,qty\n"
                  'SO1,web,"1 High St\nLeeds",5,PLAIN,2\n'
                  "SO1,,,,LOTTED,1\n"
                  "SO2,shop,Bristol,,BEST,3\n")

    assert str(result) == "Imported 2 orders with 3 lines (2 new, 0 replaced)"
    with site.reading() as s:
        so1 = s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "SO1")).one()
        assert (so1.channel, so1.ship_to, so1.priority, so1.status) == ("web", "1 High St\nLeeds", 5, "new")
        assert [line.qty for line in so1.lines] == [2, 1]
        assert s.scalars(select(OutboundOrder).where(OutboundOrder.ref == "SO2")).one().priority == 0


def test_orders_rows_of_one_ref_that_disagree_are_refused(site, actor):
    err = failure(site, actor, "orders", "ref,channel,ship_to,priority,sku,qty\nSO1,web,Leeds,1,PLAIN,1\nSO1,web,York,1,BEST,1\n")

    assert "line 3: ship_to 'York' differs from 'Leeds' on line 2 of order SO1" in str(err)
    assert count(site, OutboundOrder) == 0


def test_orders_released_order_cannot_be_replaced(site, actor):
    load(site, actor, "orders", "ref,sku,qty\nSO1,PLAIN,1\n")
    with site.transaction() as s:
        s.scalars(select(OutboundOrder)).one().status = "released"

    err = failure(site, actor, "orders", "ref,sku,qty\nSO1,PLAIN,5\n")

    assert "line 2: order SO1 is already released — it cannot be replaced" in str(err)
    with site.reading() as s:
        assert s.scalars(select(OutboundLine)).one().qty == 1


def test_stock_import_posts_opening_adjustments_and_check_holds(site, actor):
    result = import_file(site, "stock", DATA / "stock.csv", actor)

    assert str(result) == "Imported opening stock: 29 units in 7 rows (5 items, 3 bins)"
    with site.reading() as s:
        kinds = set(s.scalars(select(Movement.kind).distinct()))
        refs = set(s.scalars(select(Movement.doc_ref).distinct()))
        assert (kinds, refs) == ({"adjust"}, {"OPENING"})
        assert s.scalars(select(SerialUnit).where(SerialUnit.serial == "SN-002")).one().bin_id == md.bin_by_code(s, "A-01-01").id
        report = run_checks(s)
        assert report.ok, report.render()


def test_stock_round_trip_through_json_export_matches_the_file(site, actor):
    import_file(site, "stock", DATA / "stock.csv", actor)

    rows = exported(site, "stock")

    assert all(tuple(r) == EXPORT_KEYS["stock"] for r in rows)
    got = sorted((r["bin"], r["sku"], r["lot"], r["expiry"], r["qty"], r["owner"]) for r in rows)
    assert got == sorted([
        ("A-01-01", "PLAIN", None, None, 10, "MAIN"),
        ("A-01-01", "LOTTED", "L1", "2026-03-31", 5, "MAIN"),
        ("A-01-02", "LOTTED", "L2", "2026-06-30", 3, "MAIN"),
        ("A-01-02", "SERIAL", None, None, 1, "MAIN"),
        ("A-01-01", "SERIAL", None, None, 1, "MAIN"),
        ("A-01-02", "BEST", "2027-01-01", "2027-01-01", 7, "MAIN"),
        ("Q-01", "ACME-1", None, None, 2, "ACME"),
    ])
    serials = exported(site, "serials")
    assert sorted((r["serial"], r["bin"], r["status"]) for r in serials) == [("SN-001", "A-01-02", "in_stock"), ("SN-002", "A-01-01", "in_stock")]
    with site.reading() as s:
        assert run_checks(s).ok


def test_stock_tracking_rules_are_row_errors(site, actor):
    err = failure(site, actor, "stock",
                  "bin,sku,qty,lot,expiry,serial\n"
                  "A-01-01,LOTTED,5,,2026-03-31,\n"
                  "A-01-01,BEST,5,,,\n"
                  "A-01-01,SERIAL,2,,,SN9\n"
                  "A-01-01,SERIAL,1,,,\n"
                  "A-01-01,PLAIN,1,,,SN8\n"
                  "A-01-01,PLAIN,1,L1,,\n")

    text = str(err)
    assert "line 2: SKU LOTTED is lot-tracked — fill in lot" in text
    assert "line 3: SKU BEST needs an expiry date" in text
    assert "line 4: SKU SERIAL is serial-tracked — qty must be 1 (or empty) per serial, not 2" in text
    assert "line 5: SKU SERIAL is serial-tracked — fill in serial" in text
    assert "line 6: SKU PLAIN is not serial-tracked — leave serial empty" in text
    assert "line 7: SKU PLAIN is not lot-tracked — leave lot empty" in text
    assert err.total == 6
    assert count(site, Movement) == 0


def test_stock_duplicate_serial_in_the_file_names_both_lines(site, actor):
    err = failure(site, actor, "stock", "bin,sku,serial\nA-01-01,SERIAL,SN1\nA-01-02,SERIAL,SN2\nA-01-02,SERIAL,SN1\n")

    assert [str(e) for e in err.errors] == ["line 4: serial SN1 of SERIAL is already on line 2"]
    assert count(site, SerialUnit) == 0 and count(site, Quant) == 0


def test_stock_serial_already_in_stock_is_refused(site, actor):
    load(site, actor, "stock", "bin,sku,serial\nA-01-01,SERIAL,SN1\n")

    err = failure(site, actor, "stock", "bin,sku,serial\nA-01-02,SERIAL,SN2\nA-01-02,SERIAL,SN1\n")

    assert "line 3: serial SN1 of SERIAL is already in stock in A-01-01" in str(err)
    assert count(site, SerialUnit) == 1


def test_stock_loading_the_same_file_twice_is_refused(site, actor):
    import_file(site, "stock", DATA / "stock.csv", actor)

    with pytest.raises(ImportFailed) as caught:
        import_file(site, "stock", DATA / "stock.csv", actor)

    assert "line 2: A-01-01 already holds 10 of PLAIN" in str(caught.value)
    assert caught.value.total == 7
    assert count(site, Movement) == 7


def test_stock_ledger_refusal_becomes_a_row_error_and_nothing_is_posted(site, actor):
    # Each row is within the per-movement limit; the ledger refuses the quant that would overflow.
    rows = "".join("A-01-01,PLAIN,1000000000\n" for _ in range(11))

    err = failure(site, actor, "stock", "bin,sku,qty\n" + rows)

    assert [str(e) for e in err.errors] == ["line 12: PLAIN in A-01-01 would exceed 10,000,000,000 units"]
    assert count(site, Movement) == 0 and count(site, Quant) == 0


def test_stock_unknown_bin_and_sku_are_named(site, actor):
    err = failure(site, actor, "stock", "bin,sku,qty\nZ-99,PLAIN,1\nA-01-01,NOPE,1\n")

    assert "line 2: bin Z-99 is not known — import it with the bins first" in str(err)
    assert "line 3: SKU NOPE is not known — import it with the items first" in str(err)


# --------------------------------------------------------------------------- bad files and bad rows


def test_unknown_columns_are_named(db, actor):
    err = failure(db, actor, "items", "sku,description,colour,size\nA,B,red,L\n")

    assert "line 1: unknown columns 'colour', 'size'" in str(err)
    assert count(db, Item) == 0


def test_missing_required_columns_are_named(db, actor):
    err = failure(db, actor, "inbound", "ref,supplier,lot\nPO1,Acme,L1\n")

    assert "line 1: missing columns 'sku', 'qty'" in str(err)


def test_a_header_column_without_a_name_is_refused(db, actor):
    err = failure(db, actor, "items", "sku,description,\nA,B,\n")

    assert "line 1: column 3 of the header has no name — delete the empty column" in str(err)


def test_column_order_and_case_are_free(db, actor):
    load(db, actor, "bins", " Pick_Seq ,KIND,Code\n3,pick,P-1\n")

    with db.reading() as s:
        assert (md.bin_by_code(s, "P-1").pick_seq, md.bin_by_code(s, "P-1").kind) == (3, "pick")


def test_bad_gtin_check_digit_is_a_row_error(db, actor):
    err = failure(db, actor, "items", "sku,gtin\nA,09501101530003\nB,4006381333931|4006381333932\n")

    assert [str(e) for e in err.errors] == ["line 3: GTIN 4006381333932 has a wrong check digit (should end in 1)"]
    assert count(db, Item) == 0 and count(db, ItemCode) == 0


def test_gtin_already_used_by_another_item_is_refused(db, actor):
    load(db, actor, "items", "sku,gtin\nA,09501101530003\n")

    err = failure(db, actor, "items", "sku,gtin\nB,9501101530003\nC,96385074\nD,96385074\n")

    assert "line 2: GTIN 09501101530003 already belongs to SKU A" in str(err)
    assert "line 4: GTIN 00000096385074 is also given to SKU C on line 3" in str(err)
    assert count(db, Item) == 1


@pytest.mark.parametrize(
    ("qty", "message"),
    [
        ("0", "qty must be more than zero"),
        ("-5", "qty must be a positive whole number, not '-5'"),
        ("1.5", "qty must be a positive whole number, not '1.5'"),
        ("1.0", "qty must be a positive whole number, not '1.0'"),
        ("abc", "qty must be a positive whole number, not 'abc'"),
        ("1e3", "qty must be a positive whole number, not '1e3'"),
        ("1,000", "qty must be a positive whole number, not '1,000'"),
        ("1000000001", "qty 1,000,000,001 is too large (at most 1,000,000,000)"),
        ("9" * 5000, "too large"),
        ("", "qty is empty"),
    ],
)
def test_bad_quantities_are_row_errors(site, actor, qty, message):
    err = failure(site, actor, "orders", f'ref,sku,qty\nSO1,PLAIN,3\nSO1,BEST,"{qty}"\n')

    assert len(err.errors) == 1 and err.errors[0].line == 3
    assert message in err.errors[0].message
    assert count(site, OutboundOrder) == 0


def test_unknown_sku_is_a_row_error(site, actor):
    err = failure(site, actor, "inbound", "ref,sku,qty\nPO1,PLAIN,1\nPO1,GHOST,1\n")

    assert [str(e) for e in err.errors] == ["line 3: SKU GHOST is not known — import it with the items first"]
    assert count(site, InboundOrder) == 0


def test_bad_row_on_line_7_among_good_rows_is_named_and_nothing_is_imported(db, actor):
    rows = [f"B-{n:02d},,A,storage,{n}" for n in range(1, 10)]
    rows.insert(5, "B-BAD,,A,storage,first")  # the 6th data row: line 7 of the file
    content = "code,barcode,zone,kind,pick_seq\n" + "\n".join(rows) + "\n"

    err = failure(db, actor, "bins", content)

    assert [e.line for e in err.errors] == [7]
    assert "pick_seq must be a whole number from 0" in err.errors[0].message
    assert str(err).startswith("test.csv: nothing imported — 1 error:")
    assert count(db, Bin) == 0


def test_every_bad_row_is_reported_up_to_the_cap(db, actor):
    content = "code,pick_seq\n" + "".join(f"B{n},x\n" for n in range(MAX_REPORTED + 10))

    err = failure(db, actor, "bins", content)

    assert err.total == MAX_REPORTED + 10
    assert len(err.errors) == MAX_REPORTED
    assert [e.line for e in err.errors[:3]] == [2, 3, 4]
    assert str(err).endswith("… and 10 more")


def test_non_utf8_bytes_are_reported_with_their_line(db, actor):
    content = "sku,description\nA,plain\nB,Cr\xe8me br\xfbl\xe9e\n".encode("latin-1")

    err = failure(db, actor, "items", content)

    assert [str(e) for e in err.errors] == ["line 3: byte 0xE8 at position 5 is not UTF-8 — save the file as CSV UTF-8"]
    assert count(db, Item) == 0


def test_utf8_bom_is_tolerated_and_utf16_is_explained(db, actor):
    load(db, actor, "items", "\ufeffsku,description\nA,Crème\n".encode("utf-8"))
    with db.reading() as s:
        assert md.item_by_sku(s, "A").description == "Crème"

    err = failure(db, actor, "items", "sku\nB\n".encode("utf-16"))
    assert "UTF-16" in str(err)


def test_nul_bytes_are_an_error(db, actor):
    err = failure(db, actor, "items", b"sku,description\nA,x\x00y\n")

    assert "line 2: a NUL byte" in str(err)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf", b",,,\n"])
def test_an_empty_file_is_an_error_that_asks_for_the_header(db, actor, content):
    err = failure(db, actor, "items", content)

    assert "sku, description, gtin, uom, tracking, expiry, owner" in str(err)


def test_a_header_only_file_imports_nothing_and_says_so(db, actor):
    result = load(db, actor, "items", "sku,description\n\n", source="items.csv")

    assert str(result) == "Nothing imported: items.csv has a header but no rows"
    assert result.rows == 0 and count(db, Item) == 0


def test_ragged_rows_are_reported_and_later_rows_still_checked(db, actor):
    err = failure(db, actor, "items", "sku,description,uom\nA,Bolt, M8,EA\nB,Nut\nC,Washer,EA\nD,,EA,,\n")

    text = str(err)
    assert "line 2: 4 values but the header has 3 columns — a value holding a comma must be in double quotes" in text
    assert "line 3: 2 values but the header has 3 columns" in text
    assert "line 5: 5 values but the header has 3 columns" in text
    assert err.total == 3 and count(db, Item) == 0


def test_quoting_errors_are_reported_with_the_line(db, actor):
    err = failure(db, actor, "items", 'sku,description\nA,ok\nB,"unclosed\nC,more\n')
    assert "line 3: a quoted value starts here and its closing quote is missing" in str(err)

    err = failure(db, actor, "items", 'sku,description\nA,"5" bolt"\n')
    assert 'line 2: text after a closing quote — a quote inside a quoted value must be doubled ("")' in str(err)


def test_semicolon_separated_file_gets_a_hint(db, actor):
    err = failure(db, actor, "items", "sku;description\nA;B\n")

    assert "separated by ';' — save the file comma-separated" in str(err)


def test_dates_must_be_iso_and_real(site, actor):
    err = failure(site, actor, "inbound", "ref,sku,qty,lot,expiry\nPO1,LOTTED,1,L1,260331\nPO1,LOTTED,1,L1,2026-02-30\n")

    assert "line 2: expiry must be a date as YYYY-MM-DD (e.g. 2026-03-31), not '260331'" in str(err)
    assert "line 3: expiry 2026-02-30 is not a real date" in str(err)


def test_codes_with_control_characters_or_too_long_are_refused(db, actor):
    err = failure(db, actor, "items", f"sku,description\nA\x1bB,x\n{'S' * 65},y\n")

    assert "line 2: sku contains a control character" in str(err)
    assert "line 3: sku is longer than 64 characters" in str(err)


def test_a_missing_file_is_a_clear_error(db, actor, tmp_path):
    with pytest.raises(ImportFailed, match="cannot read the file: No such file or directory"):
        import_file(db, "items", tmp_path / "nope.csv", actor)


def test_an_unknown_kind_is_refused(db, actor):
    with pytest.raises(InvalidInput, match="cannot import 'pallets'"):
        load(db, actor, "pallets", "x\n1\n")


# --------------------------------------------------------------------------- exports


@pytest.fixture
def shipped(site, actor):
    """Stock, a packed order in a closed carton, an open carton, an exception and a recounted bin."""
    import_file(site, "stock", DATA / "stock.csv", actor)
    with site.transaction() as s:
        plain, lotted = md.item_by_sku(s, "PLAIN"), md.item_by_sku(s, "LOTTED")
        order = OutboundOrder(ref="SO1", status="packed")
        s.add(order)
        s.flush()
        line = OutboundLine(order_id=order.id, item_id=plain.id, qty=2)
        s.add(line)
        sealed, packing = md.container(s, "CTN-1", "carton"), md.container(s, "CTN-2", "carton")
        s.flush()
        c1 = Carton(container_id=sealed.id, order_id=order.id, sscc="009501101000000017", weight_kg=Decimal("1.250"), status="closed")
        c2 = Carton(container_id=packing.id, order_id=order.id, status="open")
        s.add_all([c1, c2])
        s.flush()
        s.add_all([CartonLine(carton_id=c1.id, order_line_id=line.id, item_id=plain.id, qty=2),
                   CartonLine(carton_id=c2.id, order_line_id=line.id, item_id=plain.id, qty=1)])
        s.add(WarehouseException(kind="short_pick", ref="SO1", detail="1 of PLAIN missing in A-01-01", status="open"))
        bin_ = md.bin_by_code(s, "A-01-01")
        task = CountTask(bin_id=bin_.id, status="review", attempt=2)
        empty_task = CountTask(bin_id=md.bin_by_code(s, "Q-01").id, status="open")
        s.add_all([task, empty_task])
        s.flush()
        l1 = md.lot(s, lotted, "L1")
        s.add_all([
            CountLine(task_id=task.id, item_id=plain.id, attempt=1, expected=10, counted=8),
            CountLine(task_id=task.id, item_id=plain.id, attempt=2, expected=10, counted=9),
            CountLine(task_id=task.id, item_id=lotted.id, lot_id=l1.id, attempt=2, expected=5, counted=5),
        ])
        # a unit of SO1 came back (issue 14): the returns export has a row
        from warehouse_tui.db.models import ReturnLine, ReturnOrder, ReturnReceipt

        ret = ReturnOrder(ref="RMA-1", order_id=order.id)
        s.add(ret)
        s.flush()
        ret_line = ReturnLine(return_id=ret.id, order_line_id=line.id, item_id=plain.id, qty_expected=1, qty_received=1)
        s.add(ret_line)
        s.flush()
        s.add(ReturnReceipt(line_id=ret_line.id, item_id=plain.id, qty=1, grade="good", reason="NOFIT", terminal="T1"))
    return site


@pytest.mark.parametrize("kind", list(EXPORT_KEYS))
def test_csv_and_json_exports_carry_exactly_the_design_keys(shipped, kind):
    as_json = exported(shipped, kind, "json")
    as_csv = exported(shipped, kind, "csv")

    assert as_json, f"the fixture should give {kind} rows"
    assert all(tuple(row) == EXPORT_KEYS[kind] for row in as_json)
    assert all(tuple(row) == EXPORT_KEYS[kind] for row in as_csv)
    assert [{k: ("" if v is None else str(v)) for k, v in row.items()} for row in as_json] == as_csv


def test_shipments_export_lists_sealed_cartons_only(shipped):
    rows = exported(shipped, "shipments")

    assert rows == [{"order": "SO1", "carton": "CTN-1", "sscc": "009501101000000017", "weight": 1.25,
                     "sku": "PLAIN", "qty": 2, "lot": None, "serial": None}]


def test_counts_export_shows_the_latest_attempt_and_tasks_without_lines(shipped):
    rows = exported(shipped, "counts")

    assert [(r["bin"], r["sku"], r["lot"], r["expected"], r["counted"], r["status"]) for r in rows] == [
        ("A-01-01", "PLAIN", None, 10, 9, "review"),
        ("A-01-01", "LOTTED", "L1", 5, 5, "review"),
        ("Q-01", None, None, None, None, "open"),
    ]


def test_ledger_export_gives_uuid_badge_and_iso_utc_time(shipped, actor):
    with shipped.transaction() as s:
        op = Operator(badge="U1001", name="Ann", pin_hash="x")
        s.add(op)
        s.flush()
        post(s, Actor(op, "T9"), kind="move", item=md.item_by_sku(s, "PLAIN"), qty=1,
             from_bin=md.bin_by_code(s, "A-01-01"), to_bin=md.bin_by_code(s, "A-01-02"), doc_ref="MV1")

    last = exported(shipped, "ledger")[-1]

    assert (last["kind"], last["from_bin"], last["to_bin"], last["operator"], last["terminal"], last["ref"]) == (
        "move", "A-01-01", "A-01-02", "U1001", "T9", "MV1")
    assert len(last["id"]) == 36
    assert last["at"].endswith("Z") and dt.datetime.fromisoformat(last["at"]).tzinfo is not None


def test_exports_of_an_empty_database_are_valid(db):
    assert exported(db, "stock", "json") == []
    out = io.StringIO()
    with db.reading() as s:
        export(s, "exceptions", "csv", out)
    assert out.getvalue() == "id,kind,ref,detail,status\n"


def test_export_streams_in_batches_instead_of_one_giant_write(site, actor, monkeypatch):
    import_file(site, "stock", DATA / "stock.csv", actor)
    monkeypatch.setattr(exporting, "BATCH", 2)
    for fmt in ("csv", "json"):
        writes: list[str] = []

        class Recorder(io.StringIO):
            def write(self, text):
                writes.append(text)
                return super().write(text)

        with site.reading() as s:
            assert export(s, "stock", fmt, Recorder()) == 7
        assert max(text.count("\n") for text in writes) <= 3, fmt  # a batch of 2 rows and its separators


def test_export_refuses_unknown_kind_or_format(db):
    with db.reading() as s, pytest.raises(InvalidInput, match="export format must be csv or json"):
        export(s, "stock", "xml", io.StringIO())
    with db.reading() as s, pytest.raises(InvalidInput, match="cannot export 'pallets'"):
        export(s, "pallets", "csv", io.StringIO())


# --------------------------------------------------------------------------- the command line


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse_tui.cli", *args], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "WAREHOUSE_TERMINAL": "T-CLI"})


def test_cli_import_exits_1_with_the_report_for_a_bad_file_and_0_for_a_good_one(tmp_path):
    dbpath = str(tmp_path / "cli.sqlite")
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,gtin,colour\nA,123,red\n", encoding="utf-8")

    run = cli("import", "items", str(bad), "--db", dbpath)
    assert run.returncode == 1
    assert "error: bad.csv: nothing imported" in run.stderr and "unknown column 'colour'" in run.stderr
    assert "Traceback" not in run.stderr

    run = cli("import", "items", str(DATA / "items.csv"), "--db", dbpath)
    assert run.returncode == 0, run.stderr
    assert "Imported 5 items" in run.stdout


def test_cli_stock_import_then_json_export_parses(tmp_path):
    dbpath = str(tmp_path / "cli.sqlite")
    for kind in ("items", "bins", "stock"):
        assert cli("import", kind, str(DATA / f"{kind}.csv"), "--db", dbpath).returncode == 0

    run = cli("export", "stock", "--format", "json", "--db", dbpath)

    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert sum(r["qty"] for r in rows) == 29
    assert cli("check", "--db", dbpath).returncode == 0


def test_cli_broken_bytes_give_an_error_not_a_traceback(tmp_path):
    dbpath = str(tmp_path / "cli.sqlite")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    run = cli("import", "stock", str(junk), "--db", dbpath)

    assert run.returncode == 1
    assert run.stderr.startswith("error: junk.csv: nothing imported") and "Traceback" not in run.stderr


@pytest.mark.postgres
def test_import_and_export_run_the_same_on_postgresql(pg_url, actor):
    from warehouse_tui.db.engine import Database

    db = Database(pg_url)
    try:
        for kind in ("items", "bins", "stock"):
            import_file(db, kind, DATA / f"{kind}.csv", actor)
        err = failure(db, actor, "stock", "bin,sku,serial\nRCV-01,SERIAL,SN-9\nRCV-01,SERIAL,SN-001\n")
        assert [str(e) for e in err.errors] == ["line 3: serial SN-001 of SERIAL is already in stock in A-01-02"]

        rows = exported(db, "stock")

        assert sum(r["qty"] for r in rows) == 29 and count(db, SerialUnit) == 2
        assert {r["expiry"] for r in rows} == {None, "2026-03-31", "2026-06-30", "2027-01-01"}
        with db.reading() as s:
            assert run_checks(s).ok
    finally:
        db.dispose()
