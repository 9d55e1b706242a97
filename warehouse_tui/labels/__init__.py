"""Labels: SSCC carton labels and code labels as ZPL text, SVG or PNG pictures (python-barcode), written to files.

- `write_carton_label(label, directory)`: the files of one closed carton —
  `<sscc>.zpl` (the whole GS1 logistic label for a Zebra printer) and
  `<sscc>.svg` (the GS1-128 symbol "(00)<sscc>").
- `labels_for(kind, codes, fmt)`: labels for bins, items, LPNs or SSCCs in
  zpl, svg or png, as named file contents (what `warehouse-tui labels` prints).
- `write_labels(labels, directory)`: those files written, one per code, never one
  over another.

Printing to real printers (drivers' Printer, `--printer URL`) comes later; a
label file is what a printer driver will send.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warehouse_tui.config import data_dir
from warehouse_tui.errors import InvalidInput
from warehouse_tui.labels import images, symbol_size, zpl
from warehouse_tui.labels.sscc import CartonLabel, check_sscc, element_string, hri
from warehouse_tui.scan.gtin import has_valid_check_digit, looks_like_gtin

__all__ = ["CartonLabel", "LabelFile", "KINDS", "FORMATS", "label_directory", "labels_for", "write_carton_label",
           "write_labels", "element_string", "hri", "check_sscc"]

KINDS = ("bins", "items", "lpn", "sscc")
FORMATS = ("zpl", "svg", "png")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# A code that is its own file name: the same on every file system, case-blind ones too
# (Windows, macOS), and short enough that "<kind>-<code>.<ext>" stays far below 255 bytes.
_PLAIN_CODE = re.compile(r"[A-Z0-9._-]{1,80}")


@dataclass(frozen=True)
class LabelFile:
    """One label: the file name it is saved under, its content and the code it carries."""

    name: str
    data: bytes
    code: str = ""


def label_directory(label_dir: str = "") -> Path:
    """Where label files go: the configured directory, else `labels` in the user data directory."""
    return Path(label_dir) if label_dir else data_dir() / "labels"


def file_stem(code: str) -> str:
    """A code as part of a file name, one per code: the code itself when it is upper-case letters,
    digits and . _ - (at most 80); else the code with anything else as _, cut short, then "+" and
    a hash of the whole code, so LPN>03 and LPN_03 never share a file. "+" is never in a plain
    code, so a hashed stem cannot be another code's plain one.
    """
    if _PLAIN_CODE.fullmatch(code):
        return code
    readable = _UNSAFE.sub("_", code)[:40]
    return f"{readable}+{hashlib.sha256(code.encode('utf-8')).hexdigest()[:10]}"


def write_carton_label(label: CartonLabel, directory: Path, *, dpi: int = zpl.LAYOUT_DPI) -> list[Path]:
    """Write the carton's ZPL label (for a printer of `dpi`) and SVG symbol; returns the paths.
    Raises OSError when the directory cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = [
        LabelFile(f"{label.sscc}.zpl", zpl.carton_label(label, dpi=dpi).encode("utf-8")),
        LabelFile(f"{label.sscc}.svg", images.barcode_svg(element_string(label.sscc), text=_svg_text(label), gs1=True)),
    ]
    return [_write(directory, f) for f in files]


def _svg_text(label: CartonLabel) -> str:
    """The SSCC's human-readable form, then the carrier, service and tracking number when the order has them."""
    carrier = " ".join(p for p in (label.carrier, label.service) if p)
    tail = " · ".join(p for p in (carrier, f"tracking {label.tracking}" if label.tracking else "") if p)
    return hri(label.sscc) + (f" · {tail}" if tail else "")


def write_labels(labels: Sequence[LabelFile], directory: Path) -> list[Path]:
    """Write label files into `directory` (made if missing); returns the paths written, in order.

    A code given twice is written once. Two different codes that would share a file
    (names equal ignoring case, as on a case-blind file system) raise InvalidInput before
    anything is written: a label is never lost under another. Raises OSError when the
    directory cannot be written.
    """
    by_name: dict[str, LabelFile] = {}
    for label in labels:
        seen = by_name.setdefault(label.name.casefold(), label)
        if seen.code != label.code or seen.data != label.data:
            raise InvalidInput(f"Labels {seen.code!r} and {label.code!r} would both be written as {label.name} — "
                               "print them one at a time")
    directory.mkdir(parents=True, exist_ok=True)
    return [_write(directory, label) for label in by_name.values()]


def _write(directory: Path, label: LabelFile) -> Path:
    # Written beside and renamed: a printer spooler watching the directory never reads half a file.
    path = directory / label.name
    partial = directory / f".{label.name}.partial"
    partial.write_bytes(label.data)
    partial.replace(path)
    return path


def _symbol(kind: str, code: str) -> tuple[str, bool, str, str]:
    """(data, gs1, title, human-readable) of the barcode for one code of this kind."""
    if kind == "sscc":
        return element_string(code), True, "SSCC", hri(code)
    if kind == "lpn" and len(code) == 18 and code.isdigit() and has_valid_check_digit(code):
        return element_string(code), True, "LPN", hri(code)  # a pallet named by its SSCC is labelled as one
    if kind == "items" and looks_like_gtin(code) and has_valid_check_digit(code):
        gtin = code.zfill(14)
        return "01" + gtin, True, "ITEM", f"(01) {gtin}"
    title = {"bins": "BIN", "items": "ITEM", "lpn": "LPN"}[kind]
    return code, False, title, code


def labels_for(kind: str, codes: list[str] | tuple[str, ...], fmt: str, *, dpi: int = zpl.LAYOUT_DPI) -> list[LabelFile]:
    """One label per code: bins and LPNs as Code 128 of their code (an LPN that is an SSCC as GS1-128),
    items as GS1-128 (01) of their GTIN or Code 128 of an SKU, SSCCs as GS1-128 (00).

    For zpl the labels come as one file per code too, laid out for a printer of `dpi`;
    joined they are one print job. Raises InvalidInput for an unknown kind or format, a
    resolution other than 203, 300 or 600 dpi, a code that cannot be printed (an SSCC
    with a wrong check digit, a non-ASCII code, too long for the label) and png without Pillow.
    """
    if kind not in KINDS:
        raise InvalidInput(f"Labels are for {', '.join(KINDS)} — not {kind!r}")
    if fmt not in FORMATS:
        raise InvalidInput(f"Label format must be {', '.join(FORMATS)} — not {fmt!r}")
    symbol_size.check_dpi(dpi)
    out = []
    for code in codes:
        data, gs1, title, human = _symbol(kind, code)
        if fmt == "zpl":
            content = zpl.code_label(data, title=f"{title} {code}" if not gs1 else title, human=human, gs1=gs1,
                                     dpi=dpi).encode("utf-8")
        elif fmt == "svg":
            content = images.barcode_svg(data, text=human, gs1=gs1)
        else:
            content = images.barcode_png(data, text=human, gs1=gs1)
        out.append(LabelFile(f"{kind}-{file_stem(code)}.{fmt}", content, code))
    return out
