"""ZPL II for Zebra-compatible label printers: a GS1 logistic label per carton and plain code labels.

The carton label is a 4x6 inch label: ship-to, order, carton number and
weight in text, then the SSCC as a GS1-128 symbol (`^BC` in subset C with
FNC1: `>;>8` + "00" + SSCC) and its human-readable form "(00) …" under it.
Labels are laid out for the printer's resolution (203, 300 or 600 dpi): the
module width is the narrowest whole number of dots that meets the X-dimension
GS1 sets for the symbol (labels/symbol_size.py). Text from the database is
escaped with `^FH` hex escapes, so a ship-to address holding ^ or ~ can never
become a printer command.
"""

from __future__ import annotations

from decimal import Decimal

from warehouse_tui.errors import InvalidInput
from warehouse_tui.labels import images, symbol_size
from warehouse_tui.labels.sscc import CartonLabel, element_string, hri

# Layouts are drawn in the dots of a 203 dpi (8 dots/mm) printer and scaled to the printer's.
LAYOUT_DPI = 203
DOTS_WIDE = 812   # 4 in at 203 dpi
DOTS_HIGH = 1218  # 6 in
# Format settings carry from one label to the next on the printer (ZPL II guide, vol. 2,
# "Format Settings"; ^PO and ^PM alike): a carrier label printed before ours may leave the
# label home, shift, reverse, orientation or mirror changed, so each of our labels sets them.
FORMAT_DEFAULTS = "^LH0,0^LS0^LRN^PON^PMN"
# ^BY's module width is 1 to 10 dots (ZPL II Programming Guide, ^BY; "Bar code: width in
# dots" MIN 1 MAX 10 in the guide's "Format Settings" table).
BY_MAX_MODULE_DOTS = 10
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


class _Layout:
    """A label drawn in the dots of a 203 dpi printer, printed at the printer's own resolution."""

    def __init__(self, dpi: int) -> None:
        self.dpi = symbol_size.check_dpi(dpi)

    def __call__(self, dots_at_203: int) -> int:
        return round(dots_at_203 * self.dpi / LAYOUT_DPI)

    def text(self, x: int, y: int, size: int, text: str) -> str:
        return _text(self(x), self(y), self(size), text)

    def rule(self, x: int, y: int, width: int) -> str:
        return f"^FO{self(x)},{self(y)}^GB{self(width)},{self(3)},{self(3)}^FS"

    def barcode(self, x: int, y: int, data: str, *, gs1: bool, height: int, label_width: int) -> str:
        """One Code 128 symbol (GS1-128 with FNC1 first when `gs1`) with its left edge at layout
        dots (x, y) and bars `height` printer dots high, at the module width symbol_size gives
        this resolution. Raises InvalidInput when it does not fit the label with its quiet zones.
        """
        module = symbol_size.module_dots(self.dpi, gs1=gs1)
        left = self(x)
        if module <= BY_MAX_MODULE_DOTS:
            field = gs1_128_field_data(data) if gs1 else code128_field_data(data)
            # start + data values, then the check character (11 modules each) and the stop (13)
            width = ((len(code128_symbol_values(field)) + 1) * 11 + 13) * module
            zpl = f"^BY{module}^FO{left},{self(y)}^BCN,{height},N,N,N^FD{field}^FS"  # no ^FH: no ^ or ~ in it
        else:
            # ^BY takes 1 to 10 dots (guide, ^BY): at 600 dpi GS1-128 needs 12, so the same
            # symbol is drawn as bars, one filled ^GB box per run of dark modules.
            pattern = images.modules(data, gs1=gs1)
            width = len(pattern) * module
            zpl = "".join(f"^FO{left + start * module},{self(y)}^GB{len(run) * module},{height},{len(run) * module}^FS"
                          for start, run in _dark_runs(pattern))
        quiet = symbol_size.QUIET_ZONE_MODULES * module
        if left < quiet or left + width + quiet > self(label_width):
            raise InvalidInput(f"{data!r} is too long for a {label_width / LAYOUT_DPI:.0f} inch label — "
                               "use a shorter code")
        return zpl


def _dark_runs(pattern: str) -> list[tuple[int, str]]:
    runs, start = [], None
    for i, module in enumerate(pattern + "0"):
        if module == "1" and start is None:
            start = i
        elif module == "0" and start is not None:
            runs.append((start, pattern[start:i]))
            start = None
    return runs


def carton_label(label: CartonLabel, *, dpi: int = LAYOUT_DPI) -> str:
    """One GS1 logistic label for a closed carton, as a ZPL document (^XA … ^XZ), for a printer of `dpi`."""
    at = _Layout(dpi)
    address = [part.strip() for part in label.ship_to.split(",") if part.strip()][:5] or [""]
    lines = [
        "^XA",
        FORMAT_DEFAULTS,
        "^CI28",  # UTF-8 text: ship-to names are not ASCII everywhere
        f"^PW{at(DOTS_WIDE)}",
        f"^LL{at(DOTS_HIGH)}",
        at.text(40, 40, 28, "SHIP TO"),
    ]
    lines += [at.text(40, 80 + 45 * n, 40, part) for n, part in enumerate(address)]
    lines += [
        at.rule(30, 320, 752),
        at.text(40, 345, 28, "ORDER"),
        at.text(40, 380, 50, label.order_ref),
        at.text(40, 450, 30, f"CARTON {label.carton_no}   {label.carton_code}"),
        at.text(40, 490, 30, f"WEIGHT {_weight(label.weight_kg)}   UNITS {label.units}"),
        at.rule(30, 540, 752),
        at.text(40, 565, 28, "SSCC"),
        at.text(40, 600, 40, hri(label.sscc)),
        # 300 layout dots is 37.5 mm, above GS1's 31.75 mm minimum at any resolution.
        at.barcode(70, 670, element_string(label.sscc), gs1=True, height=at(300), label_width=DOTS_WIDE),
        at.text(150, 990, 40, hri(label.sscc)),
        at.text(40, 1065, 28, "CARRIER"),
        at.text(40, 1100, 40, " ".join(p for p in (label.carrier, label.service) if p) or "-"),
        at.text(40, 1155, 34, f"TRACKING {label.tracking or '-'}"),
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def code_label(data: str, *, title: str, human: str, gs1: bool = False, dpi: int = LAYOUT_DPI) -> str:
    """A 4x2 inch label for a printer of `dpi`: `title` above one Code 128 (GS1-128 for a GS1
    element string), `human` under it. Raises InvalidInput for data that cannot be printed
    (see code128_field_data, gs1_128_field_data) or does not fit the label.
    """
    at = _Layout(dpi)
    bar_height = symbol_size.bar_height_dots(dpi, gs1=gs1)
    return "\n".join([
        "^XA",
        FORMAT_DEFAULTS,
        "^CI28",
        f"^PW{at(DOTS_WIDE)}",
        f"^LL{at(406)}",
        at.text(40, 25, 40, title),
        at.barcode(50, 75, data, gs1=gs1, height=bar_height, label_width=DOTS_WIDE),
        _text(at(40), at(75) + bar_height + at(12), at(34), human),
        "^XZ",
    ]) + "\n"
