"""A carton's carrier tracking number: scanned at the pack bench after the weight, skipped for later, filled by a rescan.

The rules (issue 15):

- After @CLOSE and the weight the packer scans the carrier label's tracking
  barcode. It must be a number of the order's carrier (services/carriers.py:
  format and check digit); another carrier's number is refused naming both.
- One tracking number is on one carton: the same number scanned for a second
  carton is refused naming the first (across terminals, sync reports it as a
  conflict and keeps the second carton without it).
- @SKIP leaves it empty (the site prints carrier labels later): a
  `tracking_missing` exception names the carton, and stays open in the
  supervisor's queue until a rescan of the carton at @PACK fills the number,
  which closes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Carton, Container, OutboundOrder, WarehouseException, utcnow
from warehouse_tui.errors import InvalidInput, NotAllowed, NotFound
from warehouse_tui.services import carriers
from warehouse_tui.services.ledger import Actor

MISSING = "tracking_missing"


@dataclass(frozen=True)
class CartonRef:
    """A sealed carton as the tracking prompt needs it."""

    code: str
    sscc: str | None
    order_ref: str
    carrier: str | None
    service: str | None
    tracking: str | None
    status: str = "closed"        # open | closed | shipped


def carton(session: Session, code: str) -> CartonRef | None:
    """The carton a scanned code names (its container code or its SSCC), None when it names none."""
    row = session.execute(
        select(Carton, Container.code, OutboundOrder)
        .join(Container, Container.id == Carton.container_id).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
        .where((Container.code == code) | (Carton.sscc == code)).limit(1)
    ).first()
    if row is None:
        return None
    box, box_code, order = row
    return CartonRef(box_code, box.sscc, order.ref, order.carrier, order.service, box.tracking, box.status)


def _sealed(session: Session, code: str) -> tuple[Carton, OutboundOrder]:
    row = session.execute(
        select(Carton, OutboundOrder).join(Container, Container.id == Carton.container_id)
        .join(OutboundOrder, OutboundOrder.id == Carton.order_id)
        .where((Container.code == code) | (Carton.sscc == code)).limit(1).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"Carton {code} is not known — scan the carton's label")
    box, order = row
    if box.status == "open":
        raise NotAllowed(f"Carton {code} is still open — @CLOSE and weigh it first")
    return box, order


def record(session: Session, actor: Actor, carton_code: str, text: str, symbology: str | None = None, *,
           any_carriers=()) -> CartonRef:
    """Put the scanned carrier label's tracking number on a sealed carton; closes its tracking_missing exception.

    Raises InvalidInput for a number not of the order's carrier (naming both), a wrong
    check digit, or a carton that already has another number; NotAllowed for a number
    already on another carton (naming it) or an open carton; NotFound for an unknown carton.
    """
    box, order = _sealed(session, carton_code)
    code = session.get(Container, box.container_id).code
    found = carriers.validate(text, symbology, order.carrier, any_carriers=any_carriers, order_ref=order.ref)
    own = session.execute(select(Container.code).join(Carton, Carton.container_id == Container.id)
                          .where(Carton.sscc == found.number)).scalar()
    if own is not None:
        # The warehouse's own carton label scanned by mistake: its SSCC is no carrier's tracking number.
        raise InvalidInput(f"{found.number} is the SSCC on carton {own}'s own label — scan the carrier's label")
    if box.tracking == found.number:
        return CartonRef(code, box.sscc, order.ref, order.carrier, order.service, box.tracking)
    if box.tracking is not None:
        raise InvalidInput(f"Carton {code} already has tracking {box.tracking} — scan that label, or ask a supervisor")
    other = session.execute(select(Container.code).join(Carton, Carton.container_id == Container.id)
                            .where(Carton.tracking == found.number, Carton.id != box.id)).scalar()
    if other is not None:
        raise NotAllowed(f"Tracking {found.number} is already on carton {other} — scan this carton's own carrier label")
    box.tracking = found.number
    for exception in session.scalars(select(WarehouseException).where(
            WarehouseException.kind == MISSING, WarehouseException.ref == code, WarehouseException.status == "open")):
        exception.status = "approved"
        exception.resolved_by = actor.operator_id
        exception.resolved_at = utcnow()
        exception.resolution = f"tracking {found.number} scanned"
    session.flush()
    return CartonRef(code, box.sscc, order.ref, order.carrier, order.service, box.tracking)


def skip(session: Session, actor: Actor, carton_code: str) -> CartonRef:
    """@SKIP: the carton goes on without a tracking number, and the exceptions queue shows it until a rescan fills it."""
    box, order = _sealed(session, carton_code)
    code = session.get(Container, box.container_id).code
    if box.tracking is None and session.scalar(select(WarehouseException.id).where(
            WarehouseException.kind == MISSING, WarehouseException.ref == code, WarehouseException.status == "open")) is None:
        session.add(WarehouseException(
            kind=MISSING, ref=code, status="open", created_by=actor.operator_id, terminal=actor.terminal,
            detail=f"Carton {code} of {order.ref} ({carriers.carrier_name(order.carrier)}) has no tracking number — "
                   f"scan the carton at @PACK, then its carrier label",
            data={"order": order.ref, "carton": code, "sscc": box.sscc, "carrier": order.carrier}))
        session.flush()
    return CartonRef(code, box.sscc, order.ref, order.carrier, order.service, box.tracking)
