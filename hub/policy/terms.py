"""Return-terms rules: the return window, opened-goods exclusions, the withdrawal right, warranty.

Rules (the merchant's terms for a change of mind), in local calendar days in the marketplace's
zone. Day 0 is the local day of delivery, or of the order when the delivery is unknown:
- ``window.expired``: the local day of ``now`` is more than ``return_window_days`` after day 0,
  i.e. the window closed at local midnight after its last day → reject. (Amazon.de, 30 days,
  delivered 1 March 2024: open until 31 March 23:59:59 CEST = 21:59:59Z, the day clocks go
  forward.)
- ``opened.excluded``: opened, and the marketplace lists the category as not refundable once
  opened → reject.
- ``withdrawal.right``: in a marketplace with ``withdrawal_days`` (EU: 14), for a distance sale
  (every channel but POS), while the local day of ``now`` is at most ``withdrawal_days`` after
  day 0, the policy never rejects on these terms: the rejections are waived and a person decides
  (needs approval, level 1 at least). A person may still reject lawfully (unsealed software, CRD
  Art. 16(i)); the engine may not.
- otherwise faulty goods (grade in ``faulty_grades``) are a warranty matter, not a change of mind:
  ``opened.excluded`` is waived, and past the window ``warranty.claim`` asks for manual review.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

from hub.policy.compiled import CompiledPolicy, Marketplace
from hub.policy.values import Effect, FiredRule, RefundRequest
from protocol import Channel

# The statutory withdrawal right covers distance sales; a sale at the store counter is not one.
DISTANCE_CHANNELS = frozenset({Channel.AMAZON_MFN, Channel.AMAZON_FBA, Channel.WEB})


def terms_rules(
    request: RefundRequest,
    market: Marketplace,
    policy: CompiledPolicy,
    now: datetime,
    rules: list[FiredRule],
) -> None:
    """Append the return-terms rules that fire for ``request`` at ``now``."""
    anchor = request.delivered_at or request.ordered_at
    day0 = anchor.astimezone(market.zone).toordinal()
    elapsed = now.astimezone(market.zone).toordinal() - day0
    matched = []
    if elapsed > market.window_days:
        matched.append(_window_rule(request, market, day0, elapsed))
    if request.opened and request.category in market.opened_excluded:
        matched.append(_opened_rule(request, market))
    if matched:
        rules.extend(_resolve(request, market, policy, elapsed, matched))


def window_closes(market: Marketplace, day0: date) -> datetime:
    """The instant the return window closes: local midnight after its last day, aware."""
    last = day0.toordinal() + market.window_days
    return datetime.combine(date.fromordinal(last + 1), time(), market.zone)


def _resolve(
    request: RefundRequest,
    market: Marketplace,
    policy: CompiledPolicy,
    elapsed: int,
    matched: list[FiredRule],
) -> list[FiredRule]:
    """Apply the withdrawal right, then the faulty-goods exception, to the terms rejections."""
    waived = [replace(rule, effect=Effect.WAIVED) for rule in matched]
    if _withdrawal_open(request, market, elapsed):
        return [*waived, _withdrawal_rule(market, elapsed)]
    if request.grade not in policy.faulty_grades:
        return matched
    if matched[0].rule_id != "window.expired":
        return waived
    return [
        *waived,
        FiredRule(
            "warranty.claim",
            Effect.MANUAL_REVIEW,
            "the item is faulty (grade {grade}) and past the return window: "
            "check it as a warranty claim",
            (("grade", request.grade),),
        ),
    ]


def _withdrawal_open(request: RefundRequest, market: Marketplace, elapsed: int) -> bool:
    days = market.withdrawal_days
    return days is not None and elapsed <= days and request.channel in DISTANCE_CHANNELS


def _withdrawal_rule(market: Marketplace, elapsed: int) -> FiredRule:
    return FiredRule(
        "withdrawal.right",
        Effect.NEEDS_APPROVAL,
        "day {elapsed} of the {days}-day statutory withdrawal period in {market}: "
        "the policy may not reject a distance sale, so a person decides",
        (("elapsed", elapsed), ("days", market.withdrawal_days), ("market", market.name)),
        1,
    )


def _window_rule(request: RefundRequest, market: Marketplace, day0: int, elapsed: int) -> FiredRule:
    anchor = "delivery" if request.delivered_at is not None else "the order (delivery unknown)"
    return FiredRule(
        "window.expired",
        Effect.REJECT,
        "requested on day {elapsed} after {anchor}; the {days}-day return window of {market} "
        "closed at {closed}",
        (
            ("elapsed", elapsed),
            ("anchor", anchor),
            ("days", market.window_days),
            ("market", market.name),
            ("closed", window_closes(market, date.fromordinal(day0))),
        ),
    )


def _opened_rule(request: RefundRequest, market: Marketplace) -> FiredRule:
    return FiredRule(
        "opened.excluded",
        Effect.REJECT,
        "{category} may not be refunded once opened in {market}, and this one was opened",
        (("category", request.category), ("market", market.name)),
    )
