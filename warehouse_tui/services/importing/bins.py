"""Importing bins: codes, barcodes, zones, kinds and pick sequence."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from warehouse_tui.db.changes import note_changed
from warehouse_tui.db.models import Bin, BinKind
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.batch_ledger import insert_numbered
from warehouse_tui.services.importing.catalog import BinRef, bins_named
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress, changed_meanwhile, plural
from warehouse_tui.services.importing.values import BIN_KINDS, read_choice, read_code, read_integer, read_key


class BinsImport(Importer):
    kind = "bins"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.names: dict[str, tuple[int, str]] = {}  # code or barcode of accepted rows -> (line, bin code)
        self.found: dict[str, tuple[BinRef, ...]] = {}  # name -> the bins in the database it names (what the write reads again)
        self.barcodes: dict[int, str] = {}  # existing bins given a new barcode by the file: their old one is free
        self.new: list[tuple[str, str, str, str, int]] = []  # code, barcode, zone, kind, pick_seq
        self.changes: list[tuple[int, str, str, str, int]] = []  # id, barcode, zone, kind, pick_seq

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        names = set()
        for row in rows:
            code = read_key(row.values, "code")
            names.update({code, read_key(row.values, "barcode") or code} - {None})
        names -= self.found.keys()
        found = bins_named(session, names, self.postgres)
        self.found.update((name, found.get(name, ())) for name in names)
        found_errors = []
        for row in rows:
            try:
                self._row(row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _row(self, row: Row) -> None:
        v = row.values
        code = read_code(v, "code", required=True)
        barcode = read_code(v, "barcode") or code
        zone = read_code(v, "zone", 32)
        kind = read_choice(v, "kind", BIN_KINDS, BinKind.STORAGE.value)
        pick_seq = read_integer(v, "pick_seq", 0, 2**31 - 1)
        if code in self.names and self.names[code][1] == code:
            raise InvalidInput(f"bin {code} is already on line {self.names[code][0]}")
        for name in dict.fromkeys((code, barcode)):
            if name in self.names and self.names[name][1] != code:
                line, other = self.names[name]
                raise InvalidInput(f"{name} is already bin {other}'s code or barcode (line {line})")
        existing = None
        for found in sorted({b for name in (code, barcode) for b in self.found[name]}):
            if found.code == code:
                existing = found
                continue
            if found.id in self.barcodes and code != found.code and barcode != found.code:
                continue  # an earlier row gave it another barcode: the old one is free, the new one is in self.names
            name = barcode if barcode in (found.code, found.barcode) else code
            raise InvalidInput(f"{name} is already bin {found.code}'s code or barcode")
        if existing is None:
            self.new.append((code, barcode, zone, kind, pick_seq))
            self.created += 1
        else:
            self.changes.append((existing.id, barcode, zone, kind, pick_seq))
            if "barcode" in v and barcode != existing.barcode:
                self.barcodes[existing.id] = barcode
            self.updated += 1
        self.names[code] = (row.line, code)
        self.names[barcode] = (row.line, code)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        now = bins_named(session, set(self.found), self.postgres)
        changed = [f"bin {name}" for name, refs in self.found.items() if now.get(name, ()) != refs]
        if changed:
            raise changed_meanwhile(self.source, changed)
        conn = session.connection()
        # Existing bins first, in file order: a barcode one of them gives up may be a new bin's further down.
        columns = [c for c in ("barcode", "zone", "kind", "pick_seq") if c in self.columns]
        if self.changes and columns:
            table = Bin.__table__
            session.execute(update(table).where(table.c.id == bindparam("b_id")).values(**{c: bindparam(f"b_{c}") for c in columns}), [
                {"b_id": bin_id, "b_barcode": barcode, "b_zone": zone, "b_kind": kind, "b_pick_seq": pick_seq}
                for bin_id, barcode, zone, kind, pick_seq in self.changes])
        made = insert_numbered(conn, Bin.__table__, [{"code": code, "barcode": barcode, "zone": zone, "kind": kind, "pick_seq": pick_seq,
                                                      "blocked": False} for code, barcode, zone, kind, pick_seq in self.new])
        if self.upstream:
            note_changed(conn, [("bin", bin_id) for bin_id in made] + [("bin", bin_id) for bin_id, *_ in self.changes])
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} bin{plural(self.rows)} ({self.created} new, {self.updated} updated)")
