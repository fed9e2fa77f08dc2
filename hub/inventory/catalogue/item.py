"""One catalogue entry, validated whole: a SKU's category, title, brand and unit cost.

Rules:
- ``category`` is required and is written as the allocation rules write categories (lower-case
  letters, digits, underscores, at most 40): input is stripped and lower-cased first, so
  ``Kitchen`` and ``kitchen`` are one category; anything else (a space, a hyphen) is refused
  with a sentence saying how to write it;
- ``title`` (≤ 200) and ``brand`` (≤ 100) are optional, stripped, and an empty text is none;
- ``unit_cost`` is ``Money`` (exact decimal, ISO 4217, no more places than the currency has),
  zero or more; it is what the later transfer pricing reads, so no float ever enters;
- a SKU is what stock moves carry (``protocol`` ``Code``: 1–64 characters) without surrounding
  spaces; the model is frozen and unknown fields are refused.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticError

from hub.errors import InputError
from hub.inventory.allocation.document import Category
from protocol import Money
from protocol.limits import MAX_CODE_CHARS

_RULES_CATEGORY: TypeAdapter[str] = TypeAdapter(Category)


def _category(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    try:
        return _RULES_CATEGORY.validate_python(text)
    except PydanticError:
        raise ValueError(f"{value!r} is not a category: write lower-case letters, digits and "
                         "underscores, at most 40 (e.g. small_kitchen)") from None


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _not_negative(value: Money | None) -> Money | None:
    if value is not None and value.amount < 0:
        raise ValueError("a unit cost is zero or more")
    return value


CategoryIn = Annotated[str, BeforeValidator(_category)]
Title = Annotated[Annotated[str, Field(max_length=200)] | None, BeforeValidator(_text)]
Brand = Annotated[Annotated[str, Field(max_length=100)] | None, BeforeValidator(_text)]
UnitCost = Annotated[Money | None, AfterValidator(_not_negative)]


class CatalogueItem(BaseModel):
    """What the hub knows of one SKU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: CategoryIn = Field(examples=["small_kitchen"])
    title: Title = Field(None, examples=["Stainless Kettle 1.7 L"])
    brand: Brand = Field(None, examples=["Acorn Home"])
    unit_cost: UnitCost = Field(None, description="what one unit costs the chain (exact "
                                "decimal text and ISO 4217 currency)")


def check_sku(sku: str, field: str = "sku") -> str:
    """``sku`` if it is one stock moves could carry; ``InputError`` naming ``field`` otherwise."""
    if not sku or not sku.strip():
        raise InputError("a SKU is required", field=field)
    if sku != sku.strip():
        raise InputError(f"SKU {sku!r} has spaces around it", field=field)
    if len(sku) > MAX_CODE_CHARS:
        raise InputError(f"a SKU has at most {MAX_CODE_CHARS} characters", field=field)
    if not sku.isprintable():
        raise InputError(f"SKU {sku!r} holds a control character", field=field)
    return sku
