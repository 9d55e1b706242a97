"""evdev scanners: key codes -> text through the keyboard layout (no hardware), and a virtual device when possible."""

from __future__ import annotations

import importlib.util
import os

import pytest
from driver_harness import Recorder

from drivers.base import GS, DeviceState
from drivers.evdev_scanner import (
    KEY_ENTER,
    KEY_LEFTALT,
    KEY_LEFTCTRL,
    KEY_LEFTSHIFT,
    KEY_RIGHTALT,
    LAYOUTS,
    EvdevScanner,
    KeyTranslator,
)

# Codes as Linux's input-event-codes.h numbers them.
KEY = {"1": 2, "2": 3, "0": 11, "a": 30, "b": 48, "c": 46, "q": 16, "y": 21, "z": 44, "minus": 12,
       "rightbrace": 27, "capslock": 58, "backspace": 14, "kp0": 82, "kp2": 80, "kp9": 73, "f13": 183}


def press(t: KeyTranslator, code: int) -> str | None:
    line = t.key(code, 1)
    t.key(code, 0)
    return line


def shifted(t: KeyTranslator, code: int, modifier: int = KEY_LEFTSHIFT) -> None:
    t.key(modifier, 1)
    press(t, code)
    t.key(modifier, 0)


def type_us(t: KeyTranslator, text: str) -> str | None:
    """Type `text` the way a US-layout scanner does (shift for capitals and symbols), then Enter."""
    reverse = {}
    for code, (plain, upper, _) in LAYOUTS["us"].items():
        reverse.setdefault(plain, (code, False))
        reverse.setdefault(upper, (code, True))
    for char in text:
        code, shift = reverse[char]
        if shift:
            shifted(t, code)
        else:
            press(t, code)
    return press(t, KEY_ENTER)


def test_us_layout_translates_every_printable_ascii_character():
    every = "".join(chr(c) for c in range(32, 127))

    line = type_us(KeyTranslator("us"), every)

    assert line == every


def test_enter_ends_the_scan_and_the_next_starts_empty():
    t = KeyTranslator("us")

    assert type_us(t, "A-01-02-1") == "A-01-02-1"
    assert type_us(t, "@RECEIVE") == "@RECEIVE"
    assert press(t, KEY_ENTER) is None  # Enter alone: nothing


def test_ctrl_right_bracket_is_gs():
    t = KeyTranslator("us")
    press(t, KEY["1"])
    press(t, KEY["0"])
    shifted(t, KEY["rightbrace"], KEY_LEFTCTRL)  # Ctrl+]
    press(t, KEY["2"])

    assert press(t, KEY_ENTER) == f"10{GS}2"


def test_alt_keypad_029_is_gs():
    t = KeyTranslator("us")
    press(t, KEY["a"])
    t.key(KEY_LEFTALT, 1)
    for code in (KEY["kp0"], KEY["kp2"], KEY["kp9"]):
        press(t, code)
    t.key(KEY_LEFTALT, 0)
    press(t, KEY["b"])

    assert press(t, KEY_ENTER) == f"a{GS}b"


def test_german_layout_swaps_y_and_z_and_types_at_with_altgr():
    t = KeyTranslator("de")
    shifted(t, KEY["q"], KEY_RIGHTALT)          # AltGr+Q = @
    for code in (KEY["z"], KEY["y"]):
        press(t, code)
    shifted(t, KEY["minus"])                    # Shift+ß = ?

    assert press(t, KEY_ENTER) == "@yz?"


def test_caps_lock_inverts_shift_for_letters_only():
    t = KeyTranslator("us")
    press(t, KEY["capslock"])
    press(t, KEY["a"])
    shifted(t, KEY["b"])
    press(t, KEY["1"])

    assert press(t, KEY_ENTER) == "Ab1"


def test_backspace_and_autorepeat():
    t = KeyTranslator("us")
    press(t, KEY["a"])
    t.key(KEY["c"], 1)
    t.key(KEY["c"], 2)  # held long enough to repeat
    t.key(KEY["c"], 0)
    press(t, KEY["backspace"])

    assert press(t, KEY_ENTER) == "ac"


def test_an_unknown_key_makes_the_scan_refused_not_guessed():
    t = KeyTranslator("us")
    press(t, KEY["a"])
    press(t, KEY["f13"])

    assert press(t, KEY_ENTER) == "a"
    assert t.problem is not None and "layout" in t.problem


def test_an_endless_scan_is_refused_as_too_long():
    t = KeyTranslator("us")
    for _ in range(5000):
        press(t, KEY["a"])

    line = press(t, KEY_ENTER)

    assert line == "" and t.problem is not None and "too long" in t.problem


@pytest.mark.parametrize(("url", "problem"), [
    ("evdev:///dev/input/event3?layout=klingon", "layout"),
    ("evdev://event3", "No device"),
    ("evdev:///dev/input/event3?grab=maybe", "grab"),
    ("evdev:///dev/input/event3?speed=1", "speed"),
])
def test_a_bad_evdev_url_is_refused(url, problem):
    with pytest.raises(ValueError, match=problem):
        EvdevScanner(url)


@pytest.mark.skipif(importlib.util.find_spec("evdev") is not None, reason="python-evdev is installed here")
def test_without_python_evdev_the_scanner_reports_how_to_install_it():
    recorder = Recorder()
    scanner = EvdevScanner("evdev:///dev/input/by-id/usb-scanner-event-kbd")
    scanner.open(*recorder.callbacks)
    try:
        recorder.wait_state(DeviceState.ERROR)
        assert "pip install 'warehouse-tui[evdev]'" in recorder.states[-1][1]
    finally:
        scanner.close()


def _uinput_unavailable() -> str | None:
    if importlib.util.find_spec("evdev") is None:
        return "python-evdev is not installed (pip install 'warehouse-tui[evdev]')"
    if not os.access("/dev/uinput", os.R_OK | os.W_OK):
        return "no write access to /dev/uinput for a virtual keyboard"
    return None


@pytest.mark.skipif(_uinput_unavailable() is not None, reason=str(_uinput_unavailable()))
def test_a_virtual_usb_scanner_is_grabbed_and_read():  # pragma: no cover - needs a Linux input stack
    import evdev
    from driver_harness import wait_until

    with evdev.UInput(name="warehouse-tui test scanner") as device:
        wait_until(lambda: device.device is not None and os.path.exists(device.device.path), what="the device node")
        recorder = Recorder()
        scanner = EvdevScanner(f"evdev://{device.device.path}")
        scanner.open(*recorder.callbacks)
        try:
            recorder.wait_state(DeviceState.CONNECTED)
            for code in (KEY["a"], KEY["1"], KEY_ENTER):
                device.write(evdev.ecodes.EV_KEY, code, 1)
                device.write(evdev.ecodes.EV_KEY, code, 0)
                device.syn()
            assert recorder.wait_scans(1) == ["a1"]
        finally:
            scanner.close()
