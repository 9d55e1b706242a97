"""The demo's shift so far (issue 17): hours of finished work before the build, for the supervisor's floor view.

Maria (U1001, terminal T3) and Sam (S9001, terminal T4) logged in about six
hours before the build and out a little before it. Each hour Maria received a
carton of one of three shelf items (SCREWDRIVER-6, TAPE-MEAS-5, SWITCH-WHT)
into RCV-02 and put it away to the item's pick face 20 to 45 minutes later;
Sam picked the same units from the face to the pack station PACK-01 in two or
three lines and Maria shipped them. Two bins were counted (blind) and matched
the books. So the floor view shows throughput, dock-to-stock, operators and
accuracy with real numbers from the first start.

Only finished work, and none of it changes what any other screen shows: every
receipt is put away, picked and shipped again (the stock of every bin is what
it was, and no quant is left in RCV-02 or PACK-01), the receipts and orders
are documents of the past that no screen lists (doc refs only), the counts are
closed, and the outbox entries are marked pushed (the status line's unsynced
count is what it was). Times are relative to the clock at the build; no random
numbers are drawn (the rest of the demo is as it was).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from warehouse_tui.db.models import AuditEvent, Bin, CountLine, CountTask, Item, Operator, OutboxEntry, Quant, utcnow
from warehouse_tui.services.ledger import Actor, post

HISTORY_ITEMS = ("SCREWDRIVER-6", "TAPE-MEAS-5", "SWITCH-WHT")
RECEIVING_BIN, PACK_BIN = "RCV-02", "PACK-01"
# (minutes before the build the carton was received, units, minutes until its putaway, the pick lines' units)
HOURS = ((355, 12, 25, (4, 4, 4)), (300, 8, 40, (5, 3)), (240, 10, 20, (6, 4)), (180, 6, 45, (2, 2, 2)),
         (125, 9, 30, (5, 4)), (70, 12, 35, (3, 5, 4)))
LOGINS = (("U1001", "T3", 365), ("S9001", "T4", 330))
LOGOUT_BEFORE = 8  # minutes before the build both logged out
COUNTED_BINS_BEFORE = (200, 95)  # minutes before the build a bin was counted


def add_floor_history(s, items: dict[str, Item]) -> None:
    """Write the shift of the module docstring into the ledger, the audit log and the counts."""
    now = utcnow()
    at = lambda minutes: now - dt.timedelta(minutes=minutes)  # noqa: E731
    first_entry = s.scalar(select(func.max(OutboxEntry.position))) or 0
    ops = {op.badge: op for op in s.scalars(select(Operator).where(Operator.badge.in_([b for b, _t, _m in LOGINS])))}
    maria, sam = Actor(ops["U1001"], "T3"), Actor(ops["S9001"], "T4")
    for badge, terminal, minutes in LOGINS:
        s.add(AuditEvent(kind="login", operator_id=ops[badge].id, badge=badge, terminal=terminal, at=at(minutes)))
        s.add(AuditEvent(kind="logout", operator_id=ops[badge].id, badge=badge, terminal=terminal, at=at(LOGOUT_BEFORE)))
    bins = {b.code: b for b in s.scalars(select(Bin).where(Bin.code.in_((RECEIVING_BIN, PACK_BIN))))}
    for n, (received, qty, wait, picks) in enumerate(HOURS):
        item = items[HISTORY_ITEMS[n % len(HISTORY_ITEMS)]]
        face = s.scalars(select(Bin).join(Quant, Quant.bin_id == Bin.id).where(Quant.item_id == item.id, Bin.kind == "pick")
                         .order_by(Bin.pick_seq).limit(1)).one()
        post(s, maria, kind="receipt", item=item, qty=qty, to_bin=bins[RECEIVING_BIN], doc_ref=f"PO-09{n + 1:02d}", at=at(received))
        post(s, maria, kind="putaway", item=item, qty=qty, from_bin=bins[RECEIVING_BIN], to_bin=face, at=at(received - wait))
        order = f"ORD-09{n + 1:02d}"
        for line, units in enumerate(picks):
            post(s, sam, kind="pick", item=item, qty=units, from_bin=face, to_bin=bins[PACK_BIN], doc_ref=order,
                 at=at(received - wait - 5 - 4 * line))
        post(s, maria, kind="ship", item=item, qty=qty, from_bin=bins[PACK_BIN], doc_ref=order, at=at(received - wait - 20))
    for minutes, sku in zip(COUNTED_BINS_BEFORE, HISTORY_ITEMS):
        face = s.scalars(select(Bin).join(Quant, Quant.bin_id == Bin.id).where(Quant.item_id == items[sku].id, Bin.kind == "pick")
                         .order_by(Bin.pick_seq).limit(1)).one()
        task = CountTask(bin_id=face.id, blind=True, status="closed", attempt=1, created_by=ops["S9001"].id,
                         created_at=at(minutes + 30), started_at=at(minutes))
        s.add(task)
        s.flush()
        for item_id, lot_id, qty in s.execute(select(Quant.item_id, Quant.lot_id, Quant.qty).where(Quant.bin_id == face.id)):
            s.add(CountLine(task_id=task.id, item_id=item_id, lot_id=lot_id, attempt=1, expected=qty, counted=qty))
    s.flush()
    # Pushed at the time they were made, as a terminal online all shift would have: nothing of it waits to sync.
    s.execute(update(OutboxEntry).where(OutboxEntry.position > first_entry, OutboxEntry.pushed_at.is_(None))
              .values(pushed_at=now, outcome="applied"))
