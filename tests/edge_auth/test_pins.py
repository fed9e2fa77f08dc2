"""PIN hashes made by the hub verify at the edge, offline, exactly as the hub verifies them."""

from __future__ import annotations

import pytest

from edge_agent.staff import pins
from hub.access import passwords
from tests.edge_auth.conftest import pin_hash


def test_a_pin_hashed_by_the_hub_verifies_at_the_edge() -> None:
    stored = pin_hash("4711")
    assert stored.startswith(f"scrypt${passwords.PIN_COST.n}${passwords.PIN_COST.r}$")
    assert pins.verify("4711", stored)
    assert not pins.verify("4712", stored)
    assert not pins.verify("47110", stored)
    assert not pins.verify("", stored)


def test_the_edge_reads_the_hub_format_exactly() -> None:
    stored = pin_hash("123456")
    hub_cost, hub_salt, hub_key = passwords.parse(stored)  # type: ignore[misc]
    mine = pins.parse(stored)
    assert (mine.n, mine.r, mine.p) == (hub_cost.n, hub_cost.r, hub_cost.p)
    assert (mine.salt, mine.key) == (hub_salt, hub_key)
    assert "=" not in stored  # unpadded base64, as the hub writes it


def test_a_hub_password_hash_also_verifies() -> None:
    # Another cost (2^15, 8, 3): the cost travels with the hash.
    stored = passwords.make_hash("93817264", passwords.PASSWORD_COST)
    assert pins.verify("93817264", stored)


def test_the_dummy_hash_matches_no_pin() -> None:
    pins.parse(pins.DUMMY_HASH)
    assert not any(pins.verify(pin, pins.DUMMY_HASH) for pin in ("0000", "00000000", ""))


GOOD = pin_hash("4711")
SALT, KEY = GOOD.split("$")[4:]


@pytest.mark.parametrize("stored", [
    "", "plain", "bcrypt$16384$8$1$" + SALT + "$" + KEY, "scrypt$16384$8$1$" + SALT,
    "scrypt$abc$8$1$" + SALT + "$" + KEY,
    "scrypt$16383$8$1$" + SALT + "$" + KEY,           # n not a power of two
    "scrypt$1048576$8$1$" + SALT + "$" + KEY,         # 1 GiB: refused, not attempted
    "scrypt$16384$8$16$" + SALT + "$" + KEY,          # p too high
    "scrypt$16384$0$1$" + SALT + "$" + KEY,
    "scrypt$16384$8$1$" + SALT + "$" + "!!!!",        # not base64
    "scrypt$16384$8$1$AAAA$" + KEY,                   # salt too short
    "scrypt$16384$8$1$" + SALT + "$AAAA",             # key too short
    "scrypt$16384$8$1$" + SALT + "$" + "A" * 2000,    # oversized
], ids=lambda stored: stored.replace(SALT, "SALT").replace(KEY, "KEY")[:40])  # the same ids in
# every pytest-xdist worker: the salt is random per process
def test_unusable_hashes_are_refused_and_never_verify(stored: str) -> None:
    with pytest.raises(ValueError):
        pins.parse(stored)
    assert pins.verify("4711", stored) is False
