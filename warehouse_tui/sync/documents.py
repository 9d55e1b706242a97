"""Documents in sync: inbound and outbound orders (with their cartons), pick lists, count tasks, exceptions,
operators' lock state, and (up only) audit events.

Down (pull): the upstream's document as it is, by natural keys — order refs,
pick list refs, and uuids for rows a terminal may also create (lines, tasks,
count tasks and lines, exceptions). A terminal replaces its copy with it, except
for a document it changed itself and has not pushed yet: its own change goes up
first and comes back merged. After a pick list comes down, the reservations of
the quants its tasks name are set to what the open tasks still need.

Up (push): what an operator changes in a document leaves through the outbox
like a movement, in the same transaction: a session hook on every terminal
database (capture.py) turns each flush's changes into field operations, written
at commit as one outbox entry of kind "document":

- add: counters (received, picked, packed, shipped, allocated) travel as
  differences, so two terminals receiving on one PO both count;
- set: states and values (a list done, a task skipped, a count closed);
- create / delete: rows a terminal makes (a blind receipt and its lines, an
  unexpected lot's line, a count task, count lines, an exception, a carton and
  its lines, an audit event) or drops;
- claim: who took a pick list or a count task. Upstream, a claim on a document
  nobody holds (or the same operator holds) is taken; one held by another
  operator stays theirs and the entry's outcome is a conflict: a double claim
  made offline becomes a `sync_conflict` exception for the supervisor, while
  the work done under it (movements, counts) is kept.

Upstream (apply_documents.py), the operations are applied in order to the
rows found by natural key; a change to a document the upstream already closed
is applied too and reported as a conflict (the physical work happened).

Cartons are found by their container's code, carton lines by uuid. An SSCC is
unique: one that reaches the upstream already on another carton (possible only
for a terminal that issued SSCCs before it first synced; synced terminals use
leased blocks, sync/sscc_leases.py) is kept off the second carton and reported as a
conflict so someone relabels it. A carrier tracking number is unique the same
way: one scanned on two cartons on two terminals is kept off the second carton
upstream and reported as a conflict (the packer rescans that carton's own
label at @PACK). Audit events are appended upstream once and
never come back down.

The modules, by direction:
- down, upstream side: snapshots.py reads each document as it is now;
- down, terminal side: pull_documents.py replaces a terminal's copy with it;
- up, terminal side: capture.py turns each flush's changes into field
  operations, by a per-model policy table;
- up, upstream side: apply_documents.py applies them and reports conflicts.
Reservations follow the pick tasks both ways (services/reservations.py).

This module holds what they share: the operations' shape and value formats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.models import OutboxEntry

CLOSED = {"inbound": {"closed"}, "outbound": {"shipped", "cancelled"}, "pick_list": {"done"},
          "count_task": {"closed", "approved", "rejected"}, "exception": {"approved", "rejected"}, "return": {"closed"},
          "replen_task": {"done", "short"}}
# The kinds of field operation (capture.py writes them, apply_documents.py applies them).
OPS = ("create", "set", "add", "claim", "delete")


def iso(value):
    """A date or time as ISO text for the outbox and the feed; any other value as it is."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def kg_text(value) -> str | None:
    """A weight as text: Decimal does not survive JSON, and float would round it."""
    return None if value is None else str(value)


def kg_value(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def op(doc: str, key: str, row: str, rid, kind: str, field: str | None = None, value=None) -> dict:
    """One field operation: `kind` (one of OPS) on row `rid` (a `row` of document `doc` named `key`)."""
    return {"doc": doc, "key": key, "row": row, "id": rid, "op": kind, "field": field, "value": iso(value)}


def pending_documents(session: Session) -> set[tuple[str, str]]:
    """Documents this terminal changed and has not pushed yet: (kind, key)."""
    found = set()
    for (payload,) in session.execute(select(OutboxEntry.payload).where(OutboxEntry.pushed_at.is_(None), OutboxEntry.kind == "document")):
        for op in payload.get("ops", []):
            found.add((op["doc"], op["key"]))
    return found

