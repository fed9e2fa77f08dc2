"""Password and PIN hashing with the standard library's scrypt (no extra dependency).

Rules:
- a hash is the text ``scrypt$<n>$<r>$<p>$<salt b64>$<key b64>``: the cost travels with it, so
  after ``PASSWORD_COST`` is raised older hashes still verify at their own cost, a changed
  password is hashed at the new one, and ``needs_rehash`` names the hashes made at another cost
  (sign-in does not re-hash them);
- each hash has its own 16-byte random salt; keys are compared in constant time;
- passwords use OWASP's scrypt setting N=2^15, r=8, p=3 (32 MiB, ~0.2 s here); staff PINs use
  N=2^14, r=8, p=1 because the store's mini-PC verifies them offline at the counter;
- a password is 10-1024 characters; a PIN is 4-8 digits;
- ``verify`` never raises on a malformed stored hash: it answers False.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from hub.errors import InputError

KEY_BYTES = 32
SALT_BYTES = 16
MIN_PASSWORD, MAX_PASSWORD = 10, 1024


@dataclass(frozen=True)
class Cost:
    """scrypt's cost parameters."""

    n: int
    r: int
    p: int

    @property
    def maxmem(self) -> int:
        """The memory scrypt needs (OpenSSL counts 128·r·(n + p + 2) bytes), plus headroom."""
        return 128 * self.r * (self.n + self.p + 2) + (1 << 20)


PASSWORD_COST = Cost(2**15, 8, 3)
PIN_COST = Cost(2**14, 8, 1)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(secret: str, salt: bytes, cost: Cost) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.maxmem,
        dklen=KEY_BYTES,
    )


def make_hash(secret: str, cost: Cost) -> str:
    """A new salted scrypt hash of ``secret``."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(secret, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def parse(stored: str) -> tuple[Cost, bytes, bytes] | None:
    """The cost, salt and key of a stored hash, or None if it is not one of ours."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        cost = Cost(int(parts[1]), int(parts[2]), int(parts[3]))
        return cost, _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None


def verify(secret: str, stored: str) -> bool:
    """True when ``secret`` matches ``stored`` (constant-time comparison of the keys)."""
    parsed = parse(stored)
    if parsed is None:
        return False
    cost, salt, key = parsed
    try:
        return hmac.compare_digest(_derive(secret, salt, cost), key)
    except (ValueError, MemoryError):
        return False


def needs_rehash(stored: str, cost: Cost = PASSWORD_COST) -> bool:
    """True when ``stored`` was made with a different cost than ``cost``."""
    parsed = parse(stored)
    return parsed is None or parsed[0] != cost


def check_password(password: str) -> str:
    """The password if it is acceptable; InputError naming ``password`` otherwise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    if password.strip() != password or not password.isprintable():
        raise InputError(
            "a password has no leading/trailing spaces or control characters", field="password"
        )
    return password


def hash_password(password: str) -> str:
    """The stored form of an acceptable password."""
    return make_hash(check_password(password), PASSWORD_COST)


def hash_pin(pin: str) -> str:
    """The stored (and store-synced) form of a 4-8 digit staff PIN."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InputError("a PIN is 4 to 8 digits", field="pin")
    return make_hash(pin, PIN_COST)


# A hash to verify against when the user does not exist, so both answers take as long.
DUMMY_HASH = "scrypt$32768$8$3$" + _b64(bytes(SALT_BYTES)) + "$" + _b64(bytes(KEY_BYTES))
