"""Rights, scopes and approval levels as pure functions: what each role may and may not do."""

from __future__ import annotations

import pytest

from hub.access.permissions import (
    Action,
    PendingRefund,
    Principal,
    Role,
    Scope,
    StorePlace,
    approval_refusal,
    can,
    require,
    require_approval,
    require_not_own,
)
from hub.errors import Forbidden
from protocol import Money

S1 = StorePlace("s1", "north", "oslo")
S2 = StorePlace("s2", "north", "bergen")
S3 = StorePlace("s3", "south", "rome")
LIMIT = Money.of("150.00", "USD")


def refund(
    place: StorePlace = S1, amount: str = "100.00", level: int = 1, review: bool = False
) -> PendingRefund:
    return PendingRefund(place, Money.of(amount, "USD"), level, review, "clerk-1")


def who(role: Role, scope: Scope = Scope()) -> Principal:
    return Principal(f"{role.value}-1", role, scope)


@pytest.mark.parametrize(
    ("scope", "place", "covered"),
    [
        (Scope(), S3, True),
        (Scope(region="north"), S1, True),
        (Scope(region="north"), S3, False),
        (Scope(region="north", city="oslo"), S2, False),
        (Scope(store="s1"), S1, True),
        (Scope(store="s1"), S2, False),
        (Scope(region="north"), StorePlace("s9"), False),  # a store with no region yet
    ],
)
def test_scopes_cover_stores(scope: Scope, place: StorePlace, covered: bool) -> None:
    assert scope.covers(place) is covered


def test_a_clerk_asks_for_a_refund_but_cannot_decide_it() -> None:
    clerk = who(Role.STORE_STAFF, Scope(store="s1"))
    require(clerk, Action.REQUEST)
    with pytest.raises(Forbidden, match="role store_staff may not approve"):
        require_approval(clerk, refund(amount="1.00"), LIMIT)  # however small


def test_hq_finance_decides_refunds_but_never_asks_for_one_or_writes_the_policy() -> None:
    finance = who(Role.FINANCE)
    require_approval(finance, refund(S3, level=2, review=True), None)
    for right in (Action.REQUEST, Action.EDIT_POLICY, Action.MANAGE_USERS):
        with pytest.raises(Forbidden, match=f"role finance may not {right.value}"):
            require(finance, right)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.TECHNICIAN])
def test_who_only_looks_can_neither_ask_nor_decide(role: Role) -> None:
    principal = who(role)
    require(principal, Action.VIEW)
    with pytest.raises(Forbidden, match="may not request"):
        require(principal, Action.REQUEST)
    for case in (refund(), refund(level=2), refund(review=True)):
        assert approval_refusal(principal, case, LIMIT) == f"role {role.value} may not approve"


@pytest.mark.parametrize("role", list(Role))
def test_everybody_sees_and_only_holders_of_the_approve_right_decide_anything(role: Role) -> None:
    principal = who(role, Scope(store="s1"))
    require(principal, Action.VIEW)
    cases = [refund(level=level, review=review) for level in (1, 2) for review in (False, True)]
    decides_some = any(approval_refusal(principal, case, LIMIT) is None for case in cases)
    try:
        require(principal, Action.APPROVE)
    except Forbidden:
        assert not decides_some
    else:
        assert decides_some


def test_only_an_admin_holds_every_right() -> None:
    for role in Role:
        holds_all = all(can(who(role), right) for right in Action)
        assert holds_all is (role is Role.ADMIN), role


NORTH = Scope(region="north")
OWN = Scope(store="s1")


@pytest.mark.parametrize(
    ("principal", "case", "limit", "allowed"),
    [
        (who(Role.REGIONAL_MANAGER, NORTH), refund(S2), LIMIT, True),
        (who(Role.REGIONAL_MANAGER, NORTH), refund(S3), LIMIT, False),  # other region
        (who(Role.REGIONAL_MANAGER, NORTH), refund(level=2), LIMIT, False),  # level 2
        (who(Role.REGIONAL_MANAGER, NORTH), refund(review=True), LIMIT, False),  # manual review
        (who(Role.FINANCE), refund(S3, level=2), LIMIT, True),
        (who(Role.FINANCE), refund(review=True, level=2), LIMIT, True),
        (who(Role.ADMIN), refund(S3, level=2), None, True),
        (who(Role.STORE_MANAGER, OWN), refund(amount="150.00"), LIMIT, True),  # at the limit
        (who(Role.STORE_MANAGER, OWN), refund(amount="150.01"), LIMIT, False),
        (who(Role.STORE_MANAGER, OWN), refund(), None, False),  # no limit set
        (who(Role.STORE_MANAGER, OWN), refund(), Money.of("150", "EUR"), False),  # other currency
        (who(Role.STORE_MANAGER, OWN), refund(S2), LIMIT, False),
        (who(Role.STORE_MANAGER, OWN), refund(review=True), LIMIT, False),
        (who(Role.STORE_STAFF, OWN), refund(), LIMIT, False),
        (who(Role.VIEWER), refund(), LIMIT, False),
        (who(Role.TECHNICIAN), refund(), LIMIT, False),
    ],
)
def test_approval_levels_map_to_roles(
    principal: Principal, case: PendingRefund, limit: Money | None, allowed: bool
) -> None:
    refusal = approval_refusal(principal, case, limit)
    assert (refusal is None) is allowed, refusal


def test_nobody_approves_their_own_request_by_token_or_user_name() -> None:
    token = Principal("desk-token", Role.FINANCE, user="Alice")
    for requested_by in ("desk-token", "alice", "ALICE"):
        with pytest.raises(Forbidden, match="nobody approves their own request"):
            require_not_own(token, requested_by)
    require_not_own(token, "bob")
    require_not_own(token, None)
