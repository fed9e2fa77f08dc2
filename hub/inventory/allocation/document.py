"""The allocation rules document: what HQ merchandising writes in YAML, validated into frozen
pydantic models (``default_rules.yaml`` shows every field).

Rules of the format:
- every model is frozen and forbids unknown fields, so a typo is an error that names the field;
- quantities are whole units (``int``, zero or more); ``share_percent`` is 0–100 with at most two
  decimals, written as an integer or an exact decimal (never a float);
- ``safety_stock``: the floor kept back at a store for a SKU; the most specific entry wins:
  ``skus`` with a ``store``, then ``skus`` without one, then ``categories``, then ``stores``, then
  ``default``;
- ``marketplaces`` maps a marketplace id to how much of the chain's stock it is offered
  (``share_percent`` of each store's stock, rounded down), its caps (``cap`` for every SKU,
  ``sku_caps`` per SKU), the stores it never sells from (``excluded_stores``), and whether it
  takes a quantity per store (``multi_location``, Amazon's multi-location inventory);
  a marketplace not listed is offered nothing;
- ``reserves`` hold units back at stores: ``for: in_store`` from every marketplace, ``for: <id>``
  for that marketplace (every other one sees the units as gone); limited to ``skus``,
  ``categories`` and ``stores`` when given; timed when ``starts``/``ends`` (UTC, ``ends``
  exclusive) are given; names are unique;
- ``location_priority.groups``: ranked groups of stores; when a cap leaves less than the stores
  could give, stores are drawn group by group (stores in no group last), and within a group the
  slowest sellers first when ``consume_slow_movers_first`` is on, then by store id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hub.inventory.allocation.errors import Problem, RulesError

Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Sku = Annotated[str, Field(min_length=1, max_length=64)]
Category = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
Units = Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
IN_STORE = "in_store"


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("write percentages as integers or exact decimals, never floats")
    return value


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite() or value != round(value, 2):
        raise ValueError(f"{value} has more than two decimal places")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("write times in UTC with their zone, e.g. 2026-11-27T00:00:00Z")
    return value


Percent = Annotated[
    Decimal, BeforeValidator(_no_float), Field(ge=0, le=100), AfterValidator(_two_places)
]
UtcTime = Annotated[datetime, AfterValidator(_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SkuFloor(_Strict):
    """A floor for one SKU, at one store or (without ``store``) at every store."""

    sku: Sku
    store: Ident | None = None
    floor: Units


class SafetyStock(_Strict):
    """Units kept back at each store before anything is offered online."""

    default: Units = 0
    stores: dict[Ident, Units] = Field(default_factory=dict, max_length=10_000)
    categories: dict[Category, Units] = Field(default_factory=dict, max_length=1_000)
    skus: tuple[SkuFloor, ...] = Field(default=(), max_length=100_000)

    @model_validator(mode="after")
    def _unique_skus(self) -> SafetyStock:
        seen: set[tuple[str, str | None]] = set()
        for index, entry in enumerate(self.skus):
            key = (entry.sku, entry.store)
            if key in seen:
                where = f" at {entry.store}" if entry.store else ""
                raise RulesError.at(f"safety_stock.skus[{index}]",
                                    f"{entry.sku}{where} is given twice")
            seen.add(key)
        return self


class Marketplace(_Strict):
    """How much one marketplace is offered."""

    share_percent: Percent = Decimal(100)
    cap: Units | None = None
    sku_caps: dict[Sku, Units] = Field(default_factory=dict, max_length=100_000)
    excluded_stores: tuple[Ident, ...] = Field(default=(), max_length=10_000)
    multi_location: bool = False


class Reserve(_Strict):
    """Units held back at stores, for in-store sale or for one marketplace, maybe for a time."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    for_: Annotated[Ident, Field(alias="for")]
    quantity: Units
    skus: tuple[Sku, ...] = Field(default=(), max_length=10_000)
    categories: tuple[Category, ...] = Field(default=(), max_length=1_000)
    stores: tuple[Ident, ...] = Field(default=(), max_length=10_000)
    starts: UtcTime | None = None
    ends: UtcTime | None = None

    @model_validator(mode="after")
    def _window(self) -> Reserve:
        if self.starts and self.ends and self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


class LocationPriority(_Strict):
    """Which stores give first when a cap leaves less than they could."""

    groups: tuple[tuple[Ident, ...], ...] = Field(default=(), max_length=100)
    consume_slow_movers_first: bool = False

    @model_validator(mode="after")
    def _once_each(self) -> LocationPriority:
        seen: set[str] = set()
        for g, group in enumerate(self.groups):
            for s, store in enumerate(group):
                if store in seen:
                    raise RulesError.at(f"location_priority.groups[{g}][{s}]",
                                        f"store {store} is in more than one group")
                seen.add(store)
        return self


class RulesDocument(_Strict):
    """A whole allocation rules document."""

    schema_version: Literal[1]
    version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
    name: Name
    safety_stock: SafetyStock = SafetyStock()
    marketplaces: dict[Ident, Marketplace] = Field(min_length=1, max_length=100)
    reserves: tuple[Reserve, ...] = Field(default=(), max_length=1_000)
    location_priority: LocationPriority = LocationPriority()

    @model_validator(mode="after")
    def _cross_checks(self) -> RulesDocument:
        problems: list[Problem] = []
        names: set[str] = set()
        for index, reserve in enumerate(self.reserves):
            if reserve.name in names:
                problems.append(Problem(f"reserves[{index}].name",
                                        f"the name {reserve.name!r} is used twice"))
            names.add(reserve.name)
            if reserve.for_ != IN_STORE and reserve.for_ not in self.marketplaces:
                problems.append(Problem(
                    f"reserves[{index}].for",
                    f"{reserve.for_!r} is neither in_store nor a marketplace listed above"))
        if IN_STORE in self.marketplaces:
            problems.append(Problem(f"marketplaces.{IN_STORE}", "in_store is not a marketplace"))
        if problems:
            raise RulesError(problems)
        return self
