"""The benchmark datasets: large warehouses built once in a child process and cached, or a copy of the user's."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from warehouse_tui.bench.report import log
from warehouse_tui.config import APP
from warehouse_tui.db.engine import to_url
from warehouse_tui.errors import InvalidInput


DATASET_VERSION = 1
BASE_QUANTS = 10_000


@dataclass
class Dataset:
    path: Path
    quants: int
    items: int
    bins: int
    build_s: float | None  # None: reused from an earlier run

    def describe(self) -> dict:
        return {"file": str(self.path), "quants": self.quants, "items": self.items, "bins": self.bins,
                "built_s": None if self.build_s is None else round(self.build_s, 1), "reused": self.build_s is None}


def default_workdir() -> Path:
    return Path(platformdirs.user_cache_dir(APP)) / "bench"


def scaled(quants: int, items: int, bins: int, at: int) -> tuple[int, int]:
    """Items and bins for a dataset of `at` quants, in the proportion of the large one."""
    factor = at / quants
    return max(10, round(items * factor)), max(20, round(bins * factor))


def ensure_dataset(workdir: Path, quants: int, items: int, bins: int) -> Dataset:
    """The dataset of this size in `workdir`, built (in a child process) unless already there."""
    from warehouse_tui.db.migrate import head_revision

    # The schema revision is in the name: a dataset cached under an older schema is never reused.
    path = workdir / f"large-v{DATASET_VERSION}-r{head_revision()}-q{quants}-i{items}-b{bins}.sqlite"
    if path.exists():
        log(f"reusing {path}")
        return Dataset(path, quants, items, bins, None)
    workdir.mkdir(parents=True, exist_ok=True)
    log(f"building {path} ({quants:,} quants, {items:,} items, {bins:,} bins)")
    code = ("import sys; from warehouse_tui.demo import build_large; "
            "build_large(sys.argv[1], items=int(sys.argv[2]), bins=int(sys.argv[3]), quants=int(sys.argv[4]))")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(path), str(items), str(bins), str(quants)], check=True,
                   stdout=subprocess.DEVNULL)
    return Dataset(path, quants, items, bins, time.perf_counter() - started)


def copy_database(source: str, workdir: Path) -> Dataset:
    """A copy of a user's SQLite database to measure on: the bench writes receipts and must not touch theirs."""
    src = to_url(source)
    if src.get_backend_name() != "sqlite" or not src.database or not Path(src.database).exists():
        raise InvalidInput(f"bench --db takes an existing SQLite file, not {source}")
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / f"copy-of-{Path(src.database).name}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    source_con, copy_con = sqlite3.connect(src.database), sqlite3.connect(target)
    try:
        source_con.backup(copy_con)
        quants, items, bins = (copy_con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("quants", "items", "bins"))
    finally:
        source_con.close()
        copy_con.close()
    return Dataset(target, quants, items, bins, time.perf_counter() - started)
