"""Randomised multi-terminal runs: terminals book, move, go offline and sync in any order; the end state agrees.

Each run (fixed seeds, so a failure replays) lets 2 or 10 terminals do random
work against their own SQLite file — receipts, moves (often of stock another
terminal already took), serial receipts and moves (often of the same serial),
offline sync attempts, syncs — while the upstream also books movements
directly. Then every terminal syncs twice. Afterwards:
- every movement made anywhere is on the upstream exactly once;
- every terminal shows exactly the upstream's stock and serials;
- each conflict a terminal was told of is one sync_conflict exception, seen everywhere;
- `check` holds on every database.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from test_sync_core import CLOSED_PORT_URL, Site, check_ok, serials, stock
from warehouse_tui.db.models import Movement, OutboxEntry, WarehouseException
from warehouse_tui.errors import WarehouseError
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.ledger import Actor, post
from warehouse_tui.sync import UpstreamUnavailable, open_upstream, sync_once

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BINS = ["R1", "R2", "A1", "A2"]
SERIALS = [f"SN-{n}" for n in range(6)]


def random_move(db, name: str, rng: random.Random) -> None:
    """One random action an operator could take at this terminal; refused ones change nothing (as on the floor)."""
    with db.transaction() as s:
        action = rng.random()
        actor = Actor(None, name)
        try:
            with s.begin_nested():
                if action < 0.3:
                    post(s, actor, kind="receipt", item=md.item_by_sku(s, "PLAIN"), qty=rng.randint(1, 5),
                         to_bin=md.bin_by_code(s, rng.choice(BINS)))
                elif action < 0.65:
                    a, b = rng.sample(BINS, 2)
                    post(s, actor, kind="move", item=md.item_by_sku(s, "PLAIN"), qty=rng.randint(1, 4),
                         from_bin=md.bin_by_code(s, a), to_bin=md.bin_by_code(s, b))
                elif action < 0.8:
                    post(s, actor, kind="receipt", item=md.item_by_sku(s, "SERIAL"), qty=1, serial=rng.choice(SERIALS),
                         to_bin=md.bin_by_code(s, rng.choice(BINS)))
                else:
                    a, b = rng.sample(BINS, 2)
                    post(s, actor, kind=rng.choice(["move", "ship"]), item=md.item_by_sku(s, "SERIAL"), qty=1,
                         serial=rng.choice(SERIALS), from_bin=md.bin_by_code(s, a),
                         to_bin=md.bin_by_code(s, b) if rng.random() < 0.7 else None)
        except WarehouseError:
            pass  # the local books refused it: the operator sees an error, nothing is recorded


@pytest.mark.parametrize("terminals,steps,seed", [(2, 200, 11), (2, 200, 12), (10, 300, 13)])
def test_random_work_on_many_terminals_ends_with_one_agreed_stock(pg_url, tmp_path, terminals, steps, seed):
    rng = random.Random(seed)
    site = Site(pg_url, tmp_path)
    try:
        names = [f"T{n}" for n in range(1, terminals + 1)]
        for name in names:
            site.sync(name)
        for _ in range(steps):
            name = rng.choice(names)
            db = site.terminal(name)
            roll = rng.random()
            if roll < 0.78:
                random_move(db, name, rng)
            elif roll < 0.86:
                with pytest.raises(UpstreamUnavailable):
                    sync_once(db, open_upstream(CLOSED_PORT_URL), name)
            elif roll < 0.95:
                site.sync(name)
            else:
                random_move(site.upstream, "UP", rng)  # someone working directly online
        for _ in range(2):
            for name in names:
                site.sync(name)

        with site.upstream.reading() as s:
            upstream_uuids = list(s.scalars(select(Movement.uuid)))
            conflicts = s.scalars(select(WarehouseException.uuid).where(WarehouseException.kind == "sync_conflict")).all()
        assert len(upstream_uuids) == len(set(upstream_uuids))
        made = set()
        told = 0
        for name in names:
            with site.terminal(name).reading() as s:
                made |= set(s.scalars(select(Movement.uuid).where(Movement.origin == "local")))
                told += len(s.scalars(select(OutboxEntry).where(OutboxEntry.outcome == "conflict")).all())
                assert s.scalars(select(OutboxEntry).where(OutboxEntry.pushed_at.is_(None))).all() == []
        assert made <= set(upstream_uuids)  # every terminal's movement is upstream, once
        assert len(conflicts) == told
        expected_stock, expected_serials = stock(site.upstream), serials(site.upstream)
        assert check_ok(site.upstream)
        for name in names:
            db = site.terminal(name)
            assert stock(db) == expected_stock, name
            assert serials(db) == expected_serials, name
            with db.reading() as s:
                mine = set(s.scalars(select(WarehouseException.uuid).where(WarehouseException.kind == "sync_conflict")))
            assert mine == set(conflicts), name
            assert check_ok(db)
    finally:
        site.close()
