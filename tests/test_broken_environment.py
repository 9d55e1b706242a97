"""A broken environment is one line on stderr and a non-zero exit, never a traceback, and loses nothing (issue 10).

Each case is made for real: a full disk (a small tmpfs mounted in a private
mount namespace), read-only files and folders (chmod for a user; chattr +i for
root, whom chmod does not stop), a truncated file, a file of garbage, an
unwritable data dir, a folder given as --config, a database server that is down.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_check import run_cli, stocked  # noqa: F401  (stocked is a fixture)


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """The command failed with exactly one `error:` line on stderr that holds `words`; returns that line."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """`path` (a file or folder) cannot be written by the CLI's processes while the block runs."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    # root writes through any mode bits; the immutable attribute stops root too
    if shutil.which("chattr") is None:
        pytest.skip("running as root, where chmod does not stop writes, and chattr is not installed")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"running as root, where chmod does not stop writes, and chattr +i failed: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- read-only


def test_a_read_only_database_file_refuses_writes_in_one_line_and_still_reads(tmp_path, stocked):
    before = digest(stocked)
    with unwritable(stocked):
        write = run_cli(tmp_path, "count", "create", "--bins", "A-01", "--db", str(stocked))
        app = run_cli(tmp_path, "run", "--db", str(stocked), "--scanner", "sim://")
        check = run_cli(tmp_path, "check", "--db", str(stocked))
    refused(write, "read-only", str(stocked))
    refused(app, "read-only")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All invariants hold." in check.stdout
    assert digest(stocked) == before


def test_a_database_in_a_read_only_folder_refuses_writes_in_one_line_and_still_reads(tmp_path, stocked):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "warehouse.sqlite"
    shutil.move(stocked, db)
    before = digest(db)
    with unwritable(folder):
        write = run_cli(tmp_path, "count", "create", "--bins", "A-01", "--db", str(db))
        export = run_cli(tmp_path, "export", "stock", "--db", str(db))
        check = run_cli(tmp_path, "check", "--db", str(db))
    refused(write, str(db))
    assert export.returncode == 0, export.stderr
    assert "PLAIN,A-01" in export.stdout
    assert check.returncode == 0, check.stdout + check.stderr
    assert digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["warehouse.sqlite"]


# --------------------------------------------------------------------------- damaged files


def test_a_truncated_database_is_reported_not_a_traceback(tmp_path, stocked):
    size = stocked.stat().st_size
    with open(stocked, "r+b") as f:
        f.truncate(size * 6 // 10)
    check = run_cli(tmp_path, "check", "--db", str(stocked))
    export = run_cli(tmp_path, "export", "ledger", "--db", str(stocked))
    write = run_cli(tmp_path, "count", "create", "--bins", "A-01", "--db", str(stocked))
    assert check.returncode == 1 and "Traceback" not in check.stderr, check.stdout + check.stderr
    assert "All invariants hold." not in check.stdout
    assert "BROKEN the SQLite file is sound" in check.stdout or check.stderr.startswith("error: ")
    for result in (export, write):
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith("error: ")


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    junk = tmp_path / "photo.sqlite"
    junk.write_bytes(random.Random(4).randbytes(65536))
    before = digest(junk)
    for command in (("check",), ("export", "stock"), ("db", "upgrade"), ("run", "--scanner", "sim://"), ("wave",)):
        refused(run_cli(tmp_path, *command, "--db", str(junk)), "is not a warehouse database", str(junk))
    assert digest(junk) == before
    assert sorted(p.name for p in tmp_path.glob("photo.sqlite*")) == ["photo.sqlite"]


# --------------------------------------------------------------------------- settings and folders


def test_an_unwritable_data_dir_is_one_line(tmp_path):
    share = tmp_path / "home" / ".local" / "share"  # the data dir run_cli gives the CLI
    share.mkdir(parents=True)
    with unwritable(share):
        app = run_cli(tmp_path, "run", "--scanner", "sim://")
        demo = run_cli(tmp_path, "demo", "--no-open")
    refused(app, "warehouse-tui")
    refused(demo, "warehouse-tui")
    assert list(share.iterdir()) == []


def test_a_folder_given_as_database_is_one_line(tmp_path):
    for command in (("check",), ("count", "create", "--zone", "A"), ("run", "--scanner", "sim://")):
        refused(run_cli(tmp_path, *command, "--db", str(tmp_path)), f"{tmp_path} is a folder")


def test_a_folder_given_as_config_is_one_line(tmp_path, stocked):
    folder = tmp_path / "conf.d"
    folder.mkdir()
    refused(run_cli(tmp_path, "check", "--config", str(folder), "--db", str(stocked)), str(folder), "folder")


def test_a_database_server_that_is_down_is_one_line_without_the_password(tmp_path):
    url = f"postgresql+psycopg://clerk:s3cretPW@127.0.0.1:{closed_port()}/wms"
    for command in (("check",), ("export", "stock"), ("count", "create", "--zone", "A"), ("run", "--scanner", "sim://")):
        line = refused(run_cli(tmp_path, *command, "--db", url), "Cannot reach database", "clerk:***@127.0.0.1")
        assert "s3cretPW" not in line


# --------------------------------------------------------------------------- a full disk

# Runs inside the private mount namespace, where `mount` is the small tmpfs holding the warehouse.
FULL_DISK = r"""
import json, os, shutil, subprocess, sys
mount, source = sys.argv[1], sys.argv[2]
db = os.path.join(mount, "warehouse.sqlite")
shutil.copyfile(source, db)

def cli(*args):
    done = subprocess.run([sys.executable, "-m", "warehouse_tui.cli", *args, "--db", db], capture_output=True, text=True, timeout=120)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}

results = {"demo": cli("demo", "--force", "--no-open")}  # no room for a second warehouse beside the first
fd = os.open(os.path.join(mount, "filler"), os.O_WRONLY | os.O_CREAT)
try:
    while True:
        os.write(fd, bytes(4096))
except OSError:
    pass
os.close(fd)
results["write"] = cli("count", "create", "--bins", "A-01")
os.unlink(os.path.join(mount, "filler"))
results["check"] = cli("check")
results["left"] = sorted(os.listdir(mount))
print(json.dumps(results))
"""


def test_a_full_disk_is_one_line_and_the_warehouse_survives(tmp_path, stocked):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a full disk is made as a small tmpfs in a private mount namespace, which needs root and unshare")
    disk = tmp_path / "disk"
    disk.mkdir()
    driver = tmp_path / "full_disk.py"
    driver.write_text(FULL_DISK, encoding="utf-8")
    size_kb = stocked.stat().st_size // 1024 + 256  # the warehouse and a little room
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home/.config"),
               XDG_DATA_HOME=str(tmp_path / "home/.local/share"))
    script = f"mount -t tmpfs -o size={size_kb}k tmpfs {disk} && exec {sys.executable} {driver} {disk} {stocked}"
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    if done.returncode != 0 and "mount" in done.stderr and not done.stdout:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    print(json.dumps(results, indent=1))
    # a demo that does not fit fails in one line, and the warehouse it was to replace is still there, whole
    refused(subprocess.CompletedProcess([], **results["demo"]), "full")
    # a write on a disk with no room left fails in one line
    refused(subprocess.CompletedProcess([], **results["write"]), "full")
    # and once there is room again, the warehouse is whole and nothing half-built is left behind
    assert results["check"]["returncode"] == 0, results["check"]
    assert "All invariants hold." in results["check"]["stdout"]
    assert "warehouse.sqlite" in results["left"]
    assert not [name for name in results["left"] if ".building" in name], results["left"]
