"""Policy simulation: decide the same requests under the current and a draft policy, compare.

Rules:
- a decision "changes" when its label changes: the outcome, and the approval level for
  needs-approval (``needs_approval:1`` → ``needs_approval:2`` is a change); timing changes are
  counted apart (``timing_changed``);
- money is summed in the DRAFT's base currency at the draft's rates (the policy about to be
  published prices everything, so all sums are in one currency and comparable); a request the
  draft cannot price adds to the counts, not to the sums, and is counted in ``unpriced``;
- ``changes`` are sorted by count (most first), then by labels; each keeps at most ``examples``
  example requests, in input order;
- each request is decided as of its own time when it has one, else at the report's ``now``, and
  at the rates its ``Pricing`` gives both policies when it has one (the hub's rates of its day);
- pure: the same inputs give the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from hub.policy.compiled import CompiledPolicy
from hub.policy.engine import decide_all
from hub.policy.values import Decision, PriorRefund, RefundRequest

# A policy as one request is priced: the same policy with that day's exchange rates.
Pricing = Callable[[CompiledPolicy], CompiledPolicy]


@dataclass(frozen=True, slots=True)
class Example:
    """One request whose decision changes, with both decisions."""

    refund_id: str
    before: Decision
    after: Decision


@dataclass(frozen=True, slots=True)
class Change:
    """All requests that move from one outcome label to another."""

    before: str
    after: str
    count: int
    amount: Decimal  # in the report's base currency
    examples: tuple[Example, ...]


@dataclass(frozen=True, slots=True)
class OutcomeTotal:
    """How many requests end in one outcome label, and their amount."""

    label: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """What publishing the draft would change, over the requests given."""

    base_currency: str
    total: int
    changed: int
    timing_changed: int
    unpriced: int
    changes: tuple[Change, ...]
    before: tuple[OutcomeTotal, ...]  # under the current policy, sorted by label
    after: tuple[OutcomeTotal, ...]  # under the draft, sorted by label

    def matrix(self) -> dict[tuple[str, str], int]:
        """The from → to counts of decisions that change."""
        return {(change.before, change.after): change.count for change in self.changes}


@dataclass
class _Tally:
    count: int = 0
    amount: Decimal = Decimal(0)
    examples: list[Example] = field(default_factory=list)

    def add(self, amount: Decimal | None) -> None:
        self.count += 1
        if amount is not None:
            self.amount += amount


@dataclass
class _Comparison:
    """Running totals while the requests stream past."""

    examples: int
    changes: dict[tuple[str, str], _Tally] = field(default_factory=dict)
    before: dict[str, _Tally] = field(default_factory=dict)
    after: dict[str, _Tally] = field(default_factory=dict)
    total: int = 0
    timing_changed: int = 0
    unpriced: int = 0

    def add(self, old: Decision, new: Decision) -> None:
        priced = new.base_amount  # the draft prices everything
        self.total += 1
        self.unpriced += priced is None
        self.timing_changed += old.timing != new.timing
        self.before.setdefault(old.label, _Tally()).add(priced)
        self.after.setdefault(new.label, _Tally()).add(priced)
        if old.label != new.label:
            tally = self.changes.setdefault((old.label, new.label), _Tally())
            tally.add(priced)
            if len(tally.examples) < self.examples:
                tally.examples.append(Example(old.refund_id, old, new))

    def report(self, base_currency: str) -> SimulationReport:
        ordered = sorted(self.changes.items(), key=lambda item: (-item[1].count, item[0]))
        return SimulationReport(
            base_currency=base_currency,
            total=self.total,
            changed=sum(tally.count for tally in self.changes.values()),
            timing_changed=self.timing_changed,
            unpriced=self.unpriced,
            changes=tuple(
                Change(old, new, tally.count, tally.amount, tuple(tally.examples))
                for (old, new), tally in ordered
            ),
            before=_totals(self.before),
            after=_totals(self.after),
        )


Asked = RefundRequest | Sequence[RefundRequest]


def simulate(
    draft: CompiledPolicy,
    current: CompiledPolicy,
    requests_with_history: Iterable[tuple[Asked, Sequence[PriorRefund]]
                                    | tuple[Asked, Sequence[PriorRefund], datetime]
                                    | tuple[Asked, Sequence[PriorRefund], datetime, Pricing]],
    now: datetime,
    examples: int = 3,
) -> SimulationReport:
    """Decide every request under both policies and report what would change.

    A refund may come as several requests (one per item category); its strictest decision
    counts (``decide_all``). Each is decided as of its own time when it comes with one (the
    refund's request time, as the hub decided it), else at ``now``; and priced by its own
    ``Pricing`` when it comes with one (the hub's exchange rates of its day)."""
    comparison = _Comparison(examples)
    for case in requests_with_history:
        asked, history = case[0], case[1]
        at = case[2] if len(case) > 2 else now
        price: Pricing = case[3] if len(case) > 3 else _as_is
        requests = (asked,) if isinstance(asked, RefundRequest) else asked
        comparison.add(decide_all(requests, history, price(current), at),
                       decide_all(requests, history, price(draft), at))
    return comparison.report(draft.base_currency)


def _as_is(policy: CompiledPolicy) -> CompiledPolicy:
    return policy


def _totals(totals: dict[str, _Tally]) -> tuple[OutcomeTotal, ...]:
    return tuple(
        OutcomeTotal(label, tally.count, tally.amount) for label, tally in sorted(totals.items())
    )
