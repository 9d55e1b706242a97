"""Carton labels (DESIGN §5 Pack): the carton's weight, its SSCC, what its label says (with the
carrier and tracking number once scanned), and the codes `warehouse-tui labels` prints.

The SSCC counter moves in the caller's transaction, so an SSCC exists only on a committed carton;
a syncing terminal takes numbers only from the blocks the upstream leased to it
(sync/sscc_leases.py).

Split out of services/packing.py (issue 12), which re-exports every public name here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import (
    Bin,
    Carton,
    CartonLine,
    Container,
    ContainerKind,
    Item,
    OutboundOrder,
    SsccCounter,
    SsccRange,
    SyncMeta,
)
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.labels.sscc import CartonLabel
from warehouse_tui.scan.gtin import make_sscc
from warehouse_tui.scan.resolver import parse_weight
from warehouse_tui.services.ledger import check_qty
from warehouse_tui.services.packing_views import _cartons


# The heaviest carton (or pallet) a pack station closes; more is a mistyped weight.
MAX_CARTON_KG = Decimal("1000")
def _syncing(session: Session) -> bool:
    """Whether this database is a terminal that syncs with an upstream (sync_meta role "terminal")."""
    role = session.get(SyncMeta, "role")
    return role is not None and role.value == "terminal"


def carton_weight(value: Decimal | str | int | float) -> Decimal:
    """A carton's weight in kg: more than 0, at most MAX_CARTON_KG, at most 3 decimals; typed text parsed as the scale's."""
    if isinstance(value, str):
        weight = parse_weight(value)
    elif isinstance(value, bool) or not isinstance(value, (Decimal, int, float)):
        raise InvalidInput(f"Weight must be a number of kg, not {value!r}")
    else:
        try:
            weight = Decimal(str(value))
        except InvalidOperation:
            raise InvalidInput(f"Weight must be a number of kg, not {value!r}") from None
        if not weight.is_finite():
            raise InvalidInput("Weight must be a number of kg — type it again")
    if weight <= 0:
        raise InvalidInput("Weight must be more than 0 kg — weigh the carton")
    if weight > MAX_CARTON_KG:
        raise InvalidInput(f"{weight} kg is more than a carton weighs (at most {MAX_CARTON_KG} kg) — weigh it again")
    if weight != weight.quantize(Decimal("0.001")):
        raise InvalidInput(f"Weight {weight} has more than 3 decimals — type it in kg like 12.5")
    return weight.quantize(Decimal("0.001"))


def allocate_sscc(session: Session, company_prefix: str) -> str:
    """The next SSCC of the company prefix; the counter (or lease) moves in the caller's transaction.

    The extension digit takes over when the serial reference runs out, so a prefix
    issues 10 × 10^(16 - len(prefix)) SSCCs before InvalidInput says it is used up.
    A terminal that syncs takes numbers only from the blocks the upstream leased to it
    and raises NotAllowed (sync first) when none is left.
    """
    make_sscc(0, company_prefix, 0)  # validates the prefix before anything is written
    width = 16 - len(company_prefix)
    if _syncing(session):
        # A syncing terminal uses only numbers the upstream leased to it (sync/sscc_leases.py): offline
        # terminals of one site never issue the same SSCC.
        block = session.scalars(select(SsccRange).where(
            SsccRange.company_prefix == company_prefix, SsccRange.next_serial <= SsccRange.last_serial)
            .order_by(SsccRange.first_serial).limit(1).with_for_update()).first()
        if block is None:
            raise NotAllowed(f"No SSCC numbers of prefix {company_prefix} left on this terminal — "
                             "sync with the upstream to lease more, then close the carton again")
        number = block.next_serial
        block.next_serial = number + 1
        session.flush()
        return make_sscc(number // 10**width, company_prefix, number % 10**width)
    counter = session.get(SsccCounter, company_prefix, with_for_update=True)
    if counter is None:
        counter = SsccCounter(company_prefix=company_prefix, last_serial=0)
        session.add(counter)
    number = counter.last_serial + 1
    if number >= 10 * 10**width:
        raise InvalidInput(f"Every SSCC of company prefix {company_prefix} is used — configure a new prefix")
    counter.last_serial = number
    session.flush()
    return make_sscc(number // 10**width, company_prefix, number % 10**width)


def carton_label(session: Session, carton_code: str) -> CartonLabel:
    """What a sealed carton's label says (again, e.g. once its tracking number is scanned); NotFound for no such carton."""
    from warehouse_tui.services.carriers import carrier_name

    row = session.execute(select(Carton, Container, OutboundOrder).join(Container, Container.id == Carton.container_id)
                          .join(OutboundOrder, OutboundOrder.id == Carton.order_id)
                          .where((Container.code == carton_code) | (Carton.sscc == carton_code))).first()
    if row is None or row[0].sscc is None:
        raise NotFound(f"Carton {carton_code} has no label — close it first")
    carton, box, order = row
    units = int(session.scalar(select(func.coalesce(func.sum(CartonLine.qty), 0)).where(CartonLine.carton_id == carton.id)))
    number = [c.id for c in _cartons(session, order)].index(carton.id) + 1
    return CartonLabel(sscc=carton.sscc, order_ref=order.ref, ship_to=order.ship_to, carton_code=box.code,
                       carton_no=number, weight_kg=Decimal(carton.weight_kg).quantize(Decimal("0.001")), units=units,
                       carrier=carrier_name(order.carrier) if order.carrier else None, service=order.service,
                       tracking=carton.tracking)


# --------------------------------------------------------------------------- codes for `warehouse-tui labels`


def label_codes(session: Session, kind: str, codes: list[str] | None = None, *, count: int = 0,
                company_prefix: str = "") -> list[str]:
    """The codes `warehouse-tui labels KIND` prints: the given ones checked, else all of the kind.

    bins: bin barcodes; items: each item's first GTIN, else its SKU; lpn: LPN and
    pallet codes; sscc: `count` new SSCCs from the counter (in this transaction), or
    the given ones. Raises NotFound for a code that names nothing of the kind.
    """
    from warehouse_tui.services import masterdata as md

    if kind == "sscc":
        if codes:
            return list(codes)
        if count <= 0:
            raise InvalidInput("Say how many new SSCC labels: --count N, or name them with --codes")
        return [allocate_sscc(session, company_prefix) for _ in range(check_qty(count))]
    if kind == "bins":
        if codes:
            return [md.bin_by_code(session, code).barcode for code in codes]
        return list(session.scalars(select(Bin.barcode).order_by(Bin.pick_seq, Bin.code)))
    if kind == "items":
        items = [md.item_by_sku(session, sku) for sku in codes] if codes else list(session.scalars(select(Item).order_by(Item.sku)))
        return [min(((c.id, c.code) for c in item.codes if c.kind == "gtin"), default=(0, item.sku))[1] for item in items]
    if kind == "lpn":
        if codes:
            return [md.container(session, code, create=False).code for code in codes]
        return list(session.scalars(select(Container.code).where(
            Container.kind.in_((ContainerKind.LPN.value, ContainerKind.SSCC.value))).order_by(Container.code)))
    raise InvalidInput(f"Labels are for bins, items, lpn, sscc — not {kind!r}")
