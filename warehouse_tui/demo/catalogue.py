"""What the demo warehouse holds: logins, references, items, customers and orders (data, no database)."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse_tui.db.models import Role, Tracking
from warehouse_tui.scan.gtin import gs1_check_digit
from warehouse_tui.services import masterdata as md

SEED = 20261127
OPERATOR_BADGE, OPERATOR_PIN = "U1001", "1234"
SUPERVISOR_BADGE, SUPERVISOR_PIN = "S9001", "9999"
LOGINS = (
    (OPERATOR_BADGE, OPERATOR_PIN, Role.OPERATOR.value, "Maria Lopez"),
    (SUPERVISOR_BADGE, SUPERVISOR_PIN, Role.SUPERVISOR.value, "Sam Keller"),
)
CLIENT_OWNER = "NORDIC"
BLOCKED_BIN = "B-02-07-3"
OPENING_REF = "OPENING"
BENCH_OPENING_REF = "BENCH-OPENING"
SETUP_TERMINAL = "DEMO-SETUP"


def gtin13(payload12: str) -> str:
    """A GTIN-13 (EAN-13) from its first 12 digits."""
    return payload12 + str(gs1_check_digit(payload12))


def gtin14(payload13: str) -> str:
    """A GTIN-14 from its first 13 digits (indicator digit first)."""
    return payload13 + str(gs1_check_digit(payload13))


def logins_text() -> str:
    return "\n".join(f"  badge {badge}  PIN {pin}  {role} ({name})" for badge, pin, role, name in LOGINS)


@dataclass(frozen=True)
class DemoItem:
    sku: str
    description: str
    zone: str
    tracking: str = Tracking.NONE.value
    expiry: bool = False
    uom: str = "EA"
    owner: str = md.DEFAULT_OWNER
    alias: str | None = None
    upc: str | None = None  # a second GTIN: the 11 digits of a UPC-A before its check digit
    stock: bool = True


N, L, S = Tracking.NONE.value, Tracking.LOT.value, Tracking.SERIAL.value

DEMO_ITEMS: tuple[DemoItem, ...] = (
    # Zone A: office supplies, tools, electronics (MAIN)
    DemoItem("TAPE-48", "Packing tape clear 48 mm x 66 m", "A", alias="SUP-ACM-4866"),
    DemoItem("PAPER-A4", "Copy paper A4 80 g, box of 5 reams", "A", uom="CS"),
    DemoItem("MARKER-BLK", "Permanent marker black", "A", alias="SUP-ACM-1101"),
    DemoItem("STAPLER", "Desk stapler 25 sheets", "A"),
    DemoItem("SCISSORS-21", "Office scissors 21 cm", "A"),
    DemoItem("NOTEBOOK-A5", "Notebook A5 ruled 96 pages", "A"),
    DemoItem("CABLE-TIE-200", "Cable ties 200 mm, bag of 100", "A", alias="SUP-FAS-0200"),
    DemoItem("BATT-AA-4", "Batteries AA alkaline, pack of 4", "A", upc="07638900411"),
    DemoItem("USBC-1M", "USB-C cable 1 m", "A"),
    DemoItem("HDMI-2M", "HDMI cable 2 m", "A"),
    DemoItem("LED-E27-9W", "LED bulb E27 9 W warm white", "A", upc="04603204811"),
    DemoItem("SCREWDRIVER-6", "Screwdriver set, 6 pieces", "A"),
    DemoItem("HEXKEY-MET", "Hex key set metric 1.5-10 mm", "A"),
    DemoItem("TAPE-MEAS-5", "Measuring tape 5 m", "A"),
    DemoItem("DRILL-18V", "Cordless drill 18 V", "A", tracking=S, alias="SUP-PWR-18V"),
    DemoItem("SCANNER-2D", "Handheld 2D barcode scanner", "A", tracking=S),
    DemoItem("LAPTOP-14", "Laptop 14 inch, 16 GB", "A", tracking=S),
    DemoItem("LABELPRN-4", "Label printer 4 inch thermal", "A", tracking=S),
    DemoItem("TABLET-10", "Tablet 10 inch, 64 GB", "A", tracking=S),
    # Zone B: general merchandise (MAIN)
    DemoItem("STRETCH-500", "Stretch film 500 mm, case of 6 rolls", "B", uom="CS"),
    DemoItem("GLOVES-L", "Work gloves size L", "B"),
    DemoItem("GLASSES-CLR", "Safety glasses clear", "B"),
    DemoItem("DUCT-SILVER", "Duct tape silver 50 m", "B"),
    DemoItem("EXT-CORD-5", "Extension cord 5 m, 3 sockets", "B"),
    DemoItem("WALLPLUG-6", "Wall plugs 6 mm, box of 100", "B", alias="SUP-FAS-0600"),
    DemoItem("SCREW-4X40", "Wood screws 4 x 40 mm, box of 200", "B"),
    DemoItem("SWITCH-WHT", "Light switch white", "B"),
    DemoItem("BOTTLE-750", "Water bottle 750 ml", "B"),
    DemoItem("MUG-300", "Coffee mug 300 ml", "B"),
    DemoItem("BOTTLE-750-CS", "Water bottle 750 ml, case of 24", "B", uom="CS"),
    DemoItem("PAINT-WHT-2L5", "Wall paint white 2.5 l", "B", tracking=L),
    DemoItem("GROUT-GREY-5", "Tile grout grey 5 kg", "B", tracking=L),
    DemoItem("SANITISER-500", "Hand sanitiser 500 ml", "B", expiry=True),
    DemoItem("SUNSCREEN-50", "Sunscreen SPF 50, 200 ml", "B", tracking=L, expiry=True),
    # Zone C: food (MAIN)
    DemoItem("OLIVE-OIL-1L", "Olive oil extra virgin 1 l", "C", tracking=L, expiry=True, alias="SUP-MED-OO1"),
    DemoItem("ESPRESSO-1K", "Espresso beans 1 kg", "C", tracking=L, expiry=True),
    DemoItem("TEA-GREEN-20", "Green tea, 20 bags", "C", tracking=L, expiry=True),
    DemoItem("PASTA-PENNE", "Pasta penne 500 g", "C", tracking=L, expiry=True),
    DemoItem("PASTA-PENNE-CS", "Pasta penne 500 g, case of 12", "C", tracking=L, expiry=True, uom="CS"),
    DemoItem("PASSATA-700", "Tomato passata 700 g", "C", tracking=L, expiry=True),
    DemoItem("PROTEIN-BAR", "Protein bar chocolate 60 g", "C", tracking=L, expiry=True),
    DemoItem("OAT-MILK-1L", "Oat milk 1 l", "C", tracking=L, expiry=True),
    DemoItem("VITC-1000", "Vitamin C 1000 mg, 60 tablets", "C", tracking=L, expiry=True),
    DemoItem("SOAP-BAR", "Soap bar 100 g", "C", expiry=True),
    # The 3PL client's goods (NORDIC), zone C
    DemoItem("NO-BOOT-42", "Hiking boots, size 42", "C", owner=CLIENT_OWNER),
    DemoItem("NO-BOOT-44", "Hiking boots, size 44", "C", owner=CLIENT_OWNER),
    DemoItem("NO-POLES", "Trekking poles, pair", "C", owner=CLIENT_OWNER, alias="NOC-11873"),
    DemoItem("NO-TENT-2P", "Tent, 2 person", "C", owner=CLIENT_OWNER),
    DemoItem("NO-BAG-5", "Sleeping bag, -5 °C", "C", owner=CLIENT_OWNER),
    DemoItem("NO-LAMP-300", "Headlamp 300 lm", "C", owner=CLIENT_OWNER),
    DemoItem("NO-JACKET-M", "Rain jacket, size M", "C", owner=CLIENT_OWNER),
    DemoItem("NO-STOVE", "Camping stove, gas", "C", tracking=S, owner=CLIENT_OWNER, stock=False),
    DemoItem("NO-FILTER", "Water filter, hollow fibre", "C", tracking=S, owner=CLIENT_OWNER),
    DemoItem("NO-MEAL-CHILI", "Freeze-dried meal, chili con carne", "C", tracking=L, expiry=True, owner=CLIENT_OWNER),
    DemoItem("NO-GEL-CITRUS", "Energy gel citrus, 40 g", "C", tracking=L, expiry=True, owner=CLIENT_OWNER),
)

# GS1 company prefixes: the warehouse's own brand and the 3PL client's supplier.
GS1_PREFIX = {md.DEFAULT_OWNER: "9501101", CLIENT_OWNER: "5901234"}
# Zone layout: (aisles, bays per aisle, levels).
ZONES = {"A": (3, 10, 3), "B": (3, 10, 4), "C": (3, 10, 4)}
SERIAL_PREFIX = {"DRILL-18V": "DR18", "SCANNER-2D": "SC2D", "LAPTOP-14": "LT14", "LABELPRN-4": "LP4T",
                  "TABLET-10": "TB10", "NO-STOVE": "NSTV", "NO-FILTER": "NFLT"}

CUSTOMERS = (
    "Jana Novak, Hauptstrasse 12, 10115 Berlin, DE",
    "Ole Hansen, Storgata 5, 0155 Oslo, NO",
    "Buildright Ltd, Unit 4 Riverside Park, Leeds LS11 5DR, GB",
    "Store 031, Marktplatz 3, 80331 Munich, DE",
    "Camille Martin, 18 rue de la Paix, 75002 Paris, FR",
    "Officeline BV, Keizersgracht 221, 1016 DV Amsterdam, NL",
    "Lucia Rossi, Via Roma 44, 20121 Milan, IT",
    "Erik Lind, Drottninggatan 80, 111 36 Stockholm, SE",
    "Peak Adventures AS, Kongens gate 9, 7011 Trondheim, NO",
    "Tomas Horak, Na Prikope 15, 110 00 Prague, CZ",
)
# (channel, priority, skus) per order; NORDIC items go out on the client's own channel only.
ORDERS = (
    ("webshop", 1, ("BATT-AA-4", "USBC-1M")),
    ("webshop", 5, ("DRILL-18V", "SCREW-4X40", "WALLPLUG-6")),
    ("b2b", 1, ("GLOVES-L", "GLASSES-CLR", "DUCT-SILVER", "STRETCH-500")),
    ("retail-store", 3, ("OLIVE-OIL-1L", "ESPRESSO-1K", "PASTA-PENNE", "TEA-GREEN-20")),
    ("marketplace", 9, ("LED-E27-9W",)),
    ("b2b", 3, ("PAPER-A4", "NOTEBOOK-A5", "MARKER-BLK", "STAPLER")),
    ("webshop", 1, ("SUNSCREEN-50", "BOTTLE-750")),
    ("marketplace", 5, ("SCANNER-2D", "LABELPRN-4")),
    ("nordic-webshop", 9, ("NO-BOOT-42", "NO-LAMP-300", "NO-MEAL-CHILI")),
    ("nordic-webshop", 1, ("NO-TENT-2P", "NO-BAG-5", "NO-FILTER", "NO-GEL-CITRUS")),
)
