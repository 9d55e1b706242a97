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


@pytest.mark.postgres
def test_a_large_pull_draws_a_progress_bar_to_the_end_and_a_small_one_does_not(pg_url, tmp_path, monkeypatch):
    import io

    from warehouse_tui.db.engine import Database
    from warehouse_tui.demo import build_demo
    from warehouse_tui.sync import init_upstream, pull, sync_command

    build_demo(pg_url)
    init_upstream(pg_url)
    monkeypatch.setattr(pull, "PAGE", 50)  # the demo's feed is many pages of 50
    terminal = Database(tmp_path / "t.sqlite")
    # when a new terminal pulls the whole demo warehouse
    bar, out = io.StringIO(), io.StringIO()
    assert sync_command(terminal, pg_url, "T1", out=out, progress=bar) == 0
    # then the bar is redrawn page by page up to every change, ending its line
    frames = bar.getvalue().split("\r")[1:]
    assert len(frames) > 3
    done, total = frames[-1].split("] ")[1].split(" changes")[0].split("/")
    assert done == total and int(total.replace(",", "")) > 50 and frames[-1].endswith("\n")
    assert frames[0].startswith("T1: pulling [....") and " 0/" in frames[0]
    # and a sync with nothing new to pull draws none
    quiet = io.StringIO()
    assert sync_command(terminal, pg_url, "T1", out=out, progress=quiet) == 0
    assert quiet.getvalue() == ""
    terminal.dispose()
