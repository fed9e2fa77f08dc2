"""Staff PIN hashes as the hub makes them, checked at the counter without the hub.

Rules:
- a hash is ``scrypt$<n>$<r>$<p>$<salt>$<key>`` with salt and key in standard base64 without
  ``=`` padding (the hub's ``hub.access.passwords`` format; the tests check both agree);
- the PIN is hashed as its UTF-8 digits; keys are compared in constant time (``hmac``);
- the cost travels with the hash, so it is bounded here: a store config is a message from the
  network, and an absurd ``n`` must not take the counter's memory (``MAX_MEMORY``);
- ``parse`` refuses what is not such a hash (ValueError); ``verify`` never raises: it answers
  False for a wrong PIN and for an unusable hash alike;
- an unknown staff id is checked against ``DUMMY_HASH`` so both answers take as long;
- scrypt's work area (16 MiB at the hub's PIN cost) must go back to the OS after each check:
  glibc would keep it (its mmap threshold rises after the first large free, and each server
  thread has its own arena whose top ``malloc_trim`` does not touch: measured 129 MB after a few
  concurrent sign-ins), while the agent's idle memory target is 80 MB. ``release_large_blocks``
  pins glibc's mmap threshold once, so such blocks are mapped and unmapped, never kept.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

MAX_MEMORY = 64 * 1024 * 1024
MAX_P = 4
MIN_SALT, MIN_KEY, MAX_PART = 8, 16, 128


@dataclass(frozen=True)
class PinHash:
    """A parsed PIN hash: scrypt's cost, the salt and the derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @property
    def maxmem(self) -> int:
        """The memory scrypt needs for this cost (128·r·(n + p + 2) bytes), plus headroom."""
        return 128 * self.r * (self.n + self.p + 2) + (1 << 20)


def _unb64(text: str) -> bytes:
    if not text or len(text) > MAX_PART * 2:
        raise ValueError("an empty or oversized base64 part")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as err:
        raise ValueError(f"not base64: {err}") from err


def parse(stored: str) -> PinHash:
    """The parts of a stored PIN hash; ValueError saying what is wrong with it."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not a scrypt$n$r$p$salt$key hash")
    n, r, p = (int(part) for part in parts[1:4])
    parsed = PinHash(n, r, p, _unb64(parts[4]), _unb64(parts[5]))
    _check_cost(parsed)
    return parsed


def _check_cost(parsed: PinHash) -> None:
    if parsed.n < 2 or parsed.n & (parsed.n - 1) or not 1 <= parsed.r <= 32:
        raise ValueError(f"scrypt n={parsed.n} r={parsed.r} is not a usable cost")
    if not 1 <= parsed.p <= MAX_P or parsed.maxmem > MAX_MEMORY:
        raise ValueError(f"scrypt cost n={parsed.n} r={parsed.r} p={parsed.p} is too high here")
    if len(parsed.salt) < MIN_SALT or not MIN_KEY <= len(parsed.key) <= MAX_PART:
        raise ValueError("the salt or key of the hash is too short")


def verify(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored``; False for a wrong PIN or an unusable hash."""
    try:
        parsed = parse(stored)
        derived = hashlib.scrypt(pin.encode("utf-8"), salt=parsed.salt, n=parsed.n, r=parsed.r,
                                 p=parsed.p, maxmem=parsed.maxmem, dklen=len(parsed.key))
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(derived, parsed.key)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
LARGE_BLOCK = 1 << 20


@cache
def release_large_blocks() -> bool:
    """Make glibc map every block of 1 MiB or more and unmap it when freed (once per process;
    False where the C library is not glibc, which needs no such setting)."""
    try:
        mallopt: Callable[[int, int], int] = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))


# The hub's PIN cost (2^14, 8, 1) with an all-zero salt and key: no PIN matches it.
DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43
