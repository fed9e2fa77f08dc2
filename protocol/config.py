"""The store-wide configuration the hub publishes, retained, on ``acorn/v1/stores/S/config``.

Rules:
- one document per store, replacing the previous one as a whole; ``version`` only grows, so a
  node ignores a document older than the one it holds;
- the envelope's ``node_id`` is ``hub`` and its ``seq`` equals ``version``;
- staff PINs travel only as salted hashes (``scrypt$n$r$p$salt$key``), never in clear, so the
  counter can check a PIN offline without the store ever holding the PIN itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from protocol.limits import (
    MAX_ALLOCATION_CATEGORY_FLOORS,
    MAX_ALLOCATION_RESERVE_SKUS,
    MAX_ALLOCATION_RESERVES,
    MAX_ALLOCATION_SKU_FLOORS,
    MAX_BATCH_EVENTS,
    MAX_MARKETPLACES,
    MAX_STAFF,
    MAX_TEXT_CHARS,
)
from protocol.money import Money
from protocol.returns import Body, Code
from protocol.timeutil import UtcDatetime

CONFIG_NODE_ID = "hub"

PinHash = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StaffPin(Body):
    """One member of staff who may sign in at the store's counters."""

    staff_id: Code
    role: Literal["store_staff", "store_manager"]
    pin_hash: PinHash


Units = Annotated[int, Field(ge=0, le=10_000_000)]


class StoreReserve(Body):
    """Units the allocation rules hold back at this store, for in-store sale (``in_store``) or
    for one marketplace; empty ``skus``/``categories`` mean every SKU; timed when ``starts`` /
    ``ends`` (exclusive) are given."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    name: Code
    for_: Code = Field(alias="for")
    quantity: Units
    skus: list[Code] = Field(default_factory=list, max_length=MAX_ALLOCATION_RESERVE_SKUS)
    categories: list[Code] = Field(default_factory=list, max_length=MAX_ALLOCATION_RESERVE_SKUS)
    starts: UtcDatetime | None = None
    ends: UtcDatetime | None = None


class StoreAllocation(Body):
    """This store's part of the published allocation rules: its safety floors (the most specific
    wins: ``sku_floors``, then ``category_floors``, then ``floor``), the reserves that concern
    it, and the marketplaces that never sell from it."""

    version: int = Field(ge=1)
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS)]
    floor: Units = 0
    category_floors: dict[Code, Units] = Field(default_factory=dict,
                                               max_length=MAX_ALLOCATION_CATEGORY_FLOORS)
    sku_floors: dict[Code, Units] = Field(default_factory=dict,
                                          max_length=MAX_ALLOCATION_SKU_FLOORS)
    reserves: list[StoreReserve] = Field(default_factory=list, max_length=MAX_ALLOCATION_RESERVES)
    excluded_from: list[Code] = Field(default_factory=list, max_length=MAX_MARKETPLACES)


class StoreConfig(Body):
    """Rules a store's nodes follow, also while the hub is unreachable."""

    kind: Literal["store.config"] = "store.config"
    version: int = Field(ge=1)
    issued_at: UtcDatetime
    offline_refund_limit: Money | None = None
    staff: list[StaffPin] = Field(default_factory=list, max_length=MAX_STAFF)
    policy_version: int | None = None
    # the store's settings edited on the fleet page; optional, so an older hub's config (None:
    # the node keeps its own setting) and an older node (ignores them) still understand each other
    language: Literal["en", "de", "zh", "ja"] | None = None
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    printer_paper: Literal["58mm", "80mm"] | None = None
    # the store's part of the active allocation rules; optional: older nodes ignore it
    allocation: StoreAllocation | None = None
    # how many events a node may send in one event.batch message: the hub reads batches (an
    # older hub's config lacks it, and its nodes send one event per message)
    event_batch: int | None = Field(default=None, ge=2, le=MAX_BATCH_EVENTS)
