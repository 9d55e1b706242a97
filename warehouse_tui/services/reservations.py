"""Reservations of stock for picking: each quant holds what the open pick tasks on it still need,
plus what open replenishment tasks still take from it (services/replenishment.py); a pick task waiting
for its face to be filled holds none until a move fills it.

Waves reserve as they plan (services/waves.py) and picking releases as it takes
(services/picking.py); these set the reservations again from the tasks, after
something other than this terminal's own picking moved them: a pick list that
came down from the upstream, movements pulled from other terminals, pick task
changes a terminal pushed.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Item, PickList, PickTask, Quant, ReplenTask, quant_key

TO_PICK = ("open", "skipped")  # the task states that still need their stock


def recompute_for_lists(session: Session, refs: list[str]) -> None:
    """Reservations of the quants the tasks of these pick lists name, set again from the open tasks."""
    places = set()
    for start in range(0, len(refs), 2000):
        places |= set(session.execute(select(PickTask.item_id, PickTask.bin_id, PickTask.lot_id).join(PickList, PickList.id == PickTask.pick_list_id)
                                      .where(PickList.ref.in_(refs[start:start + 2000]))).all())
    recompute_reservations(session, places)


def reserve_for_open_tasks(session: Session, item_ids) -> None:
    """Reservations of the open pick tasks on these items, set again after pulled movements moved their stock.

    A place emptied here (offline) loses its quant, and with it the reservation;
    stock a pulled movement brings back must be reserved for the task again.
    """
    item_ids = sorted({i for i in item_ids if i is not None})
    places = set()
    for start in range(0, len(item_ids), 2000):
        places |= set(session.execute(select(PickTask.item_id, PickTask.bin_id, PickTask.lot_id).where(
            PickTask.item_id.in_(item_ids[start:start + 2000]), PickTask.status.in_(TO_PICK))).all())
        places |= set(session.execute(select(ReplenTask.item_id, ReplenTask.from_bin_id, ReplenTask.lot_id).where(
            ReplenTask.item_id.in_(item_ids[start:start + 2000]), ReplenTask.status == "open")).all())
    recompute_reservations(session, places)


def recompute_reservations(session: Session, places) -> None:
    """Set each quant's reservation to what the open pick tasks on it still need (item, bin, lot; loose, available)."""
    places = {p for p in places if p[0] is not None}
    if not places:
        return
    owners = dict(session.execute(select(Item.id, Item.owner_id).where(Item.id.in_({p[0] for p in places}))).all())
    for item_id, bin_id, lot_id in places:
        need = session.scalar(select(func.coalesce(func.sum(PickTask.qty - PickTask.qty_picked), 0)).where(
            PickTask.item_id == item_id, PickTask.bin_id == bin_id, PickTask.waiting.is_(False),
            PickTask.lot_id == lot_id if lot_id is not None else PickTask.lot_id.is_(None), PickTask.status.in_(TO_PICK))) or 0
        need += session.scalar(select(func.coalesce(func.sum(ReplenTask.qty - ReplenTask.qty_moved), 0)).where(
            ReplenTask.item_id == item_id, ReplenTask.from_bin_id == bin_id, ReplenTask.status == "open",
            ReplenTask.lot_id == lot_id if lot_id is not None else ReplenTask.lot_id.is_(None))) or 0
        key = quant_key(item_id, bin_id, lot_id, None, owners[item_id], "available")
        quant = session.execute(select(Quant.id, Quant.qty).where(Quant.key == key)).first()
        if quant is None:
            if need <= 0:
                continue
            # The stock left here (offline, or before the list came down) but the upstream reserved it: hold the
            # reservation on an empty quant as the upstream does, so stock coming back is reserved and the task can short.
            session.execute(insert(Quant.__table__).values(key=key, item_id=item_id, bin_id=bin_id, lot_id=lot_id, container_id=None,
                                                           owner_id=owners[item_id], status="available", qty=0, reserved=int(need)))
            quant = session.execute(select(Quant.id, Quant.qty).where(Quant.key == key)).first()
        session.execute(update(Quant).where(Quant.id == quant.id).values(reserved=max(0, int(need))))
        session.execute(update(PickTask).where(PickTask.item_id == item_id, PickTask.bin_id == bin_id,
                                               PickTask.lot_id == lot_id if lot_id is not None else PickTask.lot_id.is_(None),
                                               PickTask.quant_id.is_(None)).values(quant_id=quant.id))

