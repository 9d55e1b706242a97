"""Pick faces and replenishment tasks in sync (issue 16), in the shape of count tasks (sync/documents.py).

Down (pull): pick faces by bin code (master data: imported upstream, never made
on a terminal) and replenishment tasks by uuid, as the upstream has them; a
task this terminal changed and has not pushed yet is left as it is here until
its own change has gone up. After tasks come down the reservations of their
source places are set again (open pick tasks' need + open replenishment tasks'
remaining, documents.recompute_reservations).

Up (push): capture.py's policy table sends a task a terminal raised (after a
pick) up as "create" (with `values`); moves as "add" of qty_moved (two partial
moves from two terminals both count); status, qty (a short shrinks it) as
"set"; who took it as "claim". Upstream a claim held
by another operator stays theirs and the entry is a conflict for the supervisor
(the moves made under it are kept: they happened), exactly as for pick lists.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import Bin, Item, Lot, Owner, PickFace, ReplenTask
from warehouse_tui.sync.booking import parse_time
from warehouse_tui.sync.documents import iso


# =========================================================================== down: snapshots (upstream side)


def pick_face_snapshots(session: Session, ids) -> list[dict]:
    rows = session.execute(select(PickFace, Bin.code, Item.sku, Owner.code).join(Bin, Bin.id == PickFace.bin_id)
                           .join(Item, Item.id == PickFace.item_id).join(Owner, Owner.id == Item.owner_id)
                           .where(ids.of(PickFace.id))).all()
    return [{"bin": code, "owner": owner, "sku": sku, "min": f.min_qty, "max": f.max_qty} for f, code, sku, owner in rows]


def replen_task_snapshots(session: Session, ids) -> list[dict]:
    from warehouse_tui.sync.snapshots import _badges, _item_keys

    tasks = session.execute(select(ReplenTask).where(ids.of(ReplenTask.id))).scalars().all()
    items = _item_keys(session, [t.item_id for t in tasks])
    badges = _badges(session, [t.claimed_by for t in tasks])
    bins = dict(session.execute(select(Bin.id, Bin.code).where(Bin.id.in_({t.from_bin_id for t in tasks} | {t.to_bin_id for t in tasks})))
                .all()) if tasks else {}
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_({t.lot_id for t in tasks if t.lot_id})))} if tasks else {}
    out = []
    for t in tasks:
        owner, sku = items[t.item_id]
        lot = lots.get(t.lot_id)
        out.append({"uuid": t.uuid, **values(t, owner, sku, bins[t.from_bin_id], bins[t.to_bin_id],
                                               lot.code if lot else None, iso(lot.expiry) if lot else None,
                                               badges.get(t.claimed_by))})
    return out


def values(t: ReplenTask, owner: str, sku: str, from_bin: str, to_bin: str, lot: str | None, expiry: str | None,
           badge: str | None) -> dict:
    """A task's values as they travel, down in snapshots and up in its "create" operation (capture.py)."""
    return {"owner": owner, "sku": sku, "lot": lot, "expiry": expiry, "from_bin": from_bin, "to_bin": to_bin, "qty": t.qty,
            "qty_moved": t.qty_moved, "blocking": bool(t.blocking), "priority": t.priority, "status": t.status,
            "reason": t.reason, "claimed_by": badge, "claimed_terminal": t.claimed_terminal, "created_at": iso(t.created_at)}


# =========================================================================== down: applying (terminal side)


def apply_pick_faces(session: Session, snaps: list[dict]) -> int:
    from warehouse_tui.sync.pull_documents import _Local, _upsert

    local = _Local(session)
    rows = [{"bin_id": local.bin(s["bin"]), "item_id": local.item(s["owner"], s["sku"])[0], "min_qty": s["min"], "max_qty": s["max"]}
            for s in snaps]
    _upsert(session, PickFace.__table__, rows, ["bin_id"], ["item_id", "min_qty", "max_qty"])
    return len(rows)


def apply_replen_tasks(session: Session, snaps: list[dict]) -> int:
    from warehouse_tui.services.reservations import recompute_reservations
    from warehouse_tui.sync.documents import pending_documents
    from warehouse_tui.sync.pull_documents import _Local, _upsert

    local, pending = _Local(session), pending_documents(session)
    applied = 0
    places = set()
    for s in snaps:
        if ("replen_task", s["uuid"]) in pending:
            continue
        item_id, _ = local.item(s["owner"], s["sku"])
        lot_id = local.lot(item_id, s["lot"], s["expiry"])
        from_bin = local.bin(s["from_bin"])
        old = session.execute(select(ReplenTask.item_id, ReplenTask.from_bin_id, ReplenTask.lot_id).where(ReplenTask.uuid == s["uuid"])).first()
        if old is not None:
            places.add(tuple(old))
        places.add((item_id, from_bin, lot_id))
        _upsert(session, ReplenTask.__table__, [{
            "uuid": s["uuid"], "item_id": item_id, "lot_id": lot_id, "from_bin_id": from_bin, "to_bin_id": local.bin(s["to_bin"]),
            "qty": s["qty"], "qty_moved": s["qty_moved"], "blocking": s["blocking"], "priority": s["priority"], "status": s["status"],
            "reason": s["reason"], "claimed_by": local.operator(s["claimed_by"]), "claimed_terminal": s["claimed_terminal"],
            "created_at": parse_time(s["created_at"])}], ["uuid"],
            ["item_id", "lot_id", "from_bin_id", "to_bin_id", "qty", "qty_moved", "blocking", "priority", "status", "reason",
             "claimed_by", "claimed_terminal", "created_at"])
        applied += 1
    recompute_reservations(session, places)
    return applied


def register_appliers() -> None:
    from warehouse_tui.sync import pull

    pull.register("pick_face", apply_pick_faces)
    pull.register("replen_task", apply_replen_tasks)


# =========================================================================== up: applying on the upstream


def apply_op(up, op: dict, places) -> str | None:
    """One operation on a replenishment task, upstream; returns a conflict or None."""
    from warehouse_tui.sync.apply_documents import _claim, _set_state, _Skip

    task = up.one(ReplenTask, uuid=op["key"])
    if op["op"] == "create":
        if task is None:
            v = op["value"]
            item_id = up.item_id(v["owner"], v["sku"])
            from_bin, to_bin = up.one(Bin, code=v["from_bin"]), up.one(Bin, code=v["to_bin"])
            if from_bin is None or to_bin is None:
                raise _Skip(f"bin {v['from_bin'] if from_bin is None else v['to_bin']} is not known upstream")
            task = ReplenTask(uuid=op["key"], item_id=item_id, lot_id=up.lot_id(item_id, v["lot"], v["expiry"]), from_bin_id=from_bin.id,
                              to_bin_id=to_bin.id, qty=v["qty"], qty_moved=v["qty_moved"], blocking=v["blocking"], priority=v["priority"],
                              status=v["status"], reason=v["reason"], claimed_by=up.operator_id(v["claimed_by"]),
                              claimed_terminal=v["claimed_terminal"], created_at=parse_time(v["created_at"]))
            up.s.add(task)
            up.s.flush()
            places.add((task.item_id, task.from_bin_id, task.lot_id))
        return None
    if task is None:
        raise _Skip("the replenishment task is not known upstream")
    places.add((task.item_id, task.from_bin_id, task.lot_id))
    what = f"replenishment {task.ref}"
    if op["op"] == "claim":
        return _claim(up, task, op, what)
    if op["op"] == "add":
        task.qty_moved += op["value"]
        return None
    return _set_state("replen_task", task, op["field"], op["value"], what)
