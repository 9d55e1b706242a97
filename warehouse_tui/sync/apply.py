"""Upstream side of a push: apply a terminal's outbox entries exactly once, each with an outcome.

One push batch is one upstream transaction, taken under `PUSH_LOCK` so pushes
from several terminals apply one after the other (a conflict then depends only
on push order, and pushes never deadlock each other). For each entry:

- Its uuid is looked up in `applied_entries`: already there -> **duplicate**,
  nothing applied again, and the first outcome is reported with it.
- A movement names everything by natural keys (sku + owner, bin codes, lot code
  + expiry, container codes, serial, operator badge); lots and containers
  unknown upstream are created, as the terminal created them.
- The movement is posted through `ledger.post` with its own uuid and time,
  inside a savepoint -> **applied**.
- If the books refuse it (stock not there, reserved for someone else, serial
  elsewhere, container standing elsewhere, bin blocked), the physical action
  happened anyway: the savepoint is rolled back and the movement is posted
  again with `allow_negative` -> **conflict**. The movement is flagged
  `conflict`, and an open `sync_conflict` exception (its data: the entry and
  the reason) goes to the supervisor queue of every terminal.
- If it cannot be booked at all (an item or bin the upstream does not know, a
  tracking rule the entry breaks) it is **conflict** too, recorded in
  `applied_entries` and in a `sync_conflict` exception holding the whole entry,
  but no stock moves: nothing to book it against.

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

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from warehouse_tui.db.models import AppliedEntry, Bin, Container, ContainerKind, Item, Lot, Operator, Owner, WarehouseException
from warehouse_tui.errors import InvalidInput, InvariantViolation, NotAllowed, NotFound, WarehouseError
from warehouse_tui.services.ledger import Actor, post
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
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUSH_LOCK})
    uuids = [e["uuid"] for e in entries]
    done = {a.uuid: a for a in session.scalars(select(AppliedEntry).where(AppliedEntry.uuid.in_(uuids)))}
    resolver = _Resolver(session)
    outcomes = []
    for entry in entries:
        first = done.get(entry["uuid"])
        if first is not None:
            outcomes.append(Outcome(entry["uuid"], DUPLICATE, first.detail, first.outcome))
            continue
        outcome = _apply_one(session, resolver, terminal, entry)
        record = AppliedEntry(uuid=entry["uuid"], terminal=terminal, kind=entry["kind"], outcome=outcome.outcome, detail=outcome.detail)
        session.add(record)
        done[entry["uuid"]] = record
        outcomes.append(outcome)
    session.flush()
    return outcomes


def _apply_one(session: Session, resolver: _Resolver, terminal: str, entry: dict) -> Outcome:
    if entry["kind"] == "movement":
        return _apply_movement(session, resolver, terminal, entry["uuid"], entry["payload"])
    reason = f"entry kind {entry['kind']!r} is not known upstream — update the upstream's warehouse-tui"
    _record_conflict(session, resolver, terminal, entry["payload"], reason, applied=False)
    return Outcome(entry["uuid"], CONFLICT, reason)


def _apply_movement(session: Session, resolver: _Resolver, terminal: str, uuid: str, p: dict) -> Outcome:
    try:
        args = resolver.movement_args(p)
    except WarehouseError as exc:
        reason = f"not booked: {exc}"
        _record_conflict(session, resolver, terminal, p, reason, applied=False)
        return Outcome(uuid, CONFLICT, reason)
    notes = args.pop("notes")
    actor = Actor(resolver.operator(p.get("operator")), p.get("terminal") or terminal)
    try:
        with session.begin_nested():
            post(session, actor, movement_uuid=uuid, **args)
    except (InvariantViolation, NotAllowed) as exc:
        reason = str(exc)
    except InvalidInput as exc:
        reason = f"not booked: {exc}"
        _record_conflict(session, resolver, terminal, p, reason, applied=False)
        return Outcome(uuid, CONFLICT, reason)
    else:
        if not notes:
            return Outcome(uuid, APPLIED)
        reason = "; ".join(notes)
        _record_conflict(session, resolver, terminal, p, reason, applied=True)
        return Outcome(uuid, CONFLICT, reason)
    # The physical action happened: book it whatever the books say, flagged.
    resolver.forget()  # the savepoint's rollback expired what was loaded
    args = resolver.movement_args(p)
    notes = args.pop("notes")
    post(session, actor, movement_uuid=uuid, allow_negative=True, **args)
    reason = "; ".join([reason, *notes])
    _record_conflict(session, resolver, terminal, p, reason, applied=True)
    return Outcome(uuid, CONFLICT, reason)


def _describe(p: dict) -> str:
    where = f"{p.get('from_container') or p.get('from_bin') or '—'} → {p.get('to_container') or p.get('to_bin') or '—'}"
    what = p.get("sku", "?") + (f" lot {p['lot']}" if p.get("lot") else "") + (f" serial {p['serial']}" if p.get("serial") else "")
    return f"{p.get('kind', '?')} {p.get('qty', '?')} × {what} {where}"


def _record_conflict(session: Session, resolver: _Resolver, terminal: str, p: dict, reason: str, *, applied: bool) -> None:
    who = p.get("terminal") or terminal
    detail = f"{who}: {_describe(p)} at {p.get('at', '?')}: {reason}"
    if not applied:
        detail += " — not booked upstream"
    operator = resolver.operator(p.get("operator"))
    session.add(WarehouseException(
        kind=SYNC_CONFLICT, ref=str(p.get("ref") or p.get("sku") or "")[:64], detail=detail, status="open",
        created_by=operator.id if operator else None, terminal=who[:64],
        data={"entry": p, "reason": reason, "booked": applied,
              "bins": sorted({b for b in (p.get("from_bin"), p.get("to_bin")) if b})},
    ))


class _Resolver:
    """Natural keys -> upstream rows, cached for one batch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.forget()

    def forget(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.bins: dict[str, Bin] = {}
        self.operators: dict[str, Operator | None] = {}

    def item(self, sku: str, owner_code: str | None) -> Item:
        key = (sku, owner_code or "")
        if key not in self.items:
            query = select(Item).where(Item.sku == sku)
            found = self.session.scalars(query.join(Owner).where(Owner.code == owner_code)).one_or_none() if owner_code else None
            if found is None:
                candidates = self.session.scalars(query).all()
                if len(candidates) != 1:
                    raise NotFound(f"item {sku} of owner {owner_code} is not known upstream")
                found = candidates[0]
            self.items[key] = found
        return self.items[key]

    def bin(self, code: str | None) -> Bin | None:
        if code is None:
            return None
        if code not in self.bins:
            found = self.session.scalars(select(Bin).where(Bin.code == code)).one_or_none()
            if found is None:
                raise NotFound(f"bin {code} is not known upstream")
            self.bins[code] = found
        return self.bins[code]

    def operator(self, badge: str | None) -> Operator | None:
        if badge is None:
            return None
        if badge not in self.operators:
            self.operators[badge] = self.session.scalars(select(Operator).where(Operator.badge == badge)).one_or_none()
        return self.operators[badge]

    def lot(self, item: Item, code: str | None, expiry: str | None, notes: list[str]) -> Lot | None:
        return resolve_lot(self.session, item, code, expiry, notes)

    def container(self, code: str | None, kind: str | None) -> Container | None:
        return resolve_container(self.session, code, kind)

    def movement_args(self, p: dict) -> dict:
        notes: list[str] = []
        item = self.item(p["sku"], p.get("owner"))
        owner = self.session.scalars(select(Owner).where(Owner.code == p["owner"])).one_or_none() if p.get("owner") else None
        return {
            "kind": p["kind"], "item": item, "qty": p["qty"], "lot": self.lot(item, p.get("lot"), p.get("expiry"), notes),
            "serial": p.get("serial"), "from_bin": self.bin(p.get("from_bin")), "to_bin": self.bin(p.get("to_bin")),
            "from_container": self.container(p.get("from_container"), p.get("from_container_kind")),
            "to_container": self.container(p.get("to_container"), p.get("to_container_kind")),
            "from_status": p.get("from_status") or "available", "to_status": p.get("to_status") or "available",
            "owner": owner, "doc_ref": p.get("ref"), "consume_reserved": int(p.get("consume_reserved") or 0),
            "at": parse_time(p.get("at")), "notes": notes,
        }


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def resolve_lot(session: Session, item: Item, code: str | None, expiry: str | None, notes: list[str]) -> Lot | None:
    """The item's lot by code, created if new; an expiry that differs is kept as it is and noted."""
    if code is None:
        return None
    when = dt.date.fromisoformat(expiry) if expiry else None
    found = session.scalars(select(Lot).where(Lot.item_id == item.id, Lot.code == code)).one_or_none()
    if found is None:
        found = Lot(item_id=item.id, code=code, expiry=when)
        session.add(found)
        session.flush()
    elif when is not None and found.expiry is None:
        found.expiry = when
    elif when is not None and found.expiry != when:
        notes.append(f"lot {code} of {item.sku} expires {found.expiry:%Y-%m-%d} here, {when:%Y-%m-%d} on the terminal")
    return found


def resolve_container(session: Session, code: str | None, kind: str | None) -> Container | None:
    if code is None:
        return None
    found = session.scalars(select(Container).where(Container.code == code)).one_or_none()
    if found is None:
        valid = {k.value for k in ContainerKind}
        found = Container(code=code, kind=kind if kind in valid else ContainerKind.LPN.value)
        session.add(found)
        session.flush()
    return found
