"""Properties: any amount, currency, date and flag combination decides without raising."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.policy import CompiledPolicy, Decision, Outcome, PriorRefund, RefundRequest, decide
from protocol import MINOR_UNITS, Channel, Grade, Money
from protocol.limits import MAX_AMOUNT_INTEGER_DIGITS
from tests.policy.helpers import DE, DEFAULT, JP, NOW, UK, US, jpy_base, market, policy, request

SHORT_WINDOWS = policy(market(DE, return_window_days=7), market(US, return_window_days=0))
POLICIES = [DEFAULT, SHORT_WINDOWS, policy(jpy_base)]
# Mostly currencies the policies can convert, so the tiers are exercised, but any ISO 4217 code.
CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "GBP", "CAD"]) | st.sampled_from(
    sorted(MINOR_UNITS)
)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


RARE = st.sampled_from([False, False, False, True])  # risk flags are the exception


def near(moment: datetime, low_days: int, high_days: int) -> st.SearchStrategy[datetime]:
    """A moment some seconds around ``moment`` (dates near each other hit the windows' edges)."""
    seconds = st.integers(min_value=low_days * 86_400, max_value=high_days * 86_400)
    return seconds.map(lambda offset: moment + timedelta(seconds=offset))


@st.composite
def money(draw: st.DrawFn, currency: str | None = None) -> Money:
    code = currency or draw(CURRENCIES)
    bound = 10 ** (MAX_AMOUNT_INTEGER_DIGITS + MINOR_UNITS[code]) - 1  # the protocol's limit
    units = draw(st.integers(-100, 200_000) | st.integers(-bound, bound))
    return Money(amount=Decimal(units).scaleb(-MINOR_UNITS[code]), currency=code)


@st.composite
def cases(draw: st.DrawFn) -> tuple[RefundRequest, list[PriorRefund], datetime]:
    """A request, the customer's history and ``now``: independent, or realistically related."""
    ordered = draw(MOMENTS)
    delivered = draw(st.none() | near(ordered, -2, 60) | MOMENTS)
    now = draw(near(delivered or ordered, -10, 400) | MOMENTS)
    amount = draw(money())
    history = draw(st.lists(st.builds(PriorRefund, near(now, -60, 1), money()), max_size=6))
    request = RefundRequest(
        refund_id=draw(st.text(max_size=20)),
        amount=amount,
        channel=draw(st.sampled_from(Channel)),
        marketplace_id=draw(st.sampled_from([US, DE, UK, JP, "STORE-1", ""])),
        category=draw(
            st.sampled_from(["software", "sealed_media", "toys", "gift_card"]) | st.text()
        ),
        ordered_at=ordered,
        delivered_at=delivered,
        opened=draw(RARE),
        grade=draw(st.none() | st.sampled_from(Grade)),
        mismatch=draw(RARE),
        amount_paid=draw(st.just(amount) | money()),
        high_risk=draw(RARE),
        customer_key="c",
    )
    return request, history, now


def check(decision: Decision, policy: CompiledPolicy) -> None:
    assert decision.outcome in set(Outcome)
    assert (decision.level is not None) == (decision.outcome is Outcome.NEEDS_APPROVAL)
    assert (decision.timing is None) == (decision.outcome is Outcome.REJECT)
    assert decision.rules and all(rule.sentence for rule in decision.rules)
    assert all(isinstance(rule.data_dict(), dict) for rule in decision.rules)
    assert decision.refund_outcome is not None
    if decision.base_amount is not None:
        assert decision.fx is not None
        assert decision.base_amount.as_tuple().exponent == -MINOR_UNITS[policy.base_currency]


@settings(max_examples=400, deadline=None)
@given(cases(), st.sampled_from(POLICIES))
def test_any_request_decides_to_one_of_four_outcomes(
    case: tuple[RefundRequest, list[PriorRefund], datetime], policy: CompiledPolicy
) -> None:
    req, history, now = case
    decision = decide(req, history, policy, now)
    check(decision, policy)
    assert decide(req, history, policy, now) == decision


RANK = {"auto_approve": 0, "needs_approval:1": 1, "needs_approval:2": 2}


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**8),
    st.integers(min_value=0, max_value=10**8),
    st.sampled_from(["USD", "EUR", "JPY", "GBP"]),
)
def test_a_larger_amount_never_needs_a_lower_level(low: int, more: int, currency: str) -> None:
    def label(units: int) -> str:
        amount = Decimal(units).scaleb(-MINOR_UNITS[currency])
        return decide(request(str(amount), currency), [], DEFAULT, NOW).label

    assert RANK[label(low)] <= RANK[label(low + more)]
