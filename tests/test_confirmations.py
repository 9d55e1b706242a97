"""Shipment confirmations: exported once with --unsent/--mark-sent, and posted to a real local HTTP endpoint that
also fails, times out and answers 500 — marked sent only on a 2xx, each carrying its confirmation id."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from warehouse_tui.db.models import Carton, OutboundOrder
from warehouse_tui.errors import InvalidInput
from warehouse_tui.services import carton_tracking, confirmations, packing
from tests.test_packing import build_station, close, pack_everything

UPS = "1Z879E930346834440"


@pytest.fixture
def shipped(db, actor):
    """ORD-1 (web, UPS ground) shipped in one carton ORD-1-1 with a UPS tracking number."""
    build_station(db, actor)
    with db.transaction() as s:
        order = s.scalars(select(OutboundOrder)).one()
        order.channel, order.carrier, order.service = "web", "ups", "ground"
    pack_everything(db, actor)
    close(db, actor)
    with db.transaction() as s:
        carton_tracking.record(s, actor, "ORD-1-1", UPS)
        packing.ship_order(s, actor, "ORD-1")
    return db


def unsent(db) -> list[str]:
    with db.reading() as s:
        return [c.confirmation_id for c in confirmations.pending(s, unsent=True)]


def test_one_confirmation_per_shipped_carton_with_carrier_tracking_and_lines(shipped):
    with shipped.reading() as s:
        (c,) = confirmations.pending(s)
    assert (c.confirmation_id, c.order, c.channel, c.carrier, c.service, c.tracking) == ("ORD-1-1", "ORD-1", "web", "ups", "ground", UPS)
    assert c.shipped_at.endswith("Z") and c.sscc
    assert dict(c.lines) == {"PLAIN": 5, "MILK": 3, "PHONE": 2}
    out = io.StringIO()
    confirmations.write([c], "csv", out)
    header, row = out.getvalue().splitlines()
    assert header == ",".join(confirmations.CSV_KEYS)
    assert row.endswith(",PLAIN|MILK|PHONE,5|3|2")


def test_mark_sent_hands_each_over_once(shipped):
    assert unsent(shipped) == ["ORD-1-1"]
    with shipped.transaction() as s:
        assert confirmations.mark_sent(s, ["ORD-1-1"]) == 1
        assert confirmations.mark_sent(s, ["ORD-1-1"]) == 0
    assert unsent(shipped) == []
    with shipped.reading() as s:
        assert len(confirmations.pending(s)) == 1  # still exported when asked for all


def test_export_confirmations_cli_marks_only_what_it_wrote(shipped):
    url = str(shipped.url)
    run = lambda *a: subprocess.run([sys.executable, "-m", "warehouse_tui.cli", "export", "confirmations", "--db", url, *a],  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    first = run("--unsent", "--mark-sent", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert [r["confirmation_id"] for r in json.loads(first.stdout)] == ["ORD-1-1"]
    second = run("--unsent", "--format", "json")
    assert json.loads(second.stdout) == []
    assert run("--since", "yesterday").returncode == 1


class Endpoint:
    """A real HTTP server on 127.0.0.1 answering from a script: a status per request, or "slow" (answers too late)."""

    def __init__(self, script: list):
        self.script, self.seen = list(script), []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.seen.append((self.headers["Idempotency-Key"], body["confirmation_id"]))
                step = endpoint.script.pop(0) if endpoint.script else 200
                if step == "slow":
                    endpoint.release.wait(5)
                    step = 200
                self.send_response(step)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/confirmations"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    made = []

    def make(script):
        made.append(Endpoint(script))
        return made[-1]

    yield make
    for e in made:
        e.close()


def test_confirm_retries_a_500_and_a_timeout_then_marks_sent_on_the_2xx(shipped, endpoint):
    oms = endpoint([500, "slow", 201])
    waits = []
    result = confirmations.post(shipped, oms.url, attempts=5, backoff_s=0.5, timeout_s=0.5, sleep=waits.append)
    assert result.ok and result.sent == ["ORD-1-1"]
    assert oms.seen == [("ORD-1-1", "ORD-1-1")] * 3           # the same id every time
    assert waits == [0.5, 1.0]                              # back-off doubles
    assert unsent(shipped) == []
    # a second run sends nothing
    assert confirmations.post(shipped, oms.url, sleep=waits.append).sent == []
    assert len(oms.seen) == 3


def test_confirm_gives_up_after_its_tries_and_leaves_it_unsent(shipped, endpoint):
    oms = endpoint([503, 503, 503])
    result = confirmations.post(shipped, oms.url, attempts=3, backoff_s=0.1, sleep=lambda _s: None)
    assert not result.ok and result.failed[0] == "ORD-1-1" and "HTTP 503" in result.failed[1]
    assert unsent(shipped) == ["ORD-1-1"]


def test_confirm_does_not_retry_a_refusal(shipped, endpoint):
    oms = endpoint([422])
    result = confirmations.post(shipped, oms.url, sleep=lambda _s: None)
    assert result.refused == [("ORD-1-1", "HTTP 422")] and len(oms.seen) == 1
    assert unsent(shipped) == ["ORD-1-1"]


def test_confirm_to_a_server_that_is_not_there_fails_cleanly(shipped, endpoint):
    oms = endpoint([])
    url = oms.url
    oms.close()  # nothing listens any more
    result = confirmations.post(shipped, url, attempts=2, sleep=lambda _s: None)
    assert result.failed and "cannot connect" in result.failed[1]
    assert unsent(shipped) == ["ORD-1-1"]


def test_confirm_refuses_a_url_that_is_not_http(shipped):
    with pytest.raises(InvalidInput, match="http"):
        confirmations.post(shipped, "file:///etc/passwd")


def test_confirm_cli_exit_code_says_whether_all_went(shipped, endpoint):
    oms = endpoint([200])
    done = subprocess.run([sys.executable, "-m", "warehouse_tui.cli", "confirm", "--db", str(shipped.url), "--url", oms.url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Sent 1 confirmation(s)" in done.stdout
    with shipped.reading() as s:
        assert s.scalars(select(Carton.confirmation_sent_at)).one() is not None


def test_confirmations_of_one_owner_and_an_unknown_owner_refused(shipped):
    with shipped.reading() as s:
        assert [c.owner for c in confirmations.pending(s, owner="MAIN")] == ["MAIN"]
        with pytest.raises(InvalidInput, match="does not exist"):
            confirmations.pending(s, owner="NOPE")
