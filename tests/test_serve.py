"""`warehouse-tui serve`: the app offered to a browser, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_on_loopback_with_the_app_page(demo_path, tmp_path):
    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "warehouse_tui.cli", "serve", "--port", str(port), "--db", str(demo_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        page = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and page is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode("utf-8", "replace")
            except OSError:
                time.sleep(0.2)
        assert page is not None, "serve did not answer within 30 s"
        assert "warehouse-tui" in page
        # Bound to loopback only: the same port on another local address is closed.
        others = {ip for ip in socket.gethostbyname_ex(socket.gethostname())[2] if not ip.startswith("127.")}
        for ip in others:
            with socket.socket() as s:
                s.settimeout(1)
                assert s.connect_ex((ip, port)) != 0, f"serve answers on {ip}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
