"""Keyboard layouts as data: Linux input key codes to characters, for HID keyboard-wedge scanners.

Rules:

- A HID scanner types key codes for the layout it was configured with; the host must decode them
  with the same layout, or ``-`` becomes ``ß`` and ``Y`` becomes ``Z``. Layouts are plain tables
  (key code -> plain, shifted, AltGr character); a missing AltGr entry means the key has none.
- Caps Lock affects letters only (``str.isalpha``), as on a real keyboard.
- The numeric keypad assumes Num Lock on; its decimal key follows the layout (``.`` US, ``,`` DE).
- Dead keys (German ``´`` and ``^``) are taken as the literal character: scanners never compose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hardware.errors import ConfigError

KeyChars = tuple[str, str, str]  # plain, shift, AltGr ("" when none)


@dataclass(frozen=True)
class KeyboardLayout:
    """One layout: a name and its key table."""

    name: str
    keys: Mapping[int, KeyChars]


def _row(first_code: int, plain: str, shifted: str, altgr: str = "") -> dict[int, KeyChars]:
    altgr = altgr.ljust(len(plain), "\0")
    return {
        first_code + i: (p, s, "" if a == "\0" else a)
        for i, (p, s, a) in enumerate(zip(plain, shifted, altgr, strict=True))
    }


def _keypad(decimal: str) -> dict[int, KeyChars]:
    codes = {71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+", 79: "1"}
    codes |= {80: "2", 81: "3", 82: "0", 83: decimal, 55: "*", 98: "/"}
    return {code: (char, char, "") for code, char in codes.items()}


_SPACE = {57: (" ", " ", "")}

US = KeyboardLayout(
    "us",
    _row(2, "1234567890-=", "!@#$%^&*()_+")
    | _row(16, "qwertyuiop[]", "QWERTYUIOP{}")
    | _row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~')
    | _row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?")
    | _SPACE
    | _keypad("."),
)

DE = KeyboardLayout(
    "de",
    _row(2, "1234567890ß´", '!"§$%&/()=?`', "\0²³\0\0\0{[]}\\")
    | _row(16, "qwertzuiopü+", "QWERTZUIOPÜ*", "@\0€\0\0\0\0\0\0\0\0~")
    | _row(30, "asdfghjklöä^", "ASDFGHJKLÖÄ°")
    | _row(43, "#yxcvbnm,.-", "'YXCVBNM;:_", "\0\0\0\0\0\0\0µ")
    | {86: ("<", ">", "|")}
    | _SPACE
    | _keypad(","),
)

LAYOUTS: dict[str, KeyboardLayout] = {layout.name: layout for layout in (US, DE)}


def get_layout(name: str) -> KeyboardLayout:
    """The layout called ``name`` (``us``, ``de``), or ConfigError listing the known ones."""
    try:
        return LAYOUTS[name.lower()]
    except KeyError:
        known = ", ".join(sorted(LAYOUTS))
        raise ConfigError(f"unknown keyboard layout {name!r}; known: {known}") from None
