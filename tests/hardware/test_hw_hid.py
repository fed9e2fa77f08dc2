"""The HID keyboard-wedge decoder on recorded key events, US and German layouts."""

from __future__ import annotations

import importlib.util

import pytest

from hardware.codes import Gs1Code, parse_scan
from hardware.errors import ConfigError, MissingDependency
from hardware.keyboard_layouts import DE, LAYOUTS, US, get_layout
from hardware.scanner_hid import (
    HidDecoder,
    KeyEvent,
    decode_key_events,
    hid_scanner,
    key_events,
)

# Linux key codes used in the recordings below.
SHIFT, CTRL, ALT, ALTGR, CAPS, ENTER, KPENTER = 42, 29, 56, 100, 58, 28, 96
A, B, C, Q, Y, Z, MINUS, SLASH, RBRACE, F1 = 30, 48, 46, 16, 21, 44, 12, 53, 27, 59
KP0, KP2, KP9 = 82, 80, 73
DIGIT = {str(d): 2 + (d - 1) % 10 for d in range(10)}  # "1" -> 2 ... "0" -> 11


def tap(code: int) -> list[tuple[int, int]]:
    return [(code, 1), (code, 0)]


def shifted(code: int, modifier: int = SHIFT) -> list[tuple[int, int]]:
    return [(modifier, 1), (code, 1), (code, 0), (modifier, 0)]


def events(pairs: list[tuple[int, int]]) -> list[KeyEvent]:
    return [KeyEvent(code, value) for code, value in pairs]


# "Ab1-" then Enter, as a scanner types it: shift held around the capital.
AB1_DASH = shifted(A) + tap(B) + tap(DIGIT["1"]) + tap(MINUS) + tap(ENTER)
# "Yz" then Enter.
YZ = shifted(Y) + tap(Z) + tap(ENTER)
# Shift+7 then keypad Enter.
SHIFT_7 = shifted(DIGIT["7"]) + tap(KPENTER)


@pytest.mark.parametrize(
    ("recording", "layout", "lines"),
    [
        (AB1_DASH, "us", ["Ab1-"]),
        (AB1_DASH, "de", ["Ab1ß"]),
        (YZ, "us", ["Yz"]),
        (YZ, "de", ["Zy"]),
        (SHIFT_7, "us", ["&"]),
        (SHIFT_7, "de", ["/"]),
        (shifted(SLASH) + tap(ENTER), "us", ["?"]),
        (shifted(SLASH) + tap(ENTER), "de", ["_"]),
        (shifted(Q, ALTGR) + tap(ENTER), "de", ["@"]),
        (AB1_DASH + YZ, "us", ["Ab1-", "Yz"]),
    ],
)
def test_recorded_sequences(
    recording: list[tuple[int, int]], layout: str, lines: list[str]
) -> None:
    assert decode_key_events(events(recording), layout) == lines


def test_caps_lock_flips_letters_only_and_shift_undoes_it() -> None:
    recording = tap(CAPS) + tap(A) + shifted(B) + tap(DIGIT["1"]) + tap(CAPS) + tap(C) + tap(ENTER)
    assert decode_key_events(events(recording), US) == ["Ab1c"]


def test_gs_separator_by_ctrl_bracket_and_by_alt_keypad_code() -> None:
    ctrl_bracket = shifted(RBRACE, CTRL)
    alt_029 = [(ALT, 1), *tap(KP0), *tap(KP2), *tap(KP9), (ALT, 0)]
    recording = tap(A) + ctrl_bracket + tap(B) + alt_029 + tap(C) + tap(ENTER)
    assert decode_key_events(events(recording), US) == ["a\x1db\x1dc"]


def test_auto_repeat_is_ignored_and_unknown_keys_are_marked() -> None:
    recording = [(A, 1), (A, 2), (A, 2), (A, 0), *tap(F1), *tap(ENTER)]
    assert decode_key_events(events(recording), US) == ["a\ufffd"]


def test_real_recording_with_syn_and_msc_events_decodes_to_a_gs1_scan() -> None:
    """A GS1-128 scan as evdev delivers it: MSC scan codes and SYN reports between key events."""
    keys = tap(RBRACE) + shifted(C) + tap(DIGIT["1"])  # "]C1" symbology identifier
    for digit in "0109506000134352" + "10":
        keys += tap(DIGIT[digit])
    keys += shifted(A) + shifted(B) + shifted(RBRACE, CTRL)  # "AB" then GS
    for digit in "21" + "7":
        keys += tap(DIGIT[digit])
    keys += tap(ENTER)
    raw: list[tuple[int, int, int]] = []
    for key, value in keys:
        raw += [(4, 4, 0x70000 + key), (1, key, value), (0, 0, 0)]
    (line,) = decode_key_events(key_events(raw), "us")
    scanned = parse_scan(line)
    assert isinstance(scanned, Gs1Code)
    assert (scanned.gtin, scanned.batch, scanned.serial) == ("09506000134352", "AB", "7")


def test_decoder_keeps_state_between_feeds() -> None:
    decoder = HidDecoder(DE)
    assert [decoder.feed(e) for e in events(shifted(Y))] == [None] * 4
    assert decoder.feed(KeyEvent(ENTER, 1)) == "Z"


def test_layout_tables() -> None:
    assert set(LAYOUTS) == {"us", "de"}
    assert get_layout("DE") is DE
    with pytest.raises(ConfigError, match="unknown keyboard layout 'fr'; known: de, us"):
        get_layout("fr")
    for layout in (US, DE):
        letters = [keys[0] for keys in layout.keys.values() if keys[0].isalpha()]
        assert len(letters) >= 26


def test_hid_scanner_without_evdev_says_how_to_install_it() -> None:
    if importlib.util.find_spec("evdev") is not None:  # pragma: no cover - extra installed
        pytest.skip("python-evdev is installed; the reader needs /dev/uinput to be tested")
    with pytest.raises(MissingDependency, match="pip install evdev"):
        hid_scanner("/dev/input/event0", on_scan=print)
