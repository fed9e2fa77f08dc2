"""Picking an Amazon order at a store, on the wire (issue 14 points 2-3).

Messages:
- ``order.pick.task`` (hub -> node command): one package of an order the hub routed to the
  store: its lines (SKU, quantity), the ship-by time and the language of the packing slip;
- ``order.shipped`` (node -> hub event): the package left the store, with the carrier, the
  tracking number and the lines shipped; the hub confirms it to Amazon once per package;
- ``order.pick.given_back`` (node -> hub event): the store cannot fill the package; the hub
  routes the order again without it (the node has released its reservation already);
- ``order.pick.withdrawn`` (hub -> node command): the order was routed again (by hand): the
  store's open task is closed and its reservation released; a package shipped already stays
  shipped (the hub hears of it from ``order.shipped``).

Rules:
- a package is named by ``package_id``, stable for the package: the hub keeps Amazon's
  ``packageReferenceId`` with it, so a resent ``order.shipped`` edits, never duplicates;
- a task's lines name each SKU once, 1 to ``MAX_PICK_LINES`` lines;
- bounds as everywhere in the protocol (``protocol.limits``).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from protocol.limits import MAX_STOCK_QUANTITY
from protocol.returns import Body, Code, Note
from protocol.timeutil import UtcDatetime

MAX_PICK_LINES = 100
Language = Literal["en", "de", "zh", "ja"]
Tracking = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True,
                                            pattern=r"^[A-Za-z0-9._/-]+$")]


class PickLine(BaseModel):
    """Units of one SKU to pick for a package."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sku: Code
    quantity: int = Field(ge=1, le=MAX_STOCK_QUANTITY)
    title: Note | None = None


def _one_line_per_sku(lines: tuple[PickLine, ...]) -> None:
    skus = [line.sku for line in lines]
    if len(set(skus)) != len(skus):
        raise ValueError("a package names each SKU once")


class PickTask(Body):
    """The hub asks a store to pick and ship one package of an Amazon order."""

    kind: Literal["order.pick.task"] = "order.pick.task"
    package_id: Code
    order_id: Code
    marketplace_id: Code
    lines: tuple[PickLine, ...] = Field(min_length=1, max_length=MAX_PICK_LINES)
    ship_by: UtcDatetime | None = None
    language: Language = "en"
    attempt: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        _one_line_per_sku(self.lines)
        return self


class OrderShipped(Body):
    """A store shipped one package: carrier, tracking number, when, and what."""

    kind: Literal["order.shipped"] = "order.shipped"
    package_id: Code
    order_id: Code
    carrier: Code
    tracking_number: Tracking
    shipped_at: UtcDatetime
    lines: tuple[PickLine, ...] = Field(min_length=1, max_length=MAX_PICK_LINES)
    staff_id: Code | None = None

    @model_validator(mode="after")
    def _lines_unique(self) -> Self:
        _one_line_per_sku(self.lines)
        return self


class PickGivenBack(Body):
    """A store cannot fill a package: the order goes back to the hub to be routed again."""

    kind: Literal["order.pick.given_back"] = "order.pick.given_back"
    package_id: Code
    order_id: Code
    reason: Note = Field(min_length=1)
    at: UtcDatetime
    staff_id: Code | None = None


class PickWithdrawn(Body):
    """The hub takes a pick task back from a store (the order was routed again)."""

    kind: Literal["order.pick.withdrawn"] = "order.pick.withdrawn"
    package_id: Code
    order_id: Code
    reason: Note | None = None
