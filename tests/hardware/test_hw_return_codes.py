"""Our return codes: canonical form, check character, every single error caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.errors import CodeFormatError
from hardware.return_codes import (
    ALPHABET,
    check_character,
    is_valid_return_code,
    make_return_code,
    normalise_return_code,
)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (0, "RT-000000" + check_character("000000")),
        (12345, "RT-000C1SE"),
        ("ab-cd", "RT-ABCD" + check_character("ABCD")),
        ("0il0", "RT-0110" + check_character("0110")),
    ],
)
def test_make_return_code(raw: int | str, code: str) -> None:
    assert make_return_code(raw) == code
    assert normalise_return_code(code) == code


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (-1, "a return code number cannot be negative: -1"),
        ("abc", "return code body must be 4-24 characters, got 3"),
        ("abcu", "return code has characters outside base32: 'U'"),
        ("x" * 25, "return code body must be 4-24 characters, got 25"),
    ],
)
def test_make_return_code_refuses(raw: int | str, message: str) -> None:
    with pytest.raises(CodeFormatError, match=message):
        make_return_code(raw)


def test_dropped_leading_zero_is_caught() -> None:
    assert not is_valid_return_code(make_return_code(12345).replace("000", "00", 1))


def test_spaces_case_and_hyphens_are_forgiven() -> None:
    assert normalise_return_code(" rt-000c-1se ") == "RT-000C1SE"
    assert not is_valid_return_code("XX-000C1SM")


@given(st.integers(min_value=0, max_value=2**100), st.data())
def test_every_single_character_error_is_caught(number: int, data: st.DataObject) -> None:
    code = make_return_code(number)
    assert is_valid_return_code(code)
    position = data.draw(st.integers(min_value=3, max_value=len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in ALPHABET if c != code[position]]))
    assert not is_valid_return_code(code[:position] + wrong + code[position + 1 :])
