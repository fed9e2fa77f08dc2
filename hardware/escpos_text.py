"""A small ESC/POS decoder: text lines, Code 128 and QR payloads back out of printer bytes.

Used by the tests (a job is decoded and checked against the return it prints) and by the printer
stand-in of ``hardware.sim`` (each job becomes a readable text file). Rules:

- It knows exactly the commands our layouts and python-escpos emit and raises
  ``EscposDecodeError`` on anything else, so an unexpected byte in a job is an error, never
  silently ignored garbage.
- Text is decoded with the code page selected by ``ESC t n``, or in kanji mode (``FS &``) with
  GB18030, or Shift_JIS after ``FS C 1``.
- ``as_text`` renders a decoded job for people: its lines, then one line per barcode and QR code.
- Pure: bytes in, values out; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hardware.errors import EscposDecodeError

ESC, FS, GS, DLE, LF = 0x1B, 0x1C, 0x1D, 0x10, 0x0A

CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"}
# ESC commands with one argument byte, and ones with none.
ESC_ONE_ARG = set(b"!EaM-dJ{GV3t")
ESC_NO_ARG = set(b"@2")
GS_ONE_ARG = set(b"!hwfHbB")
BARCODE_NAMES = {73: "CODE128", 67: "EAN13", 68: "EAN8", 65: "UPC-A", 69: "CODE39"}


@dataclass
class Barcode:
    """A printer-rendered 1D barcode: its type and decoded payload."""

    kind: str
    data: str


@dataclass
class DecodedJob:
    """What a job would print."""

    lines: list[str] = field(default_factory=list)
    barcodes: list[Barcode] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    cuts: int = 0
    status_queries: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All text lines joined with newlines."""
        return "\n".join(self.lines)


class _State:
    def __init__(self) -> None:
        self.reset()
        self.segments: list[tuple[str, bytes]] = []
        self.qr_store = b""

    def reset(self) -> None:
        self.code_page = "cp437"
        self.kanji: str | None = None
        self.kanji_system = "gb18030"

    @property
    def codec(self) -> str:
        return self.kanji or self.code_page

    def add_text(self, byte: int) -> None:
        if self.segments and self.segments[-1][0] == self.codec:
            codec, data = self.segments[-1]
            self.segments[-1] = (codec, data + bytes([byte]))
        else:
            self.segments.append((self.codec, bytes([byte])))

    def end_line(self, job: DecodedJob) -> None:
        job.lines.append("".join(data.decode(codec) for codec, data in self.segments))
        self.segments = []


def decode(data: bytes) -> DecodedJob:
    """Decode a whole job; raise EscposDecodeError on anything this decoder does not know."""
    try:
        return _decode(data)
    except EscposDecodeError:
        raise
    except (ValueError, IndexError) as err:  # text in no code page, a barcode without its end
        raise EscposDecodeError(f"malformed job: {type(err).__name__}: {err}") from err


def _decode(data: bytes) -> DecodedJob:
    job, state, pos = DecodedJob(), _State(), 0
    while pos < len(data):
        byte = data[pos]
        if byte == ESC:
            pos = _esc(data, pos, state, job)
        elif byte == FS:
            pos = _fs(data, pos, state)
        elif byte == GS:
            pos = _gs(data, pos, state, job)
        elif byte == DLE:
            _expect(data, pos, 3, "DLE EOT n")
            job.status_queries.append(data[pos + 2])
            pos += 3
        elif byte == LF:
            state.end_line(job)
            pos += 1
        elif byte < 0x20 and byte not in (0x09, 0x0D):
            raise EscposDecodeError(f"unexpected control byte 0x{byte:02x} at {pos}")
        else:
            if byte != 0x0D:
                state.add_text(byte)
            pos += 1
    if state.segments:
        state.end_line(job)
    return job


def _expect(data: bytes, pos: int, size: int, what: str) -> None:
    if pos + size > len(data):
        raise EscposDecodeError(f"truncated {what} at {pos}")


def _esc(data: bytes, pos: int, state: _State, job: DecodedJob) -> int:
    _expect(data, pos, 2, "ESC command")
    command = data[pos + 1]
    if command in ESC_NO_ARG:
        if command == ord("@"):
            state.reset()
        return pos + 2
    if command in ESC_ONE_ARG:
        _expect(data, pos, 3, f"ESC {chr(command)}")
        argument = data[pos + 2]
        if command == ord("t"):
            if argument not in CODE_PAGES:
                raise EscposDecodeError(f"unknown code page {argument} at {pos}")
            state.code_page = CODE_PAGES[argument]
        elif command == ord("d"):
            if state.segments:
                state.end_line(job)
            job.lines.extend([""] * max(0, argument - 1))
        return pos + 3
    raise EscposDecodeError(f"unknown command ESC 0x{command:02x} at {pos}")


def _fs(data: bytes, pos: int, state: _State) -> int:
    _expect(data, pos, 2, "FS command")
    command = data[pos + 1]
    if command == ord("&"):
        state.kanji = state.kanji_system
        return pos + 2
    if command == ord("."):
        state.kanji = None
        return pos + 2
    if command == ord("C"):
        _expect(data, pos, 3, "FS C n")
        state.kanji_system = "cp932" if data[pos + 2] in (1, 49, 2, 50) else "gb18030"
        if state.kanji:
            state.kanji = state.kanji_system
        return pos + 3
    raise EscposDecodeError(f"unknown command FS 0x{command:02x} at {pos}")


def _gs(data: bytes, pos: int, state: _State, job: DecodedJob) -> int:
    _expect(data, pos, 2, "GS command")
    command = data[pos + 1]
    if command in GS_ONE_ARG:
        _expect(data, pos, 3, f"GS {chr(command)}")
        return pos + 3
    if command == ord("V"):
        job.cuts += 1
        _expect(data, pos, 3, "GS V m")
        return pos + (4 if data[pos + 2] in (65, 66) else 3)
    if command == ord("k"):
        return _barcode(data, pos, job)
    if command == ord("(") and data[pos + 2 : pos + 3] == b"k":
        return _two_d(data, pos, state, job)
    raise EscposDecodeError(f"unknown command GS 0x{command:02x} at {pos}")


def _barcode(data: bytes, pos: int, job: DecodedJob) -> int:
    _expect(data, pos, 4, "GS k")
    kind = data[pos + 2]
    if kind <= 6:  # function A: NUL-terminated
        end = data.index(0, pos + 3)
        payload, after = data[pos + 3 : end], end + 1
    else:  # function B: length-prefixed
        length = data[pos + 3]
        _expect(data, pos, 4 + length, "GS k data")
        payload, after = data[pos + 4 : pos + 4 + length], pos + 4 + length
    name = BARCODE_NAMES.get(kind, str(kind))
    text = payload.decode("ascii")
    if name == "CODE128":
        text = _code128_text(text)
    job.barcodes.append(Barcode(name, text))
    return after


def _code128_text(text: str) -> str:
    """Drop ``{A``/``{B``/``{C`` code set selectors and unescape ``{{``."""
    out, index = [], 0
    while index < len(text):
        if text[index] == "{":
            if text[index + 1 : index + 2] == "{":
                out.append("{")
            index += 2
            continue
        out.append(text[index])
        index += 1
    return "".join(out)


def _two_d(data: bytes, pos: int, state: _State, job: DecodedJob) -> int:
    _expect(data, pos, 5, "GS ( k")
    size = data[pos + 3] + 256 * data[pos + 4]
    body = data[pos + 5 : pos + 5 + size]
    _expect(data, pos, 5 + size, "GS ( k data")
    symbol, function = body[0], body[1]
    if symbol == 0x31 and function == 0x50:  # QR: store data (after m = '0')
        state.qr_store = body[3:]
    elif symbol == 0x31 and function == 0x51:  # QR: print stored data
        job.qr_codes.append(state.qr_store.decode("utf-8"))
    return pos + 5 + size


def as_text(job: DecodedJob) -> str:
    """The job as people read it: text lines, then ``[CODE128] data`` and ``[QR] data`` lines."""
    codes = [f"[{barcode.kind}] {barcode.data}" for barcode in job.barcodes]
    codes += [f"[QR] {data}" for data in job.qr_codes]
    cuts = [f"[cut x{job.cuts}]"] if job.cuts else []
    return "\n".join([*job.lines, *codes, *cuts]) + "\n"
