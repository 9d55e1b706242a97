"""Serial scanners (DESIGN §4, §6, §10) over real pseudo-terminals: framing, refusals, unplug and replug.

The driver opens a pty's slave side through pyserial exactly as it opens
/dev/ttyACM0; the test writes to the master side as the scanner would.
"""

from __future__ import annotations

import io
import random
import threading
import time

import pytest
from driver_harness import PtyDevice, Recorder, wait_until

from drivers.base import GS, MAX_SCAN_LENGTH, DeviceState
from drivers.framing import Framer, Suffix, decode_frame
from warehouse_tui.scanner_check import list_ports, run_scanner_test
from drivers.serial_scanner import SerialScanner
from drivers.stream import Backoff

GS1_SCAN = "]C1010950110153000317261231101234AB\x1d21SN1"


@pytest.fixture
def device(tmp_path):
    dev = PtyDevice(tmp_path)
    yield dev
    dev.close()


@pytest.fixture
def open_scanner():
    opened: list[SerialScanner] = []

    def factory(url: str, recorder: Recorder | None = None, **kwargs) -> tuple[SerialScanner, Recorder]:
        recorder = recorder or Recorder()
        scanner = SerialScanner(url, **kwargs)
        scanner.open(*recorder.callbacks)
        opened.append(scanner)
        return scanner, recorder

    yield factory
    for scanner in opened:
        scanner.close()


def connected(device: PtyDevice, open_scanner, options: str = "") -> tuple[SerialScanner, Recorder]:
    scanner, recorder = open_scanner(f"serial://{device.path}?baud=115200{options}")
    recorder.wait_state(DeviceState.CONNECTED)
    return scanner, recorder


# --------------------------------------------------------------------------- framing over a pty


@pytest.mark.parametrize(("suffix", "wire"), [
    ("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n"), ("AUTO", b"\r"), ("AUTO", b"\n"), ("AUTO", b"\r\n"),
])
def test_frames_split_on_the_configured_suffix(device, open_scanner, suffix, wire):
    _, recorder = connected(device, open_scanner, f"&suffix={suffix}")

    device.write(b"A-01-01" + wire + b"4006381333931" + wire + b"@RECEIVE" + wire)

    assert recorder.wait_scans(3) == ["A-01-01", "4006381333931", "@RECEIVE"]
    assert recorder.rejected == []


def test_scanner_sending_crlf_works_on_a_driver_set_to_cr(device, open_scanner):
    _, recorder = connected(device, open_scanner, "&suffix=CR")

    device.write(b"FIRST\r\nSECOND\r\n")

    assert recorder.wait_scans(2) == ["FIRST", "SECOND"]
    assert recorder.rejected == []


def test_without_suffix_a_silence_ends_the_scan(device, open_scanner):
    _, recorder = connected(device, open_scanner, "&suffix=NONE&gap=30")

    device.write(b"PO-1001")
    recorder.wait_scans(1)
    device.write(b"U1001")

    assert recorder.wait_scans(2) == ["PO-1001", "U1001"]


def test_aim_symbology_identifier_is_split_off(device, open_scanner):
    _, recorder = connected(device, open_scanner)

    device.write(b"]E04006381333931\r]d2010950110153000317261231\r")

    recorder.wait_scans(2)
    assert [(s.symbology, s.text) for s in recorder.scans] == [("E0", "4006381333931"), ("d2", "010950110153000317261231")]


def test_gs_inside_gs1_data_arrives_as_gs(device, open_scanner):
    _, recorder = connected(device, open_scanner)

    device.write(GS1_SCAN.encode() + b"\r")

    recorder.wait_scans(1)
    scan = recorder.scans[0]
    assert scan.symbology == "C1"
    assert scan.text == "010950110153000317261231101234AB" + GS + "21SN1"
    assert scan.source.startswith("serial://")


def test_a_scan_split_over_several_reads_is_one_scan(device, open_scanner):
    _, recorder = connected(device, open_scanner, "&suffix=CRLF")

    for part in (b"]C101095011", b"01530003", b"17261231\r", b"\n"):
        device.write(part)
        device.wait_drained()  # the driver has read this part on its own

    assert recorder.wait_scans(1) == ["010950110153000317261231"]
    assert recorder.rejected == []


def test_merged_writes_give_each_scan_once_in_order(device, open_scanner):
    _, recorder = connected(device, open_scanner)

    device.write(b"ONE\rTWO\r\rTHREE\r")

    assert recorder.wait_scans(3) == ["ONE", "TWO", "THREE"]


def test_ten_thousand_scans_in_a_burst_none_lost_or_duplicated(device, open_scanner):
    _, recorder = connected(device, open_scanner)
    expected = [f"SN-{i:06d}-{'X' * (i % 17)}" for i in range(10_000)]
    data = "".join(f"{text}\r" for text in expected).encode()

    started = time.perf_counter()
    writer = threading.Thread(target=device.write, args=(data,))
    writer.start()
    received = recorder.wait_scans(len(expected), timeout=60)
    elapsed = time.perf_counter() - started
    writer.join()

    assert received == expected
    assert recorder.rejected == []
    # The figure for the report (not asserted: timing depends on the machine's load).
    print(f"\nserial driver over a pty: {len(expected) / elapsed:,.0f} scans/s ({len(data) / elapsed / 1e6:.1f} MB/s)")


# --------------------------------------------------------------------------- bad input: refused, never a crash


def test_binary_garbage_is_refused_as_one_bad_scan_and_reading_goes_on(device, open_scanner):
    _, recorder = connected(device, open_scanner)
    garbage = bytes(b for b in random.Random(7).randbytes(300) if b not in b"\r\n")

    device.write(garbage + b"\rAFTER-GARBAGE\r")

    assert recorder.wait_scans(1) == ["AFTER-GARBAGE"]
    assert len(recorder.rejected) == 1
    assert "not text" in recorder.rejected[0].reason
    assert recorder.rejected[0].data == garbage[:64]
    assert recorder.last_state() is DeviceState.CONNECTED


def test_control_characters_other_than_gs_are_refused(device, open_scanner):
    _, recorder = connected(device, open_scanner)

    device.write(b"LOT\x07BELL\rNUL\x00\rOK-1\r")

    assert recorder.wait_scans(1) == ["OK-1"]
    assert [r.reason.split(")")[0] for r in recorder.rejected] == [
        "Scan holds a control character (U+0007", "Scan holds a control character (U+0000"]


def test_an_over_long_frame_is_refused_once_without_holding_it(device, open_scanner):
    _, recorder = connected(device, open_scanner)
    longest = "L" * MAX_SCAN_LENGTH

    device.write(b"]C1" + longest.encode() + b"\r")   # exactly the limit: a scan
    device.write(b"X" * 1_000_000 + b"\r")           # a 1 MB "scan"
    device.write(b"NEXT\r")

    assert recorder.wait_scans(2) == [longest, "NEXT"]
    assert len(recorder.rejected) == 1
    assert "too long" in recorder.rejected[0].reason


def test_a_failing_callback_does_not_stop_the_scanner(device, open_scanner):
    recorder = Recorder()
    seen: list[str] = []

    def explode_once(scan):
        seen.append(scan.text)
        if len(seen) == 1:
            raise RuntimeError("receiver bug")
        recorder.on_scan(scan)

    scanner = SerialScanner(f"serial://{device.path}")
    scanner.open(explode_once, recorder.on_state, recorder.on_reject)
    try:
        recorder.wait_state(DeviceState.CONNECTED)
        device.write(b"FIRST\rSECOND\r")
        assert recorder.wait_scans(1) == ["SECOND"]
        assert seen == ["FIRST", "SECOND"]
    finally:
        scanner.close()


# --------------------------------------------------------------------------- unplug, replug, absent devices


def test_unplugged_scanner_reports_disconnected_and_reconnects_when_replugged(device, open_scanner):
    _, recorder = connected(device, open_scanner)
    device.write(b"BEFORE\r")
    recorder.wait_scans(1)

    device.unplug()
    recorder.wait_state(DeviceState.DISCONNECTED)
    replugged_at = time.monotonic()
    device.replug()
    recorder.wait_state(DeviceState.CONNECTED, times=2)
    reconnect_s = time.monotonic() - replugged_at
    expected = [f"AFTER-{i:04d}" for i in range(500)]
    device.write("".join(f"{t}\r" for t in expected).encode())

    assert recorder.wait_scans(501) == ["BEFORE", *expected]
    assert any("unplugged" in detail for state, detail in recorder.states if state is DeviceState.DISCONNECTED)
    print(f"\nreconnected {reconnect_s:.2f} s after the replug")


def test_reconnection_attempts_are_never_more_than_a_second_apart():
    # With the device back, the next attempt comes within the longest delay: DESIGN §10 allows 2 s.
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(50)]

    assert max(delays) <= 1.0
    assert delays[0] <= 0.1
    backoff.reset()
    assert backoff.next_delay() == delays[0]


def test_a_scanner_absent_at_start_is_waited_for(tmp_path, open_scanner):
    path = tmp_path / "later"
    _, recorder = open_scanner(f"serial://{path}")

    wait_until(lambda: any("not plugged in" in d for s, d in recorder.states), what="the not-plugged-in report")
    assert recorder.last_state() is DeviceState.DISCONNECTED
    device = PtyDevice(tmp_path, "later")
    try:
        recorder.wait_state(DeviceState.CONNECTED)
        device.write(b"HELLO\r")
        assert recorder.wait_scans(1) == ["HELLO"]
    finally:
        device.close()


def test_hwgrep_follows_a_device_that_comes_back_under_another_name(device, tmp_path, open_scanner):
    # The port lookup is the seam: pyserial's list_ports does not list ptys.
    where = {"path": device.slave_name}
    _, recorder = open_scanner("hwgrep://0c2e:0b61?baud=9600", port_finder=lambda pattern: where["path"])
    recorder.wait_state(DeviceState.CONNECTED)
    first_name = device.slave_name

    device.unplug()
    where["path"] = None
    recorder.wait_state(DeviceState.DISCONNECTED)
    device.replug()
    where["path"] = device.slave_name
    recorder.wait_state(DeviceState.CONNECTED, times=2)
    device.write(b"BACK\r")

    assert recorder.wait_scans(1) == ["BACK"]
    connected_to = [detail for state, detail in recorder.states if state is DeviceState.CONNECTED]
    assert first_name in connected_to[0] and device.slave_name in connected_to[1]


def test_hwgrep_without_a_matching_device_reports_disconnected(open_scanner):
    _, recorder = open_scanner("hwgrep://ffff:fff0")

    wait_until(lambda: recorder.count(DeviceState.DISCONNECTED) >= 1, what="disconnected")
    assert "not plugged in" in recorder.states[-1][1]


def test_a_port_held_by_another_scanner_is_reported_busy(device, open_scanner):
    connected(device, open_scanner)

    _, second = open_scanner(f"serial://{device.path}")

    wait_until(lambda: any("in use" in d for s, d in second.states), what="the busy report")


def test_two_scanners_on_one_terminal_each_deliver_their_own_scans(tmp_path, open_scanner):
    left, right = PtyDevice(tmp_path, "left"), PtyDevice(tmp_path, "right")
    try:
        _, left_seen = connected(left, open_scanner)
        _, right_seen = connected(right, open_scanner)

        for i in range(200):
            left.write(f"L{i}\r".encode())
            right.write(f"R{i}\r".encode())

        assert left_seen.wait_scans(200) == [f"L{i}" for i in range(200)]
        assert right_seen.wait_scans(200) == [f"R{i}" for i in range(200)]
        assert len(left_seen.threads | right_seen.threads) == 2
    finally:
        left.close()
        right.close()


def test_close_stops_the_reader_and_releases_the_port(device, open_scanner):
    scanner, recorder = connected(device, open_scanner)
    thread = scanner._thread

    scanner.close()
    scanner.close()

    assert thread is not None and not thread.is_alive()
    assert recorder.states[-1] == (DeviceState.DISCONNECTED, "closed")
    _, again = connected(device, open_scanner)  # the exclusive lock is gone
    device.write(b"AGAIN\r")
    assert again.wait_scans(1) == ["AGAIN"]


@pytest.mark.parametrize(("url", "problem"), [
    ("serial:///dev/ttyACM0?baud=fast", "baud"),
    ("serial:///dev/ttyACM0?suffix=TAB", "suffix"),
    ("serial:///dev/ttyACM0?colour=red", "colour"),
    ("serial:///dev/ttyACM0?parity=X", "parity"),
    ("serial://", "No port"),
    ("serial:///dev/ttyACM0?encoding=klingon", "encoding"),
])
def test_a_bad_url_is_refused_naming_the_problem(url, problem):
    with pytest.raises(ValueError, match=problem):
        SerialScanner(url)


# --------------------------------------------------------------------------- the framer alone (clock injected)


def test_framer_joins_a_crlf_suffix_split_between_reads():
    framer = Framer(Suffix.CRLF)

    assert framer.feed(b"ABC\r", 1.0) == []
    [frame] = framer.feed(b"\nDEF", 1.1)

    assert frame.data == b"ABC"
    assert [f.data for f in framer.feed(b"\r\n", 1.2)] == [b"DEF"]


def test_framer_without_suffix_cuts_at_the_gap_only():
    framer = Framer(Suffix.NONE, gap_s=0.05)

    assert framer.feed(b"ABC", 1.000) == []
    assert framer.feed(b"123", 1.010) == []      # 10 ms later: same scan
    assert framer.idle(1.040) == []              # 30 ms of silence: not yet
    [frame] = framer.idle(1.061)                 # 51 ms: done
    assert frame.data == b"ABC123"
    assert framer.idle(5.0) == []                # nothing pending: nothing cut


def test_framer_cuts_a_pending_scan_when_the_next_arrives_after_the_gap():
    framer = Framer(Suffix.NONE, gap_s=0.05)
    framer.feed(b"FIRST", 1.0)

    [frame] = framer.feed(b"SECOND", 1.5)  # the reader was late: the silence still separates them

    assert frame.data == b"FIRST"
    assert [f.data for f in framer.idle(1.6)] == [b"SECOND"]


def test_framer_refuses_an_endless_frame_once_and_keeps_memory_flat():
    framer = Framer(Suffix.CR)
    frames = []
    for _ in range(300):  # 1.2 MB without a suffix
        frames += framer.feed(b"Z" * 4096, 1.0)
        assert len(framer._buffer) <= framer.max_bytes

    frames += framer.feed(b"\rNEXT\r", 1.0)

    assert [f.too_long for f in frames] == [True, False]
    assert frames[1].data == b"NEXT"


def test_decoding_refuses_what_is_not_text_and_keeps_gs():
    assert decode_frame(Framer(Suffix.CR).feed(b"\xc3\x28\r", 0)[0]) == (
        None, "Scanner sent 2 bytes that are not text — scan again; check the scanner's settings")
    assert decode_frame(Framer(Suffix.CR).feed(b"A\x1dB\r", 0)[0]) == ("A\x1dB", None)
    assert decode_frame(Framer(Suffix.CR).feed("Müller\r".encode(), 0)[0]) == ("Müller", None)
    assert decode_frame(Framer(Suffix.CR).feed("M\xfcller\r".encode("latin-1"), 0)[0], "latin-1") == ("Müller", None)


# --------------------------------------------------------------------------- `scanner test` and `scanner ports`


def _run_test_command(url: str, db, device: PtyDevice, data: bytes, expect: str) -> str:
    out = io.StringIO()
    stop = threading.Event()
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(run_scanner_test(url, db, out, stop=stop)))
    runner.start()
    try:
        wait_until(lambda: "state    connected" in out.getvalue(), what="connected in the output")
        device.write(data)
        wait_until(lambda: expect in out.getvalue(), what=f"{expect!r} in the output:\n{out.getvalue()}")
    finally:
        stop.set()
        runner.join(timeout=10)
    assert result == [0]
    return out.getvalue()


def test_scanner_test_shows_raw_text_symbology_gs1_and_resolution_without_a_database(device):
    shown = _run_test_command(f"serial://{device.path}", None, device, GS1_SCAN.encode() + b"\r\xff\xfe\r",
                              "refused  Scanner sent 2 bytes")

    assert "scan     '010950110153000317261231101234AB\\x1d21SN1'" in shown
    assert "symbology ]C1 GS1-128" in shown
    assert "gs1 (01)09501101530003(17)261231(10)1234AB(21)SN1" in shown
    assert "-> refused: GTIN 09501101530003 is not a known item" in shown
    assert "1 scan(s)" in shown


def test_scanner_test_resolves_against_the_configured_database(device, db):
    from warehouse_tui.services import masterdata

    with db.transaction() as session:
        masterdata.add_bin(session, "A-01-02-1", kind="pick")
        masterdata.add_item(session, "DRILL-18V", gtins=["09501101530003"])

    shown = _run_test_command(f"serial://{device.path}", db, device, b"A-01-02-1\r" + GS1_SCAN.encode() + b"\r",
                              "sku=DRILL-18V")

    assert "-> bin bin_id=" in shown and "bin_code=A-01-02-1" in shown
    assert "-> item gtin=09501101530003" in shown and "lot=1234AB" in shown and "serial=SN1" in shown


def test_scanner_test_refuses_an_unknown_scheme_with_exit_2():
    out = io.StringIO()

    assert run_scanner_test("pigeon://loft", None, out) == 2
    assert "No scanner driver for 'pigeon'" in out.getvalue()


def test_scanner_ports_lists_every_serial_port_with_its_url():
    import serial.tools.list_ports

    out = io.StringIO()

    assert list_ports(out) == 0
    shown = out.getvalue()
    ports = serial.tools.list_ports.comports()
    assert all(f"serial://{port.device}" in shown for port in ports)
    assert ports or "No serial ports found." in shown


# --------------------------------------------------------------------------- the real app on a serial scanner


def test_the_app_takes_scans_from_a_serial_scanner_and_shows_unplug_and_replug(device, demo_path):
    import asyncio

    from warehouse_tui.app import WarehouseApp
    from warehouse_tui.config import Settings
    from warehouse_tui.db.engine import Database
    from warehouse_tui.replay import screen_text

    settings = Settings(db=str(demo_path), terminal="T1", idle_logout_seconds=0, scanner=f"serial://{device.path}")
    app = WarehouseApp(Database(demo_path), settings, terminal_name="T1", cursor_blink=False)
    assert isinstance(app.scanner, SerialScanner)  # chosen by URL through the registry

    async def until(pilot, text: str) -> str:
        for _ in range(1500):  # generous: the reader thread hands over through the app's loop
            await pilot.pause(0.01)
            if text in (screen := screen_text(app)):
                return screen
        raise AssertionError(f"{text!r} never showed:\n{screen_text(app)}")

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, "scanner connected")
            device.write(b"U1001\r")
            await until(pilot, "Type PIN")
            device.unplug()
            await until(pilot, "scanner disconnected")
            device.replug()
            await until(pilot, "scanner connected")
            device.write(b"@CANCEL\r")
            await until(pilot, "Scan your badge")

    asyncio.run(drive())
