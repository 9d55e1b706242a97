"""The demo's returns (issue 14): a returns bin, a quarantine bin, a shipped web order and the customer's RMA for part of it.

RET-01 (kind returns) and QUA-01 (kind quarantine) at the dock; order ORD-20001
(2 MUG-300 and one LAPTOP-14) shipped in carton CTN-20001 with SSCC
909501100000000014; RMA-30001 announces one mug (NOFIT) and the laptop (DOA)
back. Built without the demo's random numbers, so the rest of the demo is as it
was before returns existed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from warehouse_tui.db.models import (
    Bin,
    BinKind,
    Carton,
    CartonLine,
    ContainerKind,
    Item,
    OutboundLine,
    OutboundOrder,
    Quant,
    ReturnLine,
    ReturnOrder,
    SerialUnit,
    Tracking,
    utcnow,
)
from warehouse_tui.scan.gtin import make_sscc
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.ledger import Actor, post

S = Tracking.SERIAL.value
DEMO_RETURN_ORDER, DEMO_RMA, DEMO_RETURN_CARTON = "ORD-20001", "RMA-30001", "CTN-20001"
# Extension digit 9 and serial reference 1: far from the numbers packing issues from 0 up.
DEMO_RETURN_SSCC = make_sscc(9, "0950110", 1)


def add_demo_returns(s, actor: Actor, items: dict[str, Item]) -> None:
    """A shipped web order and the customer's RMA for part of it, to try @RETURN on (see the module docstring)."""
    md.add_bin(s, "RET-01", zone="DOCK", kind=BinKind.RETURNS.value)
    md.add_bin(s, "QUA-01", zone="DOCK", kind=BinKind.QUARANTINE.value)
    order = OutboundOrder(ref=DEMO_RETURN_ORDER, channel="webshop", ship_to="Lena Brandt, Gartenweg 3, 04109 Leipzig, DE",
                          status="shipped", created_at=utcnow() - dt.timedelta(days=6),
                          shipped_at=utcnow() - dt.timedelta(days=5))  # its confirmation carries a ship date
    s.add(order)
    box = md.container(s, DEMO_RETURN_CARTON, ContainerKind.CARTON.value)
    box.status = "shipped"
    s.flush()
    carton = Carton(container_id=box.id, order_id=order.id, sscc=DEMO_RETURN_SSCC, weight_kg=2.4, status="shipped",
                    closed_at=utcnow() - dt.timedelta(days=5))
    s.add(carton)
    s.flush()
    lines = {}
    for sku, qty in (("MUG-300", 2), ("LAPTOP-14", 1)):
        item = items[sku]
        face = s.scalars(select(Quant).join(Bin, Bin.id == Quant.bin_id).where(Quant.item_id == item.id, Bin.kind == BinKind.PICK.value)
                         .order_by(Quant.id).limit(1)).one()
        serial = s.scalars(select(SerialUnit.serial).where(SerialUnit.item_id == item.id, SerialUnit.status == "in_stock")
                           .order_by(SerialUnit.serial).limit(1)).first() if item.tracking == S else None
        line = OutboundLine(order_id=order.id, item_id=item.id, qty=qty, qty_allocated=qty, qty_picked=qty, qty_packed=qty, qty_shipped=qty)
        s.add(line)
        s.flush()
        lines[sku] = (line, serial)
        s.add(CartonLine(carton_id=carton.id, order_line_id=line.id, item_id=item.id, serial=serial, qty=qty))
        post(s, actor, kind="ship", item=item, qty=qty, serial=serial, from_bin=s.get(Bin, face.bin_id), doc_ref=order.ref)
    rma = ReturnOrder(ref=DEMO_RMA, order_id=order.id, kind="rma", status="open")
    s.add(rma)
    s.flush()
    mug, _ = lines["MUG-300"]
    laptop, laptop_serial = lines["LAPTOP-14"]
    s.add_all([ReturnLine(return_id=rma.id, order_line_id=mug.id, item_id=mug.item_id, qty_expected=1, reason="NOFIT"),
               ReturnLine(return_id=rma.id, order_line_id=laptop.id, item_id=laptop.item_id, qty_expected=1, serial=laptop_serial,
                          reason="DOA")])
    s.flush()
