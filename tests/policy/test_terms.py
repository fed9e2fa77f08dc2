"""Return terms by table: windows at local midnight (DST weeks too), opened goods, the EU
withdrawal right, faulty goods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.policy import Effect, Outcome, RefundRequest, Timing, decide, window_closes
from protocol import Channel, Grade
from tests.policy.helpers import (
    DE,
    DEFAULT,
    JP,
    NOW,
    UK,
    US,
    deciding,
    fired,
    market,
    policy,
    request,
)

SECOND = timedelta(seconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (marketplace, delivered at (UTC), the instant the 30-day window closes (UTC), why it is an edge)
WINDOW_EDGES = [
    # Berlin: delivered 1 March (CET); last day 31 March, the day clocks go forward, so the window
    # closes at 1 April 00:00 CEST = 31 March 22:00Z (not 23:00Z as CET would give)
    (DE, "2024-03-01T10:00:00", "2024-03-31T22:00:00", "DE, spring forward on the last day"),
    # Berlin: last day 27 October, clocks go back that night: closes 28 Oct 00:00 CET = 23:00Z
    (DE, "2024-09-27T10:00:00", "2024-10-27T23:00:00", "DE, fall back on the last day"),
    # 23:30Z on 31 May is already 1 June in Berlin: day 0 is 1 June, last day 1 July
    (DE, "2024-05-31T23:30:00", "2024-07-01T22:00:00", "DE, delivered after local midnight"),
    # ... and still 31 May in Los Angeles: last day 30 June, closes 1 July 00:00 PDT = 07:00Z
    (US, "2024-05-31T23:30:00", "2024-07-01T07:00:00", "US, delivered before local midnight"),
    # Los Angeles: last day 10 March 2024, clocks go forward at 02:00; closes 11 March 00:00 PDT
    (US, "2024-02-09T20:00:00", "2024-03-11T07:00:00", "US, spring forward on the last day"),
    # Los Angeles: clocks go back on 3 November; the window closes 4 November 00:00 PST = 08:00Z
    (US, "2024-10-04T20:00:00", "2024-11-04T08:00:00", "US, fall back on the last day"),
    # Tokyo, no DST: delivered exactly at local midnight 2 May (day 0 = 2 May)
    (JP, "2024-05-01T15:00:00", "2024-06-01T15:00:00", "JP, delivered at local midnight"),
    (UK, "2024-03-01T12:00:00", "2024-03-31T23:00:00", "UK, spring forward on the last day"),
]


@pytest.mark.parametrize(("marketplace", "delivered", "closes", "why"), WINDOW_EDGES)
def test_the_window_closes_at_local_midnight_after_its_last_day(
    marketplace: str, delivered: str, closes: str, why: str
) -> None:
    delivered_at, closed = utc(delivered), utc(closes)
    # POS: no withdrawal right, so the window alone decides
    base = request(
        marketplace_id=marketplace,
        channel=Channel.POS,
        delivered_at=delivered_at,
        ordered_at=delivered_at - timedelta(days=2),
    )
    inside = decide(base, [], DEFAULT, closed - SECOND)
    outside = decide(base, [], DEFAULT, closed)
    assert inside.outcome is Outcome.AUTO_APPROVE, why
    assert "window.expired" not in fired(inside), why
    assert outside.outcome is Outcome.REJECT, why
    assert deciding(outside) == {"tier.auto", "window.expired"}, why
    rule = next(rule for rule in outside.rules if rule.rule_id == "window.expired")
    assert rule.data_dict()["elapsed"] == "31"
    assert dict(rule.data)["closed"] == closed


def test_window_closes_is_an_aware_local_instant() -> None:
    zone = DEFAULT.marketplaces[DE]
    closes = window_closes(zone, datetime(2024, 3, 1).date())
    assert closes.isoformat() == "2024-04-01T00:00:00+02:00"
    assert closes == utc("2024-03-31T22:00:00")


def test_the_window_sentence_says_when_it_closed() -> None:
    delivered = utc("2024-03-01T10:00:00")
    decision = decide(
        request(
            marketplace_id=DE, channel=Channel.POS, delivered_at=delivered, ordered_at=delivered
        ),
        [],
        DEFAULT,
        utc("2024-04-02T10:00:00"),
    )
    assert decision.rules[1].sentence == (
        "requested on day 32 after delivery; the 30-day return window of Amazon.de closed at "
        "2024-04-01T00:00:00+02:00"
    )


def test_without_a_delivery_date_the_window_counts_from_the_order() -> None:
    ordered = utc("2024-05-01T10:00:00")  # 03:00 in Los Angeles: day 0 is 1 May
    req = request(ordered_at=ordered, delivered_at=None)
    assert decide(req, [], DEFAULT, utc("2024-06-01T06:59:59")).outcome is Outcome.AUTO_APPROVE
    late = decide(req, [], DEFAULT, utc("2024-06-01T07:00:00"))
    assert late.outcome is Outcome.REJECT
    assert "the order (delivery unknown)" in late.rules[1].sentence


def test_a_zero_day_window_allows_the_delivery_day_only() -> None:
    strict = policy(market(US, return_window_days=0))
    req = request(delivered_at=utc("2024-06-10T07:00:00"))  # 00:00 PDT, 10 June
    assert decide(req, [], strict, utc("2024-06-11T06:59:59")).outcome is Outcome.AUTO_APPROVE
    assert decide(req, [], strict, utc("2024-06-11T07:00:00")).outcome is Outcome.REJECT


# -- opened goods, withdrawal right, faulty goods -------------------------------------------------


def de(days_after_delivery: float, **changes: Any) -> tuple[RefundRequest, datetime]:
    """A DE request delivered at 10:00 Berlin, decided ``days`` later at the same local time."""
    delivered = utc("2024-05-01T08:00:00")
    fields: dict[str, Any] = {
        "marketplace_id": DE,
        "delivered_at": delivered,
        "ordered_at": delivered - timedelta(days=2),
        "channel": Channel.AMAZON_MFN,
        "category": "software",
        "opened": True,
    }
    fields.update(changes)
    return request(**fields), delivered + timedelta(days=days_after_delivery)


# (case, request fields, days after delivery, label, deciding rules, waived rules)
TERMS = [
    ("unopened software in DE", {"opened": False}, 20, "auto_approve", {"tier.auto"}, set()),
    ("opened toys in DE", {"category": "toys"}, 20, "auto_approve", {"tier.auto"}, set()),
    (
        "opened software in DE after day 14",
        {},
        15,
        "reject",
        {"tier.auto", "opened.excluded"},
        set(),
    ),
    (
        "opened sealed media in DE",
        {"category": "sealed_media"},
        20,
        "reject",
        {"tier.auto", "opened.excluded"},
        set(),
    ),
    (
        "opened software, EU withdrawal (day 5)",
        {},
        5,
        "needs_approval:1",
        {"withdrawal.right", "tier.auto"},
        {"opened.excluded"},
    ),
    (
        "opened software, last day of withdrawal",
        {},
        14,
        "needs_approval:1",
        {"withdrawal.right", "tier.auto"},
        {"opened.excluded"},
    ),
    (
        "withdrawal keeps the tier's higher level",
        {"amount": "600.00", "currency": "EUR"},
        5,
        "needs_approval:2",
        {"withdrawal.right", "tier.finance"},
        {"opened.excluded"},
    ),
    (
        "a store sale has no withdrawal right",
        {"channel": Channel.POS},
        5,
        "reject",
        {"tier.auto", "opened.excluded"},
        set(),
    ),
    (
        "FBA is a distance sale",
        {"channel": Channel.AMAZON_FBA},
        5,
        "needs_approval:1",
        {"withdrawal.right", "tier.auto"},
        {"opened.excluded"},
    ),
    (
        "withdrawal does not beat risk",
        {"high_risk": True},
        5,
        "manual_review",
        {"withdrawal.right", "tier.auto", "risk.high_risk_order"},
        {"opened.excluded"},
    ),
    (
        "opened and out of window: both reject",
        {},
        40,
        "reject",
        {"tier.auto", "opened.excluded", "window.expired"},
        set(),
    ),
    (
        "faulty opened software is not excluded",
        {"grade": Grade.DEFECTIVE},
        20,
        "auto_approve",
        {"tier.auto"},
        {"opened.excluded"},
    ),
    (
        "faulty past the window: warranty claim",
        {"grade": Grade.DAMAGED_IN_TRANSIT},
        40,
        "manual_review",
        {"tier.auto", "warranty.claim"},
        {"opened.excluded", "window.expired"},
    ),
    (
        "damaged by customer past the window",
        {"grade": Grade.DAMAGED_BY_CUSTOMER},
        40,
        "reject",
        {"tier.auto", "risk.grade", "opened.excluded", "window.expired"},
        set(),
    ),
]


@pytest.mark.parametrize(("case", "changes", "days", "label", "rules", "waived"), TERMS)
def test_terms_by_table(
    case: str,
    changes: dict[str, Any],
    days: float,
    label: str,
    rules: set[str],
    waived: set[str],
) -> None:
    req, now = de(days, **changes)
    decision = decide(req, [], DEFAULT, now)
    assert decision.label == label, case
    assert deciding(decision) == rules, case
    assert {r.rule_id for r in decision.rules if r.effect is Effect.WAIVED} == waived, case


def test_withdrawal_ends_at_local_midnight_after_day_14() -> None:
    req, _ = de(0)
    last_second = utc("2024-05-15T21:59:59")  # 23:59:59 CEST on 15 May, day 14
    assert decide(req, [], DEFAULT, last_second).label == "needs_approval:1"
    assert decide(req, [], DEFAULT, last_second + SECOND).label == "reject"


def test_withdrawal_turns_a_short_window_into_an_approval() -> None:
    short = policy(market(DE, return_window_days=7))
    req, now = de(10, category="toys")
    decision = decide(req, [], short, now)
    assert decision.label == "needs_approval:1"
    assert fired(decision)["window.expired"] is Effect.WAIVED
    assert "statutory withdrawal period" in decision.reasons()[2]
    assert decision.timing is Timing.AFTER_APPROVAL
    assert decide(req, [], short, now + timedelta(days=5)).label == "reject"


def test_no_withdrawal_right_outside_the_eu_marketplaces() -> None:
    short = policy(market(US, return_window_days=7), market(UK, return_window_days=7))
    us = request(delivered_at=NOW - timedelta(days=10))
    uk = request(marketplace_id=UK, delivered_at=NOW - timedelta(days=10))
    assert decide(us, [], short, NOW).label == "reject"
    assert decide(uk, [], short, NOW).label == "needs_approval:1"  # UK keeps a 14-day right


def test_a_waived_rule_says_so() -> None:
    req, now = de(5)
    waived = next(r for r in decide(req, [], DEFAULT, now).rules if r.effect is Effect.WAIVED)
    assert waived.sentence.endswith("(set aside by a later rule)")
