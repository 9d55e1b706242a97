"""ZPL II for Zebra-compatible label printers: a GS1 logistic label per carton and plain code labels.

The carton label is a 4x6 inch label at 203 dpi: ship-to, order, carton
number and weight in text, then the SSCC as a GS1-128 symbol (`^BC` in
subset C with FNC1: `>;>8` + "00" + SSCC) and its human-readable form
"(00) …" under it. Text from the database is escaped with `^FH` hex escapes,
so a ship-to address holding ^ or ~ can never become a printer command.
"""

from __future__ import annotations

from decimal import Decimal

from warehouse_tui.errors import InvalidInput
from warehouse_tui.labels.sscc import CartonLabel, element_string, hri

DOTS_WIDE = 812   # 4 in at 203 dpi
DOTS_HIGH = 1218  # 6 in
_ESCAPE = {"^": "_5E", "~": "_7E", "_": "_5F", "\\": "_5C"}

# Zebra ZPL II Programming Guide, ^BC (Code 128), table "Code 128 Invocation Characters"
# (Table 6 in 45541L-004 Rev. A, Table 7 in P1012728-011, Table 2 in the current
# zpl-zbi2-pm-en): in ^BC field data ">" and the next character are one invocation
# code, and the table's "Decimal Value" is the Code 128 symbol value it puts in the
# symbol. What a value means depends on the subset in force, as in the guide's
# "Code 128 Character Sets" table (ISO/IEC 15417): value 62 is "^" in subsets A and B,
# so "><" prints "^", and ">" itself is value 30, ">0".
BC_INVOCATION_CODES: dict[str, int] = {
    "><": 62, ">0": 30, ">=": 94, ">1": 95, ">2": 96, ">3": 97, ">4": 98,
    ">5": 99, ">6": 100, ">7": 101, ">8": 102, ">9": 103, ">:": 104, ">;": 105,
}
# Code 128 symbol values (ISO/IEC 15417) that are not data characters.
FNC1, START_A, START_B, START_C = 102, 103, 104, 105
_SWITCHES = {  # subset -> {value: subset it switches to}
    "A": {99: "C", 100: "B"},
    "B": {99: "C", 101: "A"},
    "C": {100: "B", 101: "A"},
}
_FUNCTIONS = {  # values a scanner transmits nothing for (FNC1 is handled apart): FNC2, FNC3, FNC4 and SHIFT
    "A": {96, 97, 98, 101},
    "B": {96, 97, 98, 100},
    "C": set(),
}
# The guide, same section: "Subset B is programmed directly as ASCII text, except for
# values greater than 94 decimal and a few special characters that must be programmed
# using the invocation codes. Those characters are: ^ > ~" (^ and ~ start ZPL commands).
_SUBSET_B_INVOCATIONS = {chr(value + 32): code for code, value in BC_INVOCATION_CODES.items()
                         if value < 95 and chr(value + 32) in "^>~"}


def code128_field_data(text: str) -> str:
    """^BC field data (mode N, no ^FH) that prints `text` as Code 128 in subset B, the ZPL default.

    Raises InvalidInput for text that is not printable ASCII (subset B holds nothing else).
    """
    if not (text and text.isascii() and text.isprintable()):
        raise InvalidInput(f"{text!r} cannot be printed as Code 128 — use letters, digits and - . /")
    return "".join(_SUBSET_B_INVOCATIONS.get(ch, ch) for ch in text)


def gs1_128_field_data(element_string: str) -> str:
    """^BC field data for a GS1 element string of fixed-length numeric AIs: subset C (">;") and FNC1 first (">8").

    Raises InvalidInput unless it is an even number of digits: in subset C the printer
    pairs digits and ignores an unpaired last one (guide, ^BC "Subsets A and C").
    """
    if not (element_string and element_string.isascii() and element_string.isdigit() and len(element_string) % 2 == 0):
        raise InvalidInput(f"GS1 element string must be an even number of digits, not {element_string!r}")
    return ">;>8" + element_string


def code128_symbol_values(data: str) -> list[int]:
    """The Code 128 symbol values (start character first, no check character) a printer's ^BC in
    mode N encodes for this field data (after any ^FH hex escapes are applied).

    Follows the guide: no start code means subset B; in subsets A and C the data is digit
    pairs, each pair one value. Raises ValueError for data a printer would not encode as
    written: a ">" that begins no invocation code, a start code inside the data, a
    character that is not a digit pair in subset A or C, an unpaired last digit.
    """
    values: list[int] = []
    subset = "B"
    i = 0
    if data[:2] in (">9", ">:", ">;"):
        values.append(BC_INVOCATION_CODES[data[:2]])
        subset = {">9": "A", ">:": "B", ">;": "C"}[data[:2]]
        i = 2
    else:
        values.append(START_B)
    while i < len(data):
        if data[i] == ">":
            code = data[i:i + 2]
            value = BC_INVOCATION_CODES.get(code)
            if value is None or value >= START_A:
                raise ValueError(f"{code!r} at {i} is not an invocation code inside ^BC data")
            values.append(value)
            subset = _SWITCHES[subset].get(value, subset)
            i += 2
        elif subset == "B":
            value = ord(data[i]) - 32
            if not 0 <= value < 95:
                raise ValueError(f"{data[i]!r} at {i} is not a subset B character")
            values.append(value)
            i += 1
        else:
            pair = data[i:i + 2]
            if len(pair) < 2 or pair[1] == ">":
                raise ValueError(f"unpaired digit {pair[0]!r} at {i} in subset {subset}")
            if not (pair.isascii() and pair.isdigit()):
                raise ValueError(f"{pair!r} at {i} is not a digit pair in subset {subset}")
            values.append(int(pair))
            i += 2
    return values


def read_code128_field_data(data: str) -> tuple[str, str]:
    """What a scanner reads from the symbol a printer makes of this ^BC field data:
    (AIM symbology identifier, text). FNC1 first is GS1-128, "]C1"; a later FNC1 reads
    as GS (0x1D); FNC2-4 and SHIFT are not supported and raise ValueError, as does
    anything `code128_symbol_values` refuses.
    """
    values = code128_symbol_values(data)
    subset = {START_A: "A", START_B: "B", START_C: "C"}[values[0]]
    identifier = "]C1" if values[1:2] == [FNC1] else "]C0"
    text = []
    for position, value in enumerate(values[1:], start=1):
        if value == FNC1:
            if position > 1:
                text.append("\x1d")
        elif value in _SWITCHES[subset]:
            subset = _SWITCHES[subset][value]
        elif value in _FUNCTIONS[subset] or value > FNC1:
            raise ValueError(f"Code 128 value {value} in subset {subset} is not supported here")
        elif subset == "C":
            text.append(f"{value:02d}")
        elif subset == "B":
            text.append(chr(value + 32))
        else:
            text.append(chr(value + 32) if value < 64 else chr(value - 64))
    return identifier, "".join(text)


def field_text(text: str) -> str:
    """Text for a `^FH_^FD…^FS` field: ZPL's command characters as hex escapes, no control characters."""
    out = []
    for ch in text:
        if ch in _ESCAPE:
            out.append(_ESCAPE[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(" ")
    return "".join(out)


def _text(x: int, y: int, size: int, text: str) -> str:
    return f"^FO{x},{y}^A0N,{size},{size}^FH_^FD{field_text(text)}^FS"


def _weight(weight_kg: Decimal | float | None) -> str:
    return "" if weight_kg is None else f"{Decimal(str(weight_kg)).normalize():f} kg"


def carton_label(label: CartonLabel) -> str:
    """One GS1 logistic label for a closed carton, as a ZPL document (^XA … ^XZ)."""
    address = [part.strip() for part in label.ship_to.split(",") if part.strip()][:5] or [""]
    lines = [
        "^XA",
        "^CI28",  # UTF-8 text: ship-to names are not ASCII everywhere
        f"^PW{DOTS_WIDE}",
        f"^LL{DOTS_HIGH}",
        _text(40, 40, 28, "SHIP TO"),
    ]
    lines += [_text(40, 80 + 45 * n, 40, part) for n, part in enumerate(address)]
    lines += [
        "^FO30,320^GB752,3,3^FS",
        _text(40, 345, 28, "ORDER"),
        _text(40, 380, 50, label.order_ref),
        _text(40, 450, 30, f"CARTON {label.carton_no}   {label.carton_code}"),
        _text(40, 490, 30, f"WEIGHT {_weight(label.weight_kg)}   UNITS {label.units}"),
        "^FO30,540^GB752,3,3^FS",
        _text(40, 565, 28, "SSCC"),
        _text(40, 600, 40, hri(label.sscc)),
        # ^BY3: 3-dot modules (0.375 mm at 203 dpi, inside GS1's range for logistic labels).
        f"^BY3^FO70,670^BCN,300,N,N,N^FD{gs1_128_field_data(element_string(label.sscc))}^FS",
        _text(150, 990, 40, hri(label.sscc)),
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def code_label(data: str, *, title: str, human: str, gs1: bool = False) -> str:
    """A 4x2 inch label: `title` above one Code 128 (GS1-128 for a GS1 element string), `human` under it."""
    # Every AI printed here (00, 01) is fixed-length and all digits; other codes go in subset B.
    symbol = gs1_128_field_data(data) if gs1 else code128_field_data(data)
    return "\n".join([
        "^XA",
        "^CI28",
        f"^PW{DOTS_WIDE}",
        "^LL406",
        _text(40, 30, 40, title),
        f"^BY3^FO40,90^BCN,200,N,N,N^FD{symbol}^FS",  # no ^FH: the field holds no ^ or ~ (see above)
        _text(40, 310, 34, human),
        "^XZ",
    ]) + "\n"
