"""The `ledger_receipt` figure: one durable receipt through the ledger beside the bare sqlite3 transaction."""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from warehouse_tui.bench.datasets import Dataset
from warehouse_tui.bench.report import percentiles
from warehouse_tui.db.engine import BUSY_TIMEOUT_MS, Database
from warehouse_tui.db.models import Bin, Item, Lot, Operator
from warehouse_tui.demo import OPERATOR_BADGE
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services.ledger import Actor, post


BENCH_TERMINAL = "BENCH"
BENCH_REF = "BENCH-RECEIPT"


@dataclass(frozen=True)
class Target:
    """An existing quant to receive one unit into, with the names its outbox payload carries."""

    key: str
    item_id: int
    bin_id: int
    lot_id: int | None
    owner_id: int
    sku: str
    owner: str
    bin: str
    lot: str | None
    expiry: str | None


def pick_targets(path: Path, count: int, rng: random.Random) -> list[Target]:
    """`count` distinct quants at random over the whole dataset (not serial items, not blocked bins)."""
    con = sqlite3.connect(path)
    try:
        top = con.execute("SELECT max(id) FROM quants").fetchone()[0] or 0
        chosen: dict[int, Target] = {}
        tried: set[int] = set()
        while len(chosen) < count and len(tried) < top:
            ids = [i for i in rng.sample(range(1, top + 1), min(top, 2 * (count - len(chosen)) + 16)) if i not in tried]
            tried.update(ids)
            marks = ",".join("?" * len(ids))
            for row in con.execute(
                "SELECT q.id, q.key, q.item_id, q.bin_id, q.lot_id, q.owner_id, i.sku, o.code, b.code, l.code, l.expiry "
                "FROM quants q JOIN items i ON i.id = q.item_id JOIN owners o ON o.id = q.owner_id "
                "JOIN bins b ON b.id = q.bin_id LEFT JOIN lots l ON l.id = q.lot_id "
                f"WHERE q.id IN ({marks}) AND i.tracking != 'serial' AND b.blocked = 0 "
                "AND q.container_id IS NULL AND q.status = 'available'", ids):
                if len(chosen) < count:
                    chosen[row[0]] = Target(*row[1:])
    finally:
        con.close()
    if len(chosen) < count:
        raise InvalidInput(f"{path} has only {len(chosen)} quants a receipt can go into, {count} needed")
    targets = list(chosen.values())
    rng.shuffle(targets)
    return targets


class LedgerReceipt:
    """One unit received into a quant through ledger.post, in one durable Database.transaction()."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path)
        with self.db.reading() as s:
            operator = s.scalars(select(Operator).where(Operator.badge == OPERATOR_BADGE)).one_or_none()
            if operator is not None:
                s.expunge(operator)  # keeps its loaded attributes past the read's rollback
        self.actor = Actor(operator, BENCH_TERMINAL)

    def __call__(self, t: Target) -> None:
        with self.db.transaction() as s:
            item = s.get(Item, t.item_id)
            bin_ = s.get(Bin, t.bin_id)
            lot = s.get(Lot, t.lot_id) if t.lot_id else None
            post(s, self.actor, kind="receipt", item=item, qty=1, lot=lot, to_bin=bin_, doc_ref=BENCH_REF)

    def close(self) -> None:
        self.db.dispose()


class BareReceipt:
    """The same writes as LedgerReceipt through the sqlite3 driver: the baseline."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path, isolation_level=None)
        for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
            self.con.execute(f"PRAGMA {pragma}")
        row = self.con.execute("SELECT id, badge FROM operators WHERE badge = ?", (OPERATOR_BADGE,)).fetchone()
        self.operator_id, self.badge = row if row else (None, None)

    def __call__(self, t: Target) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            found = con.execute("SELECT id FROM quants WHERE key = ?", (t.key,)).fetchone()
            if found:
                con.execute("UPDATE quants SET qty = qty + 1 WHERE id = ?", (found[0],))
            else:
                con.execute(
                    "INSERT INTO quants (key, item_id, bin_id, lot_id, container_id, owner_id, status, qty, reserved) "
                    "VALUES (?, ?, ?, ?, NULL, ?, 'available', 1, 0)", (t.key, t.item_id, t.bin_id, t.lot_id, t.owner_id))
            movement_id = str(uuid.uuid4())
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            at = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            con.execute(
                "INSERT INTO movements (uuid, kind, item_id, qty, lot_id, serial, from_bin_id, to_bin_id, from_container_id, "
                "to_container_id, owner_id, from_status, to_status, operator_id, terminal, at, doc_ref, conflict) "
                "VALUES (?, 'receipt', ?, 1, ?, NULL, NULL, ?, NULL, NULL, ?, 'available', 'available', ?, ?, ?, ?, 0)",
                (movement_id, t.item_id, t.lot_id, t.bin_id, t.owner_id, self.operator_id, BENCH_TERMINAL, at, BENCH_REF))
            payload = {
                "id": movement_id, "kind": "receipt", "sku": t.sku, "owner": t.owner, "qty": 1, "lot": t.lot,
                "expiry": t.expiry, "serial": None, "from_bin": None, "to_bin": t.bin, "from_container": None,
                "to_container": None, "from_status": "available", "to_status": "available", "operator": self.badge,
                "terminal": BENCH_TERMINAL, "at": now.isoformat(), "ref": BENCH_REF,
            }
            con.execute("INSERT INTO outbox (uuid, kind, payload, terminal, created_at) VALUES (?, 'movement', ?, ?, ?)",
                        (movement_id, json.dumps(payload), BENCH_TERMINAL, at))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()


def _timed(work: Callable[[Target], None], target: Target) -> float:
    started = time.perf_counter()
    work(target)
    return time.perf_counter() - started


def measure_ledger_receipt(dataset: Dataset, samples: int, rng: random.Random) -> dict:
    """Ledger vs bare receipt percentiles on one dataset, samples interleaved."""
    warmup = min(20, max(3, samples // 10))
    targets = pick_targets(dataset.path, 2 * (samples + warmup), rng)
    ledger, bare = LedgerReceipt(dataset.path), BareReceipt(dataset.path)
    times: dict[str, list[float]] = {"ledger": [], "bare": []}
    try:
        for n in range(samples + warmup):
            a, b = targets[2 * n], targets[2 * n + 1]
            t_ledger, t_bare = _timed(ledger, a), _timed(bare, b)
            if n >= warmup:
                times["ledger"].append(t_ledger)
                times["bare"].append(t_bare)
    finally:
        ledger.close()
        bare.close()
    mine, base = percentiles(times["ledger"]), percentiles(times["bare"])
    figure = {"quants": dataset.quants, "samples": samples, **mine}
    figure.update({f"bare_{k}": v for k, v in base.items()})
    for p in ("p50", "p95", "p99"):
        figure[f"ratio_{p}"] = round(mine[f"{p}_ms"] / base[f"{p}_ms"], 2) if base[f"{p}_ms"] else None
    return figure
