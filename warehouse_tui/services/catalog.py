"""The database side of scan resolution: indexed single-row lookups returning plain refs, never ORM objects."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Carton, Container, InboundOrder, Lot, Operator, OutboundOrder, PickList
from warehouse_tui.scan.types import BinRef, ContainerRef, DocType, DocumentRef, ItemRef
from warehouse_tui.services import masterdata

# Longest code any lookup column holds: a longer scan cannot match and is not sent to the database.
_MAX_CODE = 64

# When one reference names documents of several types, this order decides.
_DOCUMENT_TABLES = (
    (DocType.INBOUND, InboundOrder),
    (DocType.OUTBOUND, OutboundOrder),
    (DocType.PICKLIST, PickList),
)


class SqlCatalog:
    """The ScanCatalog over one Session (the caller's transaction or read)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def item_by_code(self, code: str) -> ItemRef | None:
        if not code or len(code) > _MAX_CODE:
            return None
        item = masterdata.item_by_code(self.session, code)
        if item is None:
            return None
        return ItemRef(id=item.id, sku=item.sku, tracking=item.tracking, expiry_required=bool(item.expiry_required))

    def bin_by_code(self, code: str) -> BinRef | None:
        if not code or len(code) > _MAX_CODE:
            return None
        columns = select(Bin.id, Bin.code, Bin.kind, Bin.blocked)
        # The label's barcode first (that is what a scanner reads), then the code a person types.
        row = (self.session.execute(columns.where(Bin.barcode == code)).first()
               or self.session.execute(columns.where(Bin.code == code)).first())
        return None if row is None else BinRef(id=row.id, code=row.code, kind=row.kind, blocked=bool(row.blocked))

    def container_by_code(self, code: str) -> ContainerRef | None:
        if not code or len(code) > _MAX_CODE:
            return None
        columns = select(Container.id, Container.code, Container.kind, Container.bin_id, Container.status)
        row = self.session.execute(columns.where(Container.code == code)).first()
        if row is None and len(code) == 18 and code.isascii() and code.isdigit():
            # A shipped carton is known by the SSCC printed on its label.
            row = self.session.execute(columns.join(Carton, Carton.container_id == Container.id)
                                       .where(Carton.sscc == code)).first()
        if row is None:
            return None
        return ContainerRef(id=row.id, code=row.code, kind=row.kind, bin_id=row.bin_id, status=row.status)

    def document_by_ref(self, ref: str) -> DocumentRef | None:
        if not ref or len(ref) > _MAX_CODE:
            return None
        for doc_type, table in _DOCUMENT_TABLES:
            row = self.session.execute(select(table.id, table.ref, table.status).where(table.ref == ref)).first()
            if row is not None:
                return DocumentRef(id=row.id, ref=row.ref, doc_type=doc_type, status=row.status)
        return None

    def badge_exists(self, badge: str) -> bool:
        if not badge or len(badge) > _MAX_CODE:
            return False
        return self.session.execute(select(Operator.id).where(Operator.badge == badge)).first() is not None

    def lot_exists(self, code: str) -> bool:
        if not code or len(code) > _MAX_CODE:
            return False
        return self.session.execute(select(Lot.id).where(Lot.code == code).limit(1)).first() is not None
