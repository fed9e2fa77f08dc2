"""Check a SQLite WAL file's frames ourselves, before SQLite opens (and silently trims) it.

Rules:
- SQLite reads a WAL up to its first frame whose salts or cumulative checksum fail and ignores
  the rest, so a damaged frame in the middle silently drops every later commit; we read the
  file the way SQLite does (https://www.sqlite.org/fileformat.html#the_write_ahead_log) and call
  it broken when a bad frame is followed by a commit frame of the same WAL generation (same
  salts): committed work would be lost;
- a bad frame with nothing committed after it is a torn, never-committed write after a crash
  (normal; ``synchronous=FULL`` confirms a commit only after its frames are on disk);
- pure reading, no SQLite: works on a file SQLite would refuse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

HEADER, FRAME_HEADER = 32, 24
MAGIC = (0x377F0682, 0x377F0683)


@dataclass(frozen=True)
class WalReport:
    """The verdict on one WAL file."""

    broken: bool
    frames: int = 0
    valid_frames: int = 0
    reason: str = ""


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    fmt = ">" if big_endian else "<"
    words = struct.unpack(f"{fmt}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def check_wal(path: Path) -> WalReport:
    """Is this WAL hiding committed frames behind a broken one? (missing or empty: fine)"""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return WalReport(False)
    if len(data) < HEADER:
        return WalReport(False)
    magic, _version, page_size, _ckpt, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:32])
    if magic not in MAGIC:
        return WalReport(True, reason="the WAL header is damaged (bad magic number)")
    big = magic == MAGIC[1]
    s0, s1 = _checksum(data[:24], 0, 0, big)
    if (s0, s1) != (c1, c2) or page_size < 512 or page_size & (page_size - 1):
        # SQLite ignores the whole WAL then; only a problem if it holds frames of this header
        return WalReport(len(data) > HEADER, reason="the WAL header checksum fails")
    size = FRAME_HEADER + page_size
    count = (len(data) - HEADER) // size
    valid, bad_at = 0, -1
    for index in range(count):
        start = HEADER + index * size
        frame = data[start:start + size]
        _page, _commit, f1, f2, k1, k2 = struct.unpack(">6I", frame[:24])
        s0, s1 = _checksum(frame[:8] + frame[24:], s0, s1, big)
        if (f1, f2) != (salt1, salt2) or (s0, s1) != (k1, k2):
            bad_at = index
            break
        valid += 1
    if bad_at < 0:
        return WalReport(False, count, valid)
    for index in range(bad_at + 1, count):
        start = HEADER + index * size
        _page, commit, f1, f2 = struct.unpack(">4I", data[start:start + 16])
        if commit and (f1, f2) == (salt1, salt2):
            return WalReport(True, count, valid,
                             f"WAL frame {bad_at + 1} of {count} is damaged and committed frames "
                             "follow it (SQLite would silently drop them)")
    return WalReport(False, count, valid)
