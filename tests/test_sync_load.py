"""Fifty terminals syncing at once against one PostgreSQL: every movement reaches the upstream exactly once.

The bench runs the full size (50 terminals x 200 movements over a minute) and reports the
timings; this is the short version (20 movements each over 5 seconds) and asserts no
timing, only that nothing is lost, duplicated or made up.
"""

from __future__ import annotations

import pytest

from warehouse_tui.bench.sync_load import measure_load

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_fifty_terminals_syncing_every_second_lose_and_duplicate_nothing(pg_server, tmp_path):
    result = measure_load(pg_server, tmp_path, terminals=50, movements=20, seconds=5, pullers=2, items=200, bins=200)

    assert result["errors"] == []
    assert result["movements_booked"] == 50 * 20
    assert result["lost"] == 0
    assert result["unknown_upstream"] == 0
    assert result["upstream_exactly_once"] is True
    assert result["movements_upstream"] == 50 * 20
    assert result["left_pending"] == 0
    assert result["applied_entries"].get("applied", 0) >= 50 * 20
    assert result["empty_syncs"] == 2 * 5  # the pulling terminals synced every second, and again at once
