"""Upstream side of a push: apply a terminal's outbox entries exactly once, each with an outcome.

One push batch is one upstream transaction, taken under `PUSH_LOCK` so pushes
from several terminals apply one after the other (a conflict then depends only
on push order, and pushes never deadlock each other). For each entry:

- Its uuid is looked up in `applied_entries`: already there -> **duplicate**,
  nothing applied again, and the first outcome is reported with it.
- A movement names everything by natural keys (sku + owner, bin codes, lot code
  + expiry, container codes, serial, operator badge); lots and containers
  unknown upstream are created, as the terminal created them.
- The batch's movements are booked by `booking.BatchLedger` (ledger.post's
  rules, set-based), each with its own uuid and time -> **applied**.
- If the books refuse one (stock not there, reserved for someone else, serial
  elsewhere, container standing elsewhere, bin blocked), the physical action
  happened anyway: it is booked as `allow_negative` books it -> **conflict**.
  The movement is flagged `conflict`, and an open `sync_conflict` exception
  (its data: the entry and the reason) goes to the supervisor queue of every
  terminal.
- If it cannot be booked at all (an item or bin the upstream does not know, a
  tracking rule the entry breaks) it is **conflict** too, recorded in
  `applied_entries` and in a `sync_conflict` exception holding the whole entry,
  but no stock moves: nothing to book it against.

A "document" entry (an operator's change to an order, pick list, count task,
exception or badge; see apply_documents.py) is applied operation by operation; a
double claim or a change to a document the upstream already closed makes its
outcome a conflict, with a `sync_conflict` exception, and the rest is applied.

How stock looks upstream after a conflict: exactly the sum of all movements,
conflicting ones included. A quantity conflict leaves the source quant negative
(or below its reservation); a serial conflict leaves the serial where its last
movement put it while the ledger counts it in two places (or out twice); a
container conflict moves the container to the last movement's bin. Each is
flagged (the movement's conflict flag, the open exception), `warehouse-tui
check` accepts it as flagged, and a count of the bins named in the exception
settles it through the normal variance flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from warehouse_tui.db.models import AppliedEntry, Operator, WarehouseException, utcnow
from warehouse_tui.sync import feed
from warehouse_tui.sync.booking import BOOKED, REFUSED, BatchLedger
from warehouse_tui.sync.apply_documents import apply_document_entry, record_document_conflict
from warehouse_tui.sync.feed import PUSH_LOCK

APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
SYNC_CONFLICT = "sync_conflict"


@dataclass(frozen=True)
class Outcome:
    """What the upstream did with one entry; `first` is the original outcome of a duplicate."""

    uuid: str
    outcome: str
    detail: str | None = None
    first: str | None = None

    @property
    def conflict(self) -> bool:
        return CONFLICT in (self.outcome, self.first)


def apply_batch(session: Session, terminal: str, entries: list[dict]) -> list[Outcome]:
    """Apply entries ({"uuid", "kind", "payload"}) in order in the caller's upstream transaction."""
    postgres = session.bind.dialect.name == "postgresql"
    ledger = BatchLedger(session, strict=True, origin=feed.UPSTREAM)
    # Master data looked up before the lock: every other push waits while this one holds it.
    ledger.resolve([e["payload"] for e in entries if e["kind"] == "movement" and isinstance(e["payload"], dict)])
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUSH_LOCK})
    done = _applied_before(session, [e["uuid"] for e in entries], postgres)
    outcomes: dict[str, Outcome | None] = {}
    fresh: list[dict] = []
    for e in entries:
        uuid = e["uuid"]
        if uuid in done:
            outcome, detail = done[uuid]
            outcomes[uuid] = Outcome(uuid, DUPLICATE, detail, outcome)
        elif uuid not in outcomes:
            outcomes[uuid] = None  # decided below
            fresh.append(e)
    movements = [e for e in fresh if e["kind"] == "movement"]
    # A movement's payload names its uuid as "id" (ledger.post writes both); the entry's uuid is the one that counts.
    booked = ledger.book(
        [p if (p := e["payload"]).get("id") == e["uuid"] else {**p, "id": e["uuid"]} for e in movements])
    feed.note(session.connection(), [("movement", b.seq) for b in booked if b.seq is not None])
    payloads = {e["uuid"]: e["payload"] for e in fresh}
    # Operators are named only in the conflicts recorded below.
    recorded = [payloads[b.uuid] for b in booked if b.result != BOOKED]
    recorded += [e["payload"] for e in fresh if e["kind"] not in ("movement", "document")]
    operators = _operators(session, [p.get("operator") for p in recorded])
    for b in booked:
        if b.result == BOOKED:
            outcomes[b.uuid] = Outcome(b.uuid, APPLIED)
        elif b.result == REFUSED:
            reason = f"not booked: {b.reason}"
            _record_conflict(session, operators, terminal, payloads[b.uuid], reason, booked=False)
            outcomes[b.uuid] = Outcome(b.uuid, CONFLICT, reason)
        else:
            _record_conflict(session, operators, terminal, payloads[b.uuid], b.reason, booked=True)
            outcomes[b.uuid] = Outcome(b.uuid, CONFLICT, b.reason)
    for e in fresh:
        if e["kind"] == "document":
            conflicts = apply_document_entry(session, e["payload"], terminal)
            if conflicts:
                reason = "; ".join(conflicts)
                record_document_conflict(session, terminal, e["uuid"], e["payload"], reason)
                outcomes[e["uuid"]] = Outcome(e["uuid"], CONFLICT, reason)
            else:
                outcomes[e["uuid"]] = Outcome(e["uuid"], APPLIED)
        elif e["kind"] != "movement":
            reason = f"entry kind {e['kind']!r} is not known upstream — update the upstream's warehouse-tui"
            _record_conflict(session, operators, terminal, e["payload"], reason, booked=False)
            outcomes[e["uuid"]] = Outcome(e["uuid"], CONFLICT, reason)
    now = utcnow()
    if fresh:
        who = terminal[:64]
        feed.insert_rows(session.connection(), AppliedEntry.__table__, [
            {"uuid": e["uuid"], "terminal": who, "kind": e["kind"], "outcome": (o := outcomes[e["uuid"]]).outcome, "detail": o.detail,
             "applied_at": now} for e in fresh])
    session.flush()
    return [outcomes[e["uuid"]] for e in entries]


def _applied_before(session: Session, uuids: list[str], postgres: bool) -> dict[str, tuple[str, str | None]]:
    """The entries among `uuids` applied by an earlier push: uuid -> (outcome, detail)."""
    if not uuids:
        return {}
    if postgres:
        # All the uuids as one binary array: psycopg's text form of thousands of them, and the
        # server's parsing of it, cost more than the lookup itself.
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT uuid, outcome, detail FROM applied_entries WHERE uuid = ANY(%b)", (uuids,))
            return {u: (o, d) for u, o, d in cursor.fetchall()}
        finally:
            cursor.close()
    done: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(uuids), 5000):
        done.update({u: (o, d) for u, o, d in session.execute(
            select(AppliedEntry.uuid, AppliedEntry.outcome, AppliedEntry.detail).where(AppliedEntry.uuid.in_(uuids[start:start + 5000])))})
    return done


def _operators(session: Session, badges) -> dict[str, int]:
    badges = {b for b in badges if b}
    return dict(session.execute(select(Operator.badge, Operator.id).where(Operator.badge.in_(badges))).all()) if badges else {}


def _describe(p: dict) -> str:
    where = f"{p.get('from_container') or p.get('from_bin') or '—'} → {p.get('to_container') or p.get('to_bin') or '—'}"
    what = str(p.get("sku", "?")) + (f" lot {p['lot']}" if p.get("lot") else "") + (f" serial {p['serial']}" if p.get("serial") else "")
    return f"{p.get('kind', '?')} {p.get('qty', '?')} × {what} {where}"


def _record_conflict(session: Session, operators: dict[str, int], terminal: str, p: dict, reason: str, *, booked: bool) -> None:
    who = str(p.get("terminal") or terminal)
    detail = f"{who}: {_describe(p)} at {p.get('at', '?')}: {reason}"
    if not booked:
        detail += " — not booked upstream"
    session.add(WarehouseException(
        kind=SYNC_CONFLICT, ref=str(p.get("ref") or p.get("sku") or "")[:64], detail=detail, status="open",
        created_by=operators.get(p.get("operator")), terminal=who[:64],
        data={"entry": p, "reason": reason, "booked": booked,
              "bins": sorted({b for b in (p.get("from_bin"), p.get("to_bin")) if b})},
    ))
