"""Importing pick-face settings: bin,sku,min,max — a pick bin holds one SKU, kept between min and max by replenishment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, BinKind, Item, PickFace, Quant
from warehouse_tui.errors import InvalidInput, WarehouseError
from warehouse_tui.services.batch_ledger import chunks
from warehouse_tui.services.importing.catalog import Catalog
from warehouse_tui.services.importing.csv_file import Row
from warehouse_tui.services.importing.importer import Importer
from warehouse_tui.services.importing.results import ImportResult, Problems, Progress, plural
from warehouse_tui.services.importing.values import read_code, read_integer, read_key
from warehouse_tui.services.ledger import MAX_QTY


class PickFacesImport(Importer):
    """A row per face; an existing face's SKU, min and max are replaced (faces are few: written through the ORM)."""

    kind = "pickfaces"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.catalog = Catalog()
        self.faces: dict[int, tuple[int, int, int, int]] = {}  # bin id -> (line, item id, min, max)
        self.bin_kinds: dict[int, str] = {}

    def check(self, session: Session, rows: list[Row], problems: Problems) -> None:
        self.catalog.load(session, self.postgres, skus=(read_key(r.values, "sku") for r in rows),
                          bins=(read_key(r.values, "bin") for r in rows))
        ids = [b.id for b in self.catalog.bins_by_id.values() if b.id not in self.bin_kinds]
        for chunk in chunks(ids):
            self.bin_kinds.update(session.execute(select(Bin.id, Bin.kind).where(Bin.id.in_(chunk))).all())
        found_errors = []
        for row in rows:
            try:
                self._row(session, row)
            except WarehouseError as exc:
                found_errors.append((row.line, str(exc)))
        problems.add_sorted(found_errors)

    def _row(self, session: Session, row: Row) -> None:
        v = row.values
        bin_ = self.catalog.bin(read_code(v, "bin", required=True))
        item = self.catalog.item(read_code(v, "sku", required=True))
        low, high = read_integer(v, "min", 1, MAX_QTY, 0), read_integer(v, "max", 1, MAX_QTY, 0)
        if low < 1 or high < 1:
            raise InvalidInput("min and max must be whole numbers of at least 1")
        if low >= high:
            raise InvalidInput(f"min {low} must be less than max {high}")
        if self.bin_kinds.get(bin_.id) != BinKind.PICK.value:
            raise InvalidInput(f"bin {bin_.code} is a {self.bin_kinds.get(bin_.id)} bin, not a pick bin")
        if bin_.id in self.faces:
            raise InvalidInput(f"bin {bin_.code} is already on line {self.faces[bin_.id][0]} — a face holds one SKU")
        other = session.execute(select(Item.sku).join(Quant, Quant.item_id == Item.id)
                                .where(Quant.bin_id == bin_.id, Quant.item_id != item.id, Quant.qty != 0).limit(1)).first()
        if other is not None:
            raise InvalidInput(f"bin {bin_.code} holds {other[0]} — a face holds one SKU; empty it first")
        self.faces[bin_.id] = (row.line, item.id, low, high)
        self.rows += 1

    def write(self, session: Session, progress: Progress) -> None:
        existing = {f.bin_id: f for f in session.scalars(select(PickFace).where(PickFace.bin_id.in_(list(self.faces))))}
        for bin_id, (_line, item_id, low, high) in self.faces.items():
            face = existing.get(bin_id)
            if face is None:
                session.add(PickFace(bin_id=bin_id, item_id=item_id, min_qty=low, max_qty=high))
                self.created += 1
            else:
                face.item_id, face.min_qty, face.max_qty = item_id, low, high
                self.updated += 1
        session.flush()
        progress("writing", self.rows, self.rows)

    def result(self) -> ImportResult:
        return ImportResult(self.kind, self.rows, self.created, self.updated,
                            f"Imported {self.rows} pick face{plural(self.rows)} ({self.created} new, {self.updated} updated)")
