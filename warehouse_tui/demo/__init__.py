"""Demo and benchmark warehouses: `warehouse-tui demo` and `warehouse-tui demo --large` (not services).

The demo warehouse (`build_demo`) is a small site to try every workflow on:

- Dock: receiving bins RCV-01 and RCV-02, a staging lane STAGE-01; packing
  station PACK-01; shipping door SHIP-01.
- Three racked zones, bins named zone-aisle-bay-level (A-01-02-1 is zone A,
  aisle 01, bay 02, level 1). Level 1 is the pick face (kind pick), the levels
  above are reserve storage. A is the fast-moving zone (office, tools and
  electronics), B the general zone, C the food and outdoor zone. pick_seq runs
  in walking order: zone A, B, C; aisles in a serpentine (odd aisles up the
  bays, even aisles back down); levels bottom up. Bin B-02-07-3 is blocked
  (damaged beam) and empty.
- Two owners: MAIN (the warehouse's own stock) and NORDIC (Nordic Outdoor Co.,
  a 3PL client). About fifty items of every kind: untracked, lot-tracked with
  expiry (food, cosmetics), lot-tracked without expiry (paint batches),
  expiry-dated without lots (lots named by the date), serial-tracked
  (drills, scanners, laptops, stoves); some sold by the case (uom CS) with a
  GTIN-14. Every GTIN has a valid GS1 check digit; some items carry a second
  GTIN (a US supplier's UPC-A) or a supplier code as alias.
- Opening stock in pick faces and reserve posted through the ledger (doc
  OPENING), including lots near expiry and the older lot of oat milk
  (OAT-MILK-1L), expired 20 days before the build date, still on the shelf. Serial items have units in
  stock. Empty totes TOTE-0001..TOTE-0020.
- Three open inbound documents: PO-1001 (office supplies, partly received:
  an SSCC pallet and loose cartons wait in RCV-01 for putaway), PO-1002 (food,
  lines with lot and expiry) and ASN-2001 (the 3PL client's goods, with lots,
  expiry dates and serial-tracked stoves).
- Ten outbound orders ORD-10001..ORD-10010 from the webshop, a marketplace,
  B2B customers, a retail store and the 3PL client's webshop, with
  priorities 1 (normal) to 9 (same day); all of them can be picked from stock.
- Returns (issue 14, demo/returns.py): a returns bin RET-01 and a quarantine
  bin QUA-01; order ORD-20001 shipped in carton CTN-20001 (SSCC
  909501100000000014) and the customer's RMA-30001 for part of it.
- Pick faces with min/max for six zone A and B items (small.FACE_SKUS), and
  ORD-10011, which wants 5 more of one of them than its face holds: its wave
  raises a replenishment from reserve first and the pick waits for it.

Logins (also in the README):

    badge U1001, PIN 1234  operator   (Maria Lopez)
    badge S9001, PIN 9999  supervisor (Sam Keller)

The large warehouse (`build_large`) is the benchmark size of DESIGN §9
(100,000 items, 50,000 bins, 1,000,000 quants by default), loaded in bulk
with the driver's executemany and INSERT ... SELECT; every quant has its
opening movement (kind adjust, doc BENCH-OPENING) and outbox entry, so
`warehouse-tui check` holds on it.

Both are deterministic (seeded random); dates are relative to the build day.

The package: `catalogue` (what the demo holds: items, customers, orders,
logins), `small` (the demo warehouse, built through the services), `large`
(the benchmark warehouse and its progress on stderr), `bulk_load` (the raw
sqlite3 loader behind it) and `files` (refusing, building beside and putting
database files in place).
"""

from __future__ import annotations

from warehouse_tui.demo.catalogue import (
    BENCH_OPENING_REF,
    BLOCKED_BIN,
    CLIENT_OWNER,
    DEMO_ITEMS,
    LOGINS,
    OPENING_REF,
    OPERATOR_BADGE,
    OPERATOR_PIN,
    SEED,
    SETUP_TERMINAL,
    SUPERVISOR_BADGE,
    SUPERVISOR_PIN,
    DemoItem,
    gtin13,
    gtin14,
)
from warehouse_tui.demo.files import holds_warehouse, remove_sqlite_file
from warehouse_tui.demo.large import build_large
from warehouse_tui.demo.returns import DEMO_RETURN_ORDER, DEMO_RETURN_SSCC, DEMO_RMA
from warehouse_tui.demo.small import build_demo

__all__ = [
    "BENCH_OPENING_REF", "BLOCKED_BIN", "CLIENT_OWNER", "DEMO_ITEMS", "LOGINS", "OPENING_REF", "OPERATOR_BADGE",
    "OPERATOR_PIN", "SEED", "SETUP_TERMINAL", "SUPERVISOR_BADGE", "SUPERVISOR_PIN", "DemoItem", "build_demo",
    "build_large", "gtin13", "gtin14", "holds_warehouse", "remove_sqlite_file",
    "DEMO_RETURN_ORDER", "DEMO_RETURN_SSCC", "DEMO_RMA",
]
