"""`warehouse-tui upstream init` and `sync` from the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse_tui.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_against_an_unreachable_upstream_fails_clearly_without_the_password(tmp_path):
    url = f"postgresql+psycopg://clerk:s3cretPW@127.0.0.1:{closed_port()}/wms"
    done = run("sync", "--db", str(tmp_path / "t.sqlite"), "--terminal", "T1", env={"WAREHOUSE_UPSTREAM": url})
    assert done.returncode != 0
    assert "s3cretPW" not in done.stdout + done.stderr
    assert "unreachable" in (done.stdout + done.stderr).lower() and "Traceback" not in done.stderr


def test_sync_without_an_upstream_says_how_to_set_one(tmp_path):
    done = run("sync", "--db", str(tmp_path / "t.sqlite"), env={"WAREHOUSE_UPSTREAM": ""})
    assert done.returncode != 0 and "WAREHOUSE_UPSTREAM" in done.stderr + done.stdout


@pytest.mark.postgres
def test_upstream_init_is_idempotent_and_a_terminal_syncs_from_it(pg_url, tmp_path):
    first = run("upstream", "init", pg_url)
    again = run("upstream", "init", pg_url)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    done = run("sync", "--db", str(tmp_path / "t.sqlite"), "--terminal", "T1", "--upstream", pg_url)
    assert done.returncode == 0, done.stderr
    assert "pushed 0" in done.stdout
