"""How `warehouse-tui bench` reports: percentiles of timings, progress on stderr, the DESIGN §9 budgets."""

from __future__ import annotations

import statistics
import sys


# DESIGN §9, as (limit, unit); `measured` is filled in where this bench measures the figure.
BUDGETS: dict[str, tuple[float, str]] = {
    "scan_to_screen_p95_ms": (15, "ms"),
    "scan_to_screen_p99_ms": (30, "ms"),
    "serial_receipts_10k_s": (30, "s"),
    "sync_push_movements_per_s": (20_000, "movements/s (at least)"),
    "empty_sync_ms": (50, "ms"),
    "pull_100k_items_s": (10, "s"),
    "cold_start_s": (1.0, "s"),
    "import_items_rows_per_s": (50_000, "rows/s (at least)"),
    "import_bins_rows_per_s": (50_000, "rows/s (at least)"),
    "import_stock_rows_per_s": (50_000, "rows/s (at least)"),
    "import_orders_rows_per_s": (50_000, "rows/s (at least)"),
    "resident_memory_mb": (150, "MB"),
}
BUDGETS["floor_view_refresh_ms"] = (50, "ms")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentiles(values_s: list[float]) -> dict[str, float]:
    """p50/p95/p99 (and max) in milliseconds of timings given in seconds."""
    ms = [v * 1000 for v in values_s]
    if len(ms) == 1:
        ms = ms * 2
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 3), "p95_ms": round(cuts[94], 3), "p99_ms": round(cuts[98], 3),
            "max_ms": round(max(ms), 3)}


def budget_report(largest: dict | None, result: dict | None = None) -> dict:
    """The DESIGN §9 budgets, with the measurement beside each one this bench makes."""
    budgets = {name: {"limit": limit, "unit": unit, "measured": None} for name, (limit, unit) in BUDGETS.items()}
    result = result or {}
    scans = result.get("scan_to_screen", {})
    if scans:
        big = scans[max(scans, key=int)]
        for p in ("p95", "p99"):
            budgets[f"scan_to_screen_{p}_ms"]["measured"] = big[f"{p}_ms"]
        rss = [fig.get("peak_rss_mb") for fig in (*scans.values(), result.get("cold_start", {}), result.get("serial_receipts", {})) if fig]
        budgets["resident_memory_mb"]["measured"] = max(r for r in rss if r is not None)
    if "serial_receipts" in result:
        # Fewer than 10,000 receipts (--serials): extrapolated linearly, and said so.
        got = result["serial_receipts"]
        budgets["serial_receipts_10k_s"]["measured"] = round(got["seconds"] * 10_000 / got["count"], 2)
        if got["count"] != 10_000:
            budgets["serial_receipts_10k_s"]["note"] = f"extrapolated from {got['count']} receipts"
    sync = result.get("sync")
    if sync:
        budgets["sync_push_movements_per_s"]["measured"] = sync["sync_push"]["movements_per_s"]
        budgets["empty_sync_ms"]["measured"] = sync["empty_sync"]["p95_ms"]
        if sync.get("load", {}).get("empty_sync_p95_ms") is not None:  # DESIGN §9: the p95 with 50 terminals syncing
            budgets["empty_sync_ms"]["measured"] = sync["load"]["empty_sync_p95_ms"]
            budgets["empty_sync_ms"]["note"] = f"under load: {sync['load']['terminals']} terminals syncing (idle: {sync['empty_sync']['p95_ms']} ms)"
        budgets["pull_100k_items_s"]["measured"] = sync["pull_items"]["seconds"]
        if sync["pull_items"].get("items", 100_000) != 100_000:
            budgets["pull_100k_items_s"]["note"] = f"{sync['pull_items'].get('items')} items pulled"
    if "floor_view" in result:
        budgets["floor_view_refresh_ms"]["measured"] = result["floor_view"]["p95_ms"]
        budgets["floor_view_refresh_ms"]["note"] = "p95 of the slowest page's refresh (services/floor_metrics), off the scan path"
    if "cold_start" in result:
        budgets["cold_start_s"]["measured"] = result["cold_start"]["process_wall_s"]
    for kind, figure in result.get("import", {}).items():
        if f"import_{kind}_rows_per_s" in budgets:
            budgets[f"import_{kind}_rows_per_s"]["measured"] = figure["rows_per_s"]
            budgets[f"import_{kind}_rows_per_s"]["note"] = f"{figure['rows']:,} rows; the write lock held {figure['writing_s']} s"
    for figure in budgets.values():
        if figure["measured"] is not None and "within" not in figure:
            limit = figure["limit"]
            figure["within"] = figure["measured"] >= limit if "at least" in figure["unit"] else figure["measured"] <= limit
    if largest:
        # The ledger transaction is one part of scan -> durable commit -> screen; shown against that budget.
        for p, limit in (("p95", 15), ("p99", 30)):
            budgets[f"ledger_receipt_{p}_ms"] = {
                "limit": limit, "unit": "ms", "measured": largest[f"{p}_ms"], "within": largest[f"{p}_ms"] <= limit,
                "note": f"the ledger transaction alone, part of scan_to_screen_{p}_ms",
            }
    return budgets
