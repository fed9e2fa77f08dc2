"""Transfers between stores on the wire: the hub's tasks to the two stores (hub -> node).

A transfer moves units of SKUs from one store to another. The hub asks the sending store to ship
it (``transfer.task``, role ``send``); the store's ship books, per line, sellable -> in transit
(``transfer_out``, ``stock.moved`` with the ``transfer_id``). Once the hub has seen every line
shipped, it asks the receiving store to receive it (``transfer.task``, role ``receive``, with the
shipped quantities). The receiver counts what arrived and books, per line: the shipped quantity
into in transit (``transfer_in``, announced), what was counted from in transit to sellable
(``transfer_in``), a shortfall out of in transit (``count``: the difference, booked) and a
surplus straight into sellable (``transfer_in``). When the hub has seen every line of the receipt
add up, it tells the sender the goods arrived (``transfer.delivered``), whose in-transit units
then leave its stock (``transfer_out``, in transit -> outside the store). A transfer not shipped
yet may be cancelled at the hub: the sending store is told (``transfer.cancelled``) and drops
its open task; a store that had shipped before it heard keeps its shipment, which the hub follows
as usual (the goods left).

Rules:
- a task names each SKU at most once, 1 to ``MAX_TRANSFER_LINES`` lines, quantities as one stock
  move allows (``protocol.limits``);
- the two stores of a transfer differ;
- the hub follows a transfer only from the stores' ``stock.moved`` events carrying its id: no
  other event kind is needed, so an older hub or node ignores nothing it must know.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from protocol.limits import MAX_STOCK_QUANTITY
from protocol.returns import Body, Code, Note

MAX_TRANSFER_LINES = 200
TransferRole = Literal["send", "receive"]


class TransferLine(Body):
    """One SKU of a transfer and how many units."""

    sku: Code
    quantity: int = Field(ge=1, le=MAX_STOCK_QUANTITY)


def _one_line_per_sku(lines: list[TransferLine]) -> None:
    skus = [line.sku for line in lines]
    if len(set(skus)) != len(skus):
        raise ValueError("each SKU at most once in a transfer")


class TransferTask(Body):
    """The hub asks a store to ship (``send``) or to receive (``receive``) a transfer."""

    kind: Literal["transfer.task"] = "transfer.task"
    transfer_id: Code
    role: TransferRole
    from_store: Code
    to_store: Code
    lines: list[TransferLine] = Field(min_length=1, max_length=MAX_TRANSFER_LINES)
    requested_by: Code | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.from_store == self.to_store:
            raise ValueError("a transfer goes between two different stores")
        _one_line_per_sku(self.lines)
        return self


class TransferDelivered(Body):
    """The hub tells the sending store its transfer arrived: its in-transit units of ``lines``
    (what it shipped) leave its stock."""

    kind: Literal["transfer.delivered"] = "transfer.delivered"
    transfer_id: Code
    lines: list[TransferLine] = Field(min_length=1, max_length=MAX_TRANSFER_LINES)

    @model_validator(mode="after")
    def _checked(self) -> Self:
        _one_line_per_sku(self.lines)
        return self


class TransferCancelled(Body):
    """The hub tells the sending store a transfer it has not shipped is cancelled, and why."""

    kind: Literal["transfer.cancelled"] = "transfer.cancelled"
    transfer_id: Code
    reason: Note
