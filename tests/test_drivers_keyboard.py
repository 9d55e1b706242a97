"""The keyboard wedge: a scanner that types, told from a person by key timing (times injected); GS mapping."""

from __future__ import annotations

import io
import os
import pty
import threading

import pytest
from driver_harness import Recorder, wait_until

from drivers.base import GS, DeviceState
from drivers.keyboard import KeyboardWedge, WedgeTiming
from warehouse_tui.scanner_check import run_scanner_test


def type_keys(wedge: KeyboardWedge, text: str, *, start: float = 100.0, gap: float) -> float:
    """Press each character `gap` s after the previous; returns the time of the last key."""
    at = start
    for i, char in enumerate(text):
        at = start + i * gap
        wedge.key(char, at)
    return at


@pytest.fixture
def wedge():
    recorder = Recorder()
    scanner = KeyboardWedge("keyboard", gs_substitute="~")
    scanner.open(*recorder.callbacks)
    scanner.recorder = recorder
    yield scanner
    scanner.close()


def test_a_fast_burst_ending_in_enter_is_a_scan(wedge):
    last = type_keys(wedge, "4006381333931", gap=0.004)

    scan = wedge.enter(last + 0.004)

    assert scan is not None and scan.text == "4006381333931"
    assert wedge.recorder.texts() == ["4006381333931"]
    assert scan.source == "keyboard"


def test_typing_at_human_speed_is_not_a_scan(wedge):
    last = type_keys(wedge, "12", gap=0.15)

    assert wedge.enter(last + 0.2) is None
    assert wedge.recorder.scans == []


def test_one_slow_gap_inside_a_line_makes_it_typed(wedge):
    type_keys(wedge, "LOT-", gap=0.005, start=1.0)
    last = type_keys(wedge, "42A", gap=0.005, start=1.5)  # a pause of half a second mid-line

    assert wedge.enter(last) is None
    assert wedge.recorder.scans == []


def test_a_line_shorter_than_the_minimum_is_typed_even_if_fast():
    wedge = KeyboardWedge("keyboard", timing=WedgeTiming(max_gap_s=0.035, min_length=4))
    last = type_keys(wedge, "123", gap=0.001)

    assert wedge.enter(last) is None
    assert wedge.is_burst([0.0, 0.001, 0.002, 0.003])


def test_ctrl_right_bracket_and_the_substitute_become_gs(wedge):
    last = type_keys(wedge, "]C10109501101530003\x1d21SN1~10LOT7", gap=0.003)

    scan = wedge.enter(last)

    assert scan is not None
    assert scan.symbology == "C1"
    assert scan.text == f"0109501101530003{GS}21SN1{GS}10LOT7"


def test_without_a_substitute_a_tilde_stays_a_tilde():
    wedge = KeyboardWedge("keyboard")
    last = type_keys(wedge, "LOT~1234", gap=0.003)

    scan = wedge.enter(last)

    assert scan is not None and scan.text == "LOT~1234"
    assert wedge.map_char("\x1d") == GS


def test_backspace_removes_the_last_key_and_its_time(wedge):
    type_keys(wedge, "BIN-X", gap=0.003, start=5.0)
    wedge.backspace()
    wedge.key("1", 5.015)

    scan = wedge.enter(5.018)

    assert scan is not None and scan.text == "BIN-1"


def test_enter_alone_is_nothing_and_each_line_starts_fresh(wedge):
    assert wedge.enter(1.0) is None
    type_keys(wedge, "SLOW", gap=0.5, start=2.0)
    wedge.enter(4.0)
    last = type_keys(wedge, "FAST1", gap=0.002, start=10.0)

    assert wedge.enter(last).text == "FAST1"


def test_open_and_close_report_the_state(wedge):
    wedge.close()

    assert [state for state, _ in wedge.recorder.states] == [DeviceState.CONNECTED, DeviceState.DISCONNECTED]


def test_scanner_test_on_a_terminal_tells_scanner_bursts_from_typing():
    """`scanner test keyboard` reads its terminal key by key: one read = one burst, slow keys = typing."""
    master, slave = pty.openpty()
    stdin = os.fdopen(slave, "r", closefd=False)
    out, stop, result = io.StringIO(), threading.Event(), []
    runner = threading.Thread(target=lambda: result.append(
        run_scanner_test("keyboard", None, out, stop=stop, stdin=stdin, gs_substitute="~")))
    runner.start()
    try:
        wait_until(lambda: "state    connected" in out.getvalue(), what="connected")
        os.write(master, b"]C10109501101530003~10LOT7\r")  # a scanner: the whole line in one go
        wait_until(lambda: "gs1 (01)" in out.getvalue(), what=f"the scan; output so far:\n{out.getvalue()}")
        for char in b"12\r":  # a person: key by key, each read on its own
            os.write(master, bytes([char]))
            wait_until(lambda: _unread(slave) == 0, what="the key to be read")
            stop.wait(0.05)  # people are slower than 35 ms a key; this is input pacing, nothing is timed
        wait_until(lambda: "typed" in out.getvalue(), what="the typed line")
    finally:
        stop.set()
        runner.join(timeout=10)
        os.close(master)
        os.close(slave)

    shown = out.getvalue()
    assert result == [0]
    assert "gs1 (01)09501101530003(10)LOT7" in shown
    assert "typed    '12' (keys too slow for a scanner: not a scan)" in shown
    assert "1 scan(s)" in shown


def _unread(fd: int) -> int:
    import fcntl
    import struct
    import termios

    return struct.unpack("I", fcntl.ioctl(fd, termios.TIOCINQ, b"\0\0\0\0"))[0]
