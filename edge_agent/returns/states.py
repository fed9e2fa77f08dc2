"""The return's life at the counter, as pure functions over plain values (no I/O).

Rules:
- the state machine is the one the hub uses too: ``protocol.return_states`` (states
  ``expected → received → inspected → disposed``, its ``TRANSITIONS`` and the ``REFUSALS`` a
  person is shown, and why a return is inspected once); ``next_state`` only turns its refusal into
  the agent's ``TransitionRefused`` (409); a walk-in return (no cached RMA) starts from ``None``;
- the refund total is the sum of quantity × unit price, in one currency (``protocol.items_total``,
  its refusal turned into ``InvalidRequest`` naming the field);
- a return is flagged ``mismatch`` when it names a cached expected return (by RMA or order id)
  whose items (sku → quantity) or order id differ from what was received;
- a store may refund offline (a manager approving while the hub is away) only a POS sale, only
  with an offline limit set, in the limit's currency and up to it — the hub's own re-check;
- a sale cannot come after its return: ``sold_at`` later than the moment the return is received
  (beyond ``SALE_CLOCK_SKEW``, for a till whose clock runs a little ahead) is refused;
- a received line that names no ``category`` or ``opened`` takes the cached RMA's value for the
  same SKU (what the hub sent); a value the counter gives is kept as it is;
- the hub's refund decision and its payment status (where the money is) are each kept by their
  own time: a late decision that is older is ignored, a payment status only if strictly newer.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from edge_agent.errors import Conflict, InvalidRequest, TransitionRefused
from edge_agent.returns.check_words import mismatch_text
from protocol import (
    Channel,
    ExpectedReturn,
    InvalidValue,
    Money,
    ReturnItem,
    TransitionError,
    format_utc,
    items_total,
)
from protocol.limits import MAX_MISMATCH_REASONS, clip_list
from protocol.return_states import (
    REFUSALS,
    TRANSITIONS,
    ReturnState,
    State,
    allowed_actions,
    transition,
)
from protocol.return_states import ReturnAction as Action

__all__ = [
    "REFUSALS",
    "SALE_CLOCK_SKEW",
    "TRANSITIONS",
    "Action",
    "ReturnState",
    "State",
    "allowed_actions",
    "check_offline_refund",
    "check_sold_at",
    "decision_supersedes",
    "mismatches",
    "next_state",
    "payment_supersedes",
    "total_of",
    "with_rma_facts",
]

SALE_CLOCK_SKEW = timedelta(minutes=5)
_ITEM_FACTS = ("category", "opened")


def next_state(state: State, action: Action) -> ReturnState:
    """The state after ``action`` (the shared table), or TransitionRefused saying why not."""
    try:
        return transition(state, action)
    except TransitionError as err:
        raise TransitionRefused(str(err), field="state") from err


def total_of(items: list[ReturnItem]) -> Money:
    """Sum of quantity × unit price; InvalidRequest naming the first item in another currency."""
    try:
        return items_total(items)
    except InvalidValue as err:
        raise InvalidRequest(str(err), field=err.field) from err


def mismatches(items: list[ReturnItem], order_id: str | None,
               expected: ExpectedReturn | None) -> list[str]:
    """Why the received items differ from the expected return (empty: they match, or no RMA);
    at most the protocol's ``MAX_MISMATCH_REASONS``, the last saying how many more; in English,
    as recorded and sent (``check_words.mismatch_reasons`` says them in the store's language)."""
    if expected is None:
        return []
    found: list[str] = []
    rma = expected.rma_id
    if order_id and order_id != expected.order_id:
        found.append(mismatch_text("order", "en", order=order_id, expected=expected.order_id))
    got, want = _quantities(items), _quantities(expected.items)
    for sku in sorted(got.keys() - want.keys()):
        found.append(mismatch_text("extra", "en", sku=sku, rma=rma))
    for sku in sorted(want.keys() - got.keys()):
        found.append(mismatch_text("missing", "en", sku=sku, qty=want[sku], rma=rma))
    for sku in sorted(got.keys() & want.keys()):
        if got[sku] != want[sku]:
            found.append(mismatch_text("count", "en", sku=sku, got=got[sku], rma=rma,
                                       want=want[sku]))
    return clip_list(found, MAX_MISMATCH_REASONS)  # bounded by construction: "+N more"


def check_sold_at(sold_at: datetime | None, received_at: datetime) -> None:
    """InvalidRequest naming ``sold_at`` when the sale is after the return (in the future)."""
    if sold_at is not None and sold_at > received_at + SALE_CLOCK_SKEW:
        raise InvalidRequest(f"the sale time {format_utc(sold_at)} is in the future: give when "
                             "the original sale happened", field="sold_at")


def with_rma_facts(items: list[ReturnItem], expected: ExpectedReturn | None) -> list[ReturnItem]:
    """The lines, each missing ``category``/``opened`` filled from the RMA's line of its SKU."""
    if expected is None:
        return items
    known: dict[str, dict[str, object]] = {}
    for line in expected.items:
        facts = known.setdefault(line.sku, {})
        for name in _ITEM_FACTS:
            if facts.get(name) is None:
                facts[name] = getattr(line, name)
    return [_filled(item, known.get(item.sku, {})) for item in items]


def _filled(item: ReturnItem, facts: dict[str, object]) -> ReturnItem:
    missing = {name: facts[name] for name in _ITEM_FACTS
               if getattr(item, name) is None and facts.get(name) is not None}
    return item.model_copy(update=missing) if missing else item


def _quantities(items: list[ReturnItem]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item in items:
        counts[item.sku] += item.quantity
    return counts


def decision_supersedes(held_at: datetime | None, new_at: datetime) -> bool:
    """A refund decision replaces the one held unless it is older (commands may arrive late)."""
    return held_at is None or new_at >= held_at


def payment_supersedes(held_at: datetime | None, new_at: datetime) -> bool:
    """A refund's payment status replaces the one held only when it is strictly newer: statuses
    may arrive out of order after resends, and the newest ``at`` is the truth (a tie keeps the
    status held, so a resend under a new command id changes nothing)."""
    return held_at is None or new_at > held_at


def check_offline_refund(amount: Money, channel: Channel, limit: Money | None) -> None:
    """Conflict saying why the store may not refund ``amount`` without the hub, if it may not."""
    if channel is not Channel.POS:
        raise Conflict(f"only POS sales may be refunded offline, this is {channel.value}",
                       field="channel")
    if limit is None:
        raise Conflict("this store has no offline refund limit: the hub must decide",
                       field="amount")
    if amount.currency != limit.currency:
        raise Conflict(f"the store's offline limit is in {limit.currency}, the refund in "
                       f"{amount.currency}: the hub must decide", field="amount")
    if amount.amount > limit.amount:
        raise Conflict(f"{amount} is above the store's offline limit of {limit}: the hub must "
                       "decide", field="amount")
