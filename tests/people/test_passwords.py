"""Password and PIN hashing: salted scrypt, constant-time check, cost carried in the hash."""

from __future__ import annotations

import pytest

from hub.access import passwords as pw
from hub.errors import InputError


def test_a_password_hash_verifies_only_its_password_and_is_salted() -> None:
    first, second = pw.hash_password("correct horse"), pw.hash_password("correct horse")
    assert first != second  # a salt of its own
    assert pw.verify("correct horse", first) and pw.verify("correct horse", second)
    assert not pw.verify("correct horsf", first)
    assert "correct horse" not in first
    assert first.startswith("scrypt$32768$8$3$")


def test_the_cost_travels_with_the_hash() -> None:
    cheap = pw.make_hash("correct horse", pw.Cost(2**10, 8, 1))
    assert pw.verify("correct horse", cheap)
    assert pw.needs_rehash(cheap) and not pw.needs_rehash(pw.hash_password("correct horse"))


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "scrypt$x$8$1$a$b", "bcrypt$1$2$3$4$5", "scrypt$16384$8$1$!!$!!", pw.DUMMY_HASH],
)
def test_malformed_or_dummy_hashes_never_match_and_never_raise(stored: str) -> None:
    assert pw.verify("anything at all", stored) is False


@pytest.mark.parametrize(
    "bad", ["short", " leading space x", "trailing space x ", "tab\tinside-it", "x" * 1025]
)
def test_unacceptable_passwords_name_the_field(bad: str) -> None:
    with pytest.raises(InputError) as caught:
        pw.hash_password(bad)
    assert caught.value.field == "password"


def test_pins_are_4_to_8_digits_and_hashed_cheaper_for_the_counter() -> None:
    hashed = pw.hash_pin("4821")
    assert hashed.startswith("scrypt$16384$8$1$") and pw.verify("4821", hashed)
    assert not pw.verify("4822", hashed)
    for bad in ("123", "123456789", "12a4", "١٢٣٤"):
        with pytest.raises(InputError, match="4 to 8 digits"):
            pw.hash_pin(bad)
