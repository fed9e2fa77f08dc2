"""HID keyboard-wedge scanners: a pure key-event decoder, and an optional evdev reader.

Rules:

- ``HidDecoder`` turns Linux key events (code, value 1=down / 0=up / 2=repeat) into lines with a
  ``KeyboardLayout``. It tracks Shift, Caps Lock, Ctrl, Alt and AltGr itself from the events.
  Enter (main or keypad) ends a line; auto-repeats are ignored (a scanner never holds a key).
- Control characters, which GS1 scanners need for the FNC1 separator (GS, ``\\x1d``), arrive
  either as Ctrl+letter / Ctrl+``[`` ``\\`` ``]`` (physical US positions) or as Alt + keypad
  digits (``Alt 029``; a leading 0 means Windows-1252, otherwise code page 437).
- A key with no character in the layout becomes U+FFFD, so the code parser reports the line as
  unreadable instead of silently losing a character.
- ``EvdevLinePort`` reads ``/dev/input/eventN`` through python-evdev (the optional ``evdev``
  extra), imported only when a reader is opened. It grabs the device exclusively, so scans do not
  also type into whatever window has focus.
"""

from __future__ import annotations

import contextlib
import importlib
import select
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hardware.errors import MissingDependency, ScannerError, ScannerUnavailable
from hardware.keyboard_layouts import KeyboardLayout, get_layout
from hardware.scanner import Backoff, ScannerStatus, ScannerSupervisor

EV_KEY = 1
KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2
KEY_BACKSPACE, KEY_ENTER, KEY_KPENTER = 14, 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_CAPSLOCK = 42, 54, 58
KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT, KEY_RIGHTALT = 29, 97, 56, 100
KEY_NUMLOCK, KEY_SCROLLLOCK = 69, 70

_MODIFIERS = {
    KEY_LEFTSHIFT: "shift",
    KEY_RIGHTSHIFT: "shift",
    KEY_LEFTCTRL: "ctrl",
    KEY_RIGHTCTRL: "ctrl",
    KEY_LEFTALT: "alt",
    KEY_RIGHTALT: "altgr",
}
_IGNORED = {KEY_NUMLOCK, KEY_SCROLLLOCK}
_CTRL_BY_KEY = {26: "\x1b", 43: "\x1c", 27: "\x1d"}  # Ctrl+[ \ ] at their US positions
_KEYPAD_DIGITS = {82: 0, 79: 1, 80: 2, 81: 3, 75: 4, 76: 5, 77: 6, 71: 7, 72: 8, 73: 9}


@dataclass(frozen=True)
class KeyEvent:
    """One recorded key event: Linux key code and value (1 down, 0 up, 2 repeat)."""

    code: int
    value: int


@dataclass
class _Keys:
    held: dict[str, set[int]] = field(default_factory=dict)
    caps_lock: bool = False

    def down(self, name: str) -> bool:
        return bool(self.held.get(name))


class HidDecoder:
    """Key events in, scanned lines out; pure state, no I/O."""

    def __init__(self, layout: KeyboardLayout) -> None:
        self.layout = layout
        self._keys = _Keys()
        self._line: list[str] = []
        self._alt_digits = ""

    def feed(self, event: KeyEvent) -> str | None:
        """Take one event; return the finished line when it is Enter."""
        if event.code in _MODIFIERS:
            self._modifier(event)
            return None
        if event.value != KEY_DOWN or event.code in _IGNORED:
            return None
        if event.code in (KEY_ENTER, KEY_KPENTER):
            line, self._line = "".join(self._line), []
            return line
        self._press(event.code)
        return None

    def _modifier(self, event: KeyEvent) -> None:
        name = _MODIFIERS[event.code]
        held = self._keys.held.setdefault(name, set())
        if event.value == KEY_UP:
            held.discard(event.code)
            if name == "alt" and not held:
                self._flush_alt_code()
        else:
            held.add(event.code)

    def _press(self, code: int) -> None:
        if code == KEY_CAPSLOCK:
            self._keys.caps_lock = not self._keys.caps_lock
        elif code == KEY_BACKSPACE:
            self._line = self._line[:-1]
        elif self._keys.down("alt") and code in _KEYPAD_DIGITS:
            self._alt_digits += str(_KEYPAD_DIGITS[code])
        else:
            self._line.append(self._char(code))

    def _char(self, code: int) -> str:
        plain, shifted, altgr = self.layout.keys.get(code, ("\ufffd", "\ufffd", ""))
        if self._keys.down("ctrl"):
            return _control_char(code, plain)
        if self._keys.down("altgr"):
            return altgr or "\ufffd"
        shift = self._keys.down("shift")
        if self._keys.caps_lock and plain.isalpha():
            shift = not shift
        return shifted if shift else plain

    def _flush_alt_code(self) -> None:
        digits, self._alt_digits = self._alt_digits, ""
        if digits:
            self._line.append(_alt_code_char(digits))


def _control_char(code: int, plain: str) -> str:
    if plain.isascii() and plain.isalpha():
        return chr(ord(plain.upper()) - 64)
    return _CTRL_BY_KEY.get(code, "\ufffd")


def _alt_code_char(digits: str) -> str:
    number = int(digits) % 256
    if number < 128:
        return chr(number)
    return bytes([number]).decode("cp1252" if digits.startswith("0") else "cp437", "replace")


def key_events(raw: Iterable[tuple[int, int, int]]) -> Iterator[KeyEvent]:
    """The key events among raw ``(type, code, value)`` input events (drops SYN, MSC, ...)."""
    return (KeyEvent(code, value) for kind, code, value in raw if kind == EV_KEY)


def decode_key_events(events: Iterable[KeyEvent], layout: KeyboardLayout | str) -> list[str]:
    """Decode a recorded event sequence into the lines it typed."""
    decoder = HidDecoder(get_layout(layout) if isinstance(layout, str) else layout)
    return [line for line in map(decoder.feed, events) if line is not None]


class EvdevLinePort:
    """A HID scanner read through python-evdev (a ``LineSource``); grabs the device."""

    def __init__(self, device: Any, layout: KeyboardLayout) -> None:
        self._device = device
        self._decoder = HidDecoder(layout)
        self._ready: deque[str] = deque()

    def read_line(self, timeout: float) -> str | None:
        """The next scanned line, or None after ``timeout`` seconds without one."""
        if not self._ready:
            self._read_events(timeout)
        return self._ready.popleft() if self._ready else None

    def close(self) -> None:
        """Release the grab and close the device; safe to call twice."""
        with contextlib.suppress(OSError):  # already gone with the device
            self._device.ungrab()
        self._device.close()

    def _read_events(self, timeout: float) -> None:
        try:
            readable, _, _ = select.select([self._device.fd], [], [], timeout)
            events = list(self._device.read()) if readable else []
        except OSError as err:
            raise ScannerUnavailable(f"{self._device.path}: scanner went away ({err})") from err
        for event in key_events((e.type, e.code, e.value) for e in events):
            line = self._decoder.feed(event)
            if line is not None:
                self._ready.append(line)


def open_evdev_port(path: str, layout: KeyboardLayout | str = "us") -> EvdevLinePort:
    """Open and grab ``/dev/input/eventN``; needs the optional python-evdev package."""
    evdev = _import_evdev()
    try:
        device = evdev.InputDevice(path)
        device.grab()
    except FileNotFoundError as err:
        raise ScannerUnavailable(f"{path}: no such input device (unplugged?)") from err
    except OSError as err:
        raise ScannerError(f"{path}: cannot open or grab ({err})") from err
    return EvdevLinePort(device, get_layout(layout) if isinstance(layout, str) else layout)


def _import_evdev() -> Any:
    try:
        return importlib.import_module("evdev")
    except ImportError as err:
        raise MissingDependency("HID scanners need python-evdev: pip install evdev") from err


def hid_scanner(
    path: str,
    on_scan: Callable[[str], None],
    on_status: Callable[[ScannerStatus], None] | None = None,
    *,
    layout: KeyboardLayout | str = "us",
    backoff: Backoff | None = None,
) -> ScannerSupervisor:
    """A supervisor for one HID scanner at ``path`` (``/dev/input/by-id/...`` is stable)."""
    _import_evdev()  # fail at configuration time, not in the reader thread
    return ScannerSupervisor(
        lambda: open_evdev_port(path, layout),
        on_scan,
        on_status,
        name=f"hid:{path}",
        backoff=backoff,
    )
