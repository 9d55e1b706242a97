"""Shipment confirmations to the OMS: one per shipped carton (order, carrier, tracking, ship date, SKUs and quantities), exported or posted once.

- `export confirmations [--since T | --unsent] [--mark-sent]` writes them as CSV
  or JSON; with --mark-sent the rows written are marked sent in the same
  transaction, so a cron job hands each over once and only once.
- `confirm --url URL` posts each unsent one as JSON to the OMS's webhook, with
  its confirmation id in the body and in an `Idempotency-Key` header, retrying
  with back-off on a timeout, a refused connection, 408, 429 and 5xx; a
  confirmation is marked sent only when the endpoint answered 2xx, and each
  mark is committed at once, so a run stopped half-way resends nothing that
  was acknowledged. Another 4xx is the endpoint refusing that confirmation:
  reported, not retried, left unsent.

A confirmation's id is its carton's code (unique across the site: terminals put
their name in it), so a receiver that sees an id twice (a 2xx lost on the way
back) drops the second.

CSV has one row per carton with `skus` and `quantities` as parallel lists joined
by `|` (the shape order-import CSVs of the common channels take); JSON carries
`lines` as a list of {sku, qty}.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from warehouse_tui.db.engine import Database
from warehouse_tui.db.models import Carton, CartonLine, Container, Item, OutboundOrder, Owner, utcnow
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services.exporting import _time, _write_csv, owner_id

CSV_KEYS = ("confirmation_id", "order", "channel", "carrier", "service", "tracking", "shipped_at", "sscc", "owner",
            "skus", "quantities")
JSON_KEYS = ("confirmation_id", "order", "channel", "carrier", "service", "tracking", "shipped_at", "sscc", "owner", "lines")


@dataclass(frozen=True)
class Confirmation:
    confirmation_id: str
    order: str
    channel: str
    carrier: str | None
    service: str | None
    tracking: str | None
    shipped_at: str | None
    sscc: str | None
    owner: str
    lines: tuple[tuple[str, int], ...] = field(default=())

    def as_json(self) -> dict:
        return {**{k: getattr(self, k) for k in JSON_KEYS if k != "lines"},
                "lines": [{"sku": sku, "qty": qty} for sku, qty in self.lines]}

    def as_csv(self) -> tuple:
        return (self.confirmation_id, self.order, self.channel, self.carrier, self.service, self.tracking, self.shipped_at,
                self.sscc, self.owner, "|".join(sku for sku, _ in self.lines), "|".join(str(q) for _, q in self.lines))


def parse_since(text: str | None) -> dt.datetime | None:
    """--since as naive UTC: an ISO date or date-time (a Z or offset is converted); InvalidInput otherwise."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since must be a date or time like 2026-12-01 or 2026-12-01T08:00:00Z, not {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def pending(session: Session, *, since: dt.datetime | None = None, unsent: bool = False, owner: str | None = None,
            cartons: Iterable[str] | None = None) -> list[Confirmation]:
    """The confirmations of shipped cartons, oldest shipment first; filtered by ship time, sent state, owner or carton codes."""
    query = (select(Carton.id, Container.code, OutboundOrder, Carton.sscc, Carton.tracking)
             .join(Container, Container.id == Carton.container_id).join(OutboundOrder, OutboundOrder.id == Carton.order_id)
             .where(Carton.status == "shipped").order_by(OutboundOrder.shipped_at, OutboundOrder.ref, Carton.id))
    if since is not None:
        query = query.where(OutboundOrder.shipped_at >= since)
    if unsent:
        query = query.where(Carton.confirmation_sent_at.is_(None))
    if cartons is not None:
        query = query.where(Container.code.in_(list(cartons)))
    rows = session.execute(query).all()
    lines: dict[int, dict[str, int]] = defaultdict(dict)
    owners: dict[int, set[str]] = defaultdict(set)
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 500):
        for carton_id, sku, qty, owner_code in session.execute(
                select(CartonLine.carton_id, Item.sku, CartonLine.qty, Owner.code)
                .join(Item, Item.id == CartonLine.item_id).join(Owner, Owner.id == Item.owner_id)
                .where(CartonLine.carton_id.in_(ids[start:start + 500])).order_by(CartonLine.id)):
            lines[carton_id][sku] = lines[carton_id].get(sku, 0) + qty
            owners[carton_id].add(owner_code)
    if owner:
        owner_id(session, owner)  # an owner that does not exist is refused, not an empty list
    return [Confirmation(code, order.ref, order.channel, order.carrier, order.service, tracking, _time(order.shipped_at),
                         sscc, "|".join(sorted(owners[carton_id])), tuple(lines[carton_id].items()))
            for carton_id, code, order, sscc, tracking in rows if not owner or owner in owners[carton_id]]


def mark_sent(session: Session, confirmation_ids: Iterable[str], at: dt.datetime | None = None) -> int:
    """Mark the cartons of these confirmations sent (now, by the app's clock); returns how many."""
    ids = list(confirmation_ids)
    if not ids:
        return 0
    boxes = select(Container.id).where(Container.code.in_(ids)).scalar_subquery()
    # Set through the ORM, not a bulk UPDATE: the sync hooks see the mark (a terminal pushes it upstream,
    # the upstream's change feed hands it to every terminal), so a confirmation is sent once site-wide.
    cartons = session.scalars(select(Carton).where(Carton.container_id.in_(boxes), Carton.confirmation_sent_at.is_(None))).all()
    when = at or utcnow()
    for carton in cartons:
        carton.confirmation_sent_at = when
    session.flush()
    return len(cartons)


def write(confirmations: list[Confirmation], fmt: str, out: TextIO) -> int:
    """Write the confirmations as CSV (formula-safe, as every export) or JSON; returns the number written."""
    if fmt == "csv":
        return _write_csv(CSV_KEYS, (c.as_csv() for c in confirmations), out)
    if fmt != "json":
        raise InvalidInput(f"export format must be csv or json, not {fmt!r}")
    items = [json.dumps(c.as_json(), ensure_ascii=False) for c in confirmations]
    out.write("[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n")
    return len(confirmations)


# --------------------------------------------------------------------------- confirm --url


@dataclass
class PostResult:
    sent: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)   # (id, why) the endpoint answered 4xx
    failed: tuple[str, str] | None = None                          # (id, why) still failing after every retry: the run stopped

    @property
    def ok(self) -> bool:
        return not self.refused and self.failed is None

    def __str__(self) -> str:
        text = f"Sent {len(self.sent)} confirmation(s)"
        if self.refused:
            text += "; refused by the endpoint: " + "; ".join(f"{cid} ({why})" for cid, why in self.refused)
        if self.failed:
            text += f"; stopped at {self.failed[0]}: {self.failed[1]} — the rest stay unsent for the next run"
        return text


RETRY_STATUSES = frozenset({408, 429})


def post(db: Database, url: str, *, owner: str | None = None, attempts: int = 5, backoff_s: float = 1.0,
         timeout_s: float = 10.0, sleep: Callable[[float], None] = time.sleep) -> PostResult:
    """POST every unsent confirmation to `url` as JSON, one request each; mark each sent on a 2xx.

    Retries a timeout, a connection failure, 408, 429 and 5xx up to `attempts` times,
    waiting backoff_s, 2 × backoff_s … between tries; another status is a refusal of that
    confirmation (reported, left unsent). Stops at a confirmation that still fails, so
    the endpoint being down sends nothing out of order. Raises InvalidInput for a URL
    that is not http(s).
    """
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"--url must be an http:// or https:// address, not {url!r}")
    with db.reading() as session:
        todo = pending(session, unsent=True, owner=owner)
    result = PostResult()
    for confirmation in todo:
        outcome = _post_one(url, confirmation, attempts=attempts, backoff_s=backoff_s, timeout_s=timeout_s, sleep=sleep)
        if outcome is None:
            with db.transaction() as session:
                mark_sent(session, [confirmation.confirmation_id])
            result.sent.append(confirmation.confirmation_id)
        elif outcome[0] == "refused":
            result.refused.append((confirmation.confirmation_id, outcome[1]))
        else:
            result.failed = (confirmation.confirmation_id, outcome[1])
            break
    return result


def _post_one(url: str, confirmation: Confirmation, *, attempts: int, backoff_s: float, timeout_s: float,
              sleep: Callable[[float], None]) -> tuple[str, str] | None:
    """None when the endpoint took it (2xx); ("refused", why) for a 4xx it will not take; ("failed", why) after the last try."""
    body = json.dumps(confirmation.as_json(), ensure_ascii=False).encode("utf-8")
    why = ""
    for attempt in range(max(1, attempts)):
        if attempt:
            sleep(backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": confirmation.confirmation_id,
            "User-Agent": "warehouse-tui confirm"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
                if 200 <= response.status < 300:
                    return None
                why = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            why = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code not in RETRY_STATUSES:
                return ("refused", why)
        except TimeoutError:
            why = f"no answer within {timeout_s:g} s"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            why = "timed out" if isinstance(reason, TimeoutError) else f"cannot connect ({reason})"
    return ("failed", f"{why} after {attempts} tries")
