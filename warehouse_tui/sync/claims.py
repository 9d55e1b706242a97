"""Claims taken on the upstream while online, so a pick list or count task is never handed to two operators.

Offline, a terminal claims locally and the claim goes up with its next push: it
is provisional, and if another operator took the same document meanwhile the
upstream keeps the first claim and reports the second as a conflict (see
apply_documents.py). Online, the workflow first calls `claim_upstream`: the claim is
taken in one upstream transaction (the row locked), so two terminals asking at
the same moment get one yes and one no, and the no comes before any work. The
local claim that follows sends the same claim up again, which changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select

from warehouse_tui.db.models import Bin, CountTask, Operator, PickList, ReplenTask
from warehouse_tui.errors import NotAllowed, NotFound
from warehouse_tui.services.claims import HeldOnAnotherTerminal

PROVISIONAL = "provisional"  # not on the upstream (yet): the local claim stands until the push says otherwise
TAKEN = "taken"


def claim_upstream(upstream, kind: str, key: str, badge: str, terminal: str, *, take_over: bool = False) -> str:
    """Take the claim of a pick list (key: its ref), count task or replenishment task (key: its uuid) for `badge` on the upstream.

    Returns TAKEN, or PROVISIONAL when the upstream does not know the document yet.
    Raises NotAllowed when another operator holds it, NotFound for an unknown badge, and
    HeldOnAnotherTerminal when this badge holds it on another terminal, unless `take_over`
    (the terminal asked its operator; the local claim that follows records the take-over).
    """
    model = {"pick_list": PickList, "count_task": CountTask, "replen_task": ReplenTask}[kind]
    column = model.ref if kind == "pick_list" else model.uuid
    with upstream.transaction() as s:
        row = s.scalars(select(model).where(column == key).with_for_update()).one_or_none()
        if row is None:
            return PROVISIONAL
        me = s.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
        if me is None:
            raise NotFound(f"Badge {badge} is not known upstream — ask a supervisor")
        holder = s.get(Operator, row.claimed_by) if row.claimed_by is not None else None
        if holder is not None and holder.id != me.id:
            what = {"pick_list": lambda: f"Pick list {row.ref}", "replen_task": lambda: f"Replenishment {row.ref}",
                    "count_task": lambda: f"Bin {s.get(Bin, row.bin_id).code}"}[kind]()
            raise NotAllowed(f"{what} is being worked by {holder.badge}" + (f" on {row.claimed_terminal}" if row.claimed_terminal else "")
                             + " — take another")
        if kind == "pick_list" and row.status == "done":
            raise NotAllowed(f"Pick list {row.ref} is done — scan another or @NEXT")
        if kind == "replen_task" and row.status != "open":
            raise NotAllowed(f"Replenishment {row.ref} is {row.status} already — @NEXT for the next one")
        if holder is not None and row.claimed_terminal and row.claimed_terminal != terminal and not take_over:
            if kind == "pick_list":
                raise HeldOnAnotherTerminal(f"Pick list {row.ref}", row.ref, row.claimed_terminal)
            if kind == "replen_task":
                raise HeldOnAnotherTerminal(f"Replenishment {row.ref}", row.uuid, row.claimed_terminal)
            code = s.get(Bin, row.bin_id).code
            raise HeldOnAnotherTerminal(f"The count of bin {code}", code, row.claimed_terminal)
        row.claimed_by = me.id
        row.claimed_terminal = terminal
        if kind == "pick_list" and row.status == "released":
            row.status = "picking"
    return TAKEN
