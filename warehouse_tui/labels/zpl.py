"""ZPL II for Zebra-compatible label printers: a GS1 logistic label per carton and plain code labels.

The carton label is a 4x6 inch label at 203 dpi: ship-to, order, carton
number and weight in text, then the SSCC as a GS1-128 symbol (`^BC` in
subset C with FNC1: `>;>8` + "00" + SSCC) and its human-readable form
"(00) …" under it. Text from the database is escaped with `^FH` hex escapes,
so a ship-to address holding ^ or ~ can never become a printer command.
"""

from __future__ import annotations

from decimal import Decimal

from warehouse_tui.labels.sscc import CartonLabel, hri

DOTS_WIDE = 812   # 4 in at 203 dpi
DOTS_HIGH = 1218  # 6 in
_ESCAPE = {"^": "_5E", "~": "_7E", "_": "_5F", "\\": "_5C"}


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
        f"^BY3^FO70,670^BCN,300,N,N,N^FD>;>800{label.sscc}^FS",
        _text(150, 990, 40, hri(label.sscc)),
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def code_label(data: str, *, title: str, human: str, gs1: bool = False) -> str:
    """A 4x2 inch label: `title` above one Code 128 (GS1-128 for a GS1 element string), `human` under it."""
    if gs1:
        # Subset C with FNC1 first; every AI printed here (00, 01) is fixed-length and all digits.
        symbol = f">;>8{data}"
    else:
        symbol = field_text(data).replace(">", "><")  # ">" starts ^BC invocation codes; "><" is a literal ">"
    return "\n".join([
        "^XA",
        "^CI28",
        f"^PW{DOTS_WIDE}",
        "^LL406",
        _text(40, 30, 40, title),
        f"^BY3^FO40,90^BCN,200,N,N,N^FH_^FD{symbol}^FS",
        _text(40, 310, 34, human),
        "^XZ",
    ]) + "\n"
