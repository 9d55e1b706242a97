"""GS1's own test vectors and biip's, read by the resolver at the item, lot, expiry, qty and tote prompts (issue 11).

The vectors are in tests/data/gs1_vectors.json, taken by
tests/data/extract_gs1_vectors.py from
- GS1's Barcode Syntax Engine, github.com/gs1/gs1-syntax-engine at commit
  50657dbd04ce78d8734e8793e054bf70dcba294b: src/c-lib/ai.c (test_ai_processAIdata,
  test_ai_validateAIs) and src/c-lib/dl.c (test_dl_parseDLuri);
- biip, github.com/jodal/biip at commit 701f78ee3018e1acf8c265e3d780b99252f19ac6:
  tests/test_gs1_messages.py, tests/test_gs1_digital_link_uris.py, tests/upc/test_parse.py.
Each vector names its file and line.

The resolver agrees with a vector when
- the source calls it valid: at no prompt is it refused as GS1 data (Gs1Refused);
  it may still be the wrong kind for a prompt ("holds no lot") or an unknown item;
- the source calls it invalid: no prompt reads a GS1 field from it, and when the
  resolver takes it for GS1 data (an identifier, a GS, the bracketed form, a URI
  naming a GS1 key, an unmarked start of 00 + 18 or 01/02 + 14 digits) every
  prompt refuses it as bad input (InvalidInput, mostly Gs1Refused): never
  "not found", never a new tote;
- a UPC-E (biip's): the item prompt finds the item of the GTIN it expands to.
Where it disagrees on purpose the vector is in DISAGREE with the reason, as a strict xfail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from warehouse_tui.db.engine import Database
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.scan import gs1
from warehouse_tui.scan.gs1 import Gs1Refused
from warehouse_tui.scan.resolver import resolve
from warehouse_tui.scan.types import RawScan, ScanKind
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.catalog import SqlCatalog

GS = "\x1d"
DATA = json.loads((Path(__file__).parent / "data" / "gs1_vectors.json").read_text("utf-8"))
VECTORS = DATA["vectors"]
PROMPTS = {"item": {ScanKind.ITEM}, "lot": {ScanKind.LOT}, "expiry": {ScanKind.EXPIRY}, "qty": {ScanKind.QTY},
           "tote": {ScanKind.CONTAINER}}
GS1_FIELDS = ("gtin", "lot", "expiry", "serial", "qty", "weight_kg")

# The engine tests these URIs both ways, with and without its PermitZeroSuppressedGTINinDLuris flag.
_SHORT_GTIN_IN_PATH = ("a GTIN-8/12/13 in a Digital Link path is zero-filled (biip, and biip's own vector "
                       "test_gs1_digital_link_uris.py:42): the engine's verdict with its flag on, not this one")
_SHORT_GTIN_IN_QUERY = ("a GTIN-8/13 as a query attribute (?01=…) is refused (biip): the engine's verdict with its "
                        "flag off, not this one")
# file:line of the vector -> why the resolver disagrees with it.
DISAGREE = {
    "ai.c:1766": "test_ai_processAIdata checks syntax only; the dictionary's req= for (10) names (01), (02), (03), "
                 "(8006) or (8026), not (8003), and the resolver applies it",
    "ai.c:2059": "the engine test permits unknown AIs; biip knows no AI (89), so the scan is refused",
    "dl.c:1392": "the host part of a Digital Link is not checked (an IPv6 zone id is accepted)",
    "dl.c:1426": "biip takes the first key-like segment (/00/faux) as the key; GS1's engine skips a path prefix",
    "dl.c:1454": _SHORT_GTIN_IN_PATH, "dl.c:1464": _SHORT_GTIN_IN_PATH, "dl.c:1474": _SHORT_GTIN_IN_PATH,
    "dl.c:1484": _SHORT_GTIN_IN_QUERY, "dl.c:1494": _SHORT_GTIN_IN_QUERY,
    "dl.c:1767": "unknown AI (89) as a query attribute: valid only with the engine's vUNKNOWN_AI_NOT_DL_ATTR check "
                 "switched off; the same URI is invalid at dl.c:1757 and dl.c:1763, as here",
    "test_parse.py:34": "a 7-digit UPC-E (no check digit) is not expanded: only 6 and 8 digits, or ]E0",
}


@pytest.fixture(scope="module")
def catalog_db(tmp_path_factory):
    database = Database(tmp_path_factory.mktemp("vectors") / "warehouse.sqlite")
    with database.transaction() as s:
        for n, gtin in enumerate(sorted({_upc_e_gtin(v["data"]) for v in VECTORS if v["form"] == "upc"})):
            md.add_item(s, f"UPC-E-{n}", gtins=[gtin])
    yield database
    database.dispose()


def _upc_e_gtin(text: str) -> str:
    from biip.upc import Upc

    return Upc.parse(text).as_gtin_14()


def _raw(vector: dict) -> RawScan:
    data = vector["data"]
    if vector["form"] == "aim":  # "^" is FNC1: first the GS1 symbology identifier, later a GS separator
        return RawScan(data[1:].replace("^", GS), "C1")
    if vector["form"] == "dl":
        return RawScan(data, "Q1")
    return RawScan(data)


def _outcome(db: Database, raw: RawScan, expects: set[ScanKind]):
    with db.reading() as session:
        try:
            return resolve(raw, frozenset(expects), SqlCatalog(session))
        except WarehouseError as exc:
            return exc


def _disagreement(db: Database, vector: dict) -> str | None:
    raw = _raw(vector)
    outcomes = {name: _outcome(db, raw, expects) for name, expects in PROMPTS.items()}
    if vector["form"] == "upc":
        item = outcomes["item"]
        found = getattr(item, "gtin", None) == _upc_e_gtin(vector["data"]) and getattr(item, "sku", None)
        return None if found else f"item prompt: {item!r}"
    seen_as_gs1 = _seen_as_gs1(raw)
    for name, outcome in outcomes.items():
        refused_as_gs1 = isinstance(outcome, Gs1Refused)
        if vector["valid"] and refused_as_gs1:
            return f"{name} prompt refused it: {outcome}"
        if not vector["valid"] and seen_as_gs1 and not isinstance(outcome, InvalidInput):
            return f"{name} prompt did not refuse it: {outcome!r}"
        if not vector["valid"] and not isinstance(outcome, WarehouseError):
            read = {field: getattr(outcome, field) for field in GS1_FIELDS if getattr(outcome, field) is not None}
            if read and outcome.value != raw.text:  # a lot or quantity taken as typed is no GS1 field
                return f"{name} prompt read GS1 fields {read}"
    return None


def _seen_as_gs1(raw: RawScan) -> bool:
    """Whether the resolver takes this scan for GS1 data: a GS1 identifier, a GS, the bracketed form, a URI
    naming a GS1 key, or an unmarked start of AI 00 + 18 / 01, 02 + 14 digits."""
    return gs1.explicit_form(raw.text, raw.symbology) is not None or gs1.starts_as_gs1(raw.text)


def _where(vector: dict) -> str:
    return re.search(r"([\w.]+:[0-9]+)", vector["source"])[1]


def _params():
    for vector in VECTORS:
        why = DISAGREE.get(_where(vector))
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        yield pytest.param(vector, id=f"{_where(vector)}-{'ok' if vector['valid'] else 'bad'}", marks=marks)


def test_every_known_disagreement_names_a_vector():
    assert set(DISAGREE) <= {_where(vector) for vector in VECTORS}


@pytest.mark.parametrize("vector", list(_params()))
def test_the_resolver_agrees_with_the_reference_vector(catalog_db, vector):
    assert _disagreement(catalog_db, vector) is None, (vector["data"], vector["note"])
