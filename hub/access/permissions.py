"""Who may do what, where: roles, rights, scopes and approval levels, as pure functions.

Rules:
- rights are separate: ``view`` / ``request`` / ``approve`` (and the HQ rights ``edit_policy``,
  ``manage_users``, ``manage_stores``, ``read_audit``, ``manage_devices``); ``GRANTS`` says which
  role holds which;
- a principal's ``Scope`` (region, city, store; ``None`` = any) limits every store-bound right:
  a store is covered when each field the scope sets equals the store's attribute;
- approval levels map to roles: level 1 — a regional manager in scope, or finance / admin;
  level 2 (and manual review, which asks for the highest level) — finance / admin; a store manager
  may approve in their own store a refund within the store's offline limit (same currency, not
  flagged for manual review);
- nobody approves their own request (``require_not_own``: the token name or its user);
- what spans the whole chain and cannot be cut to a scope (metrics, the audit trail, the Amazon
  seller accounts) is for unscoped principals only (``require_unscoped``);
- every check raises ``Forbidden`` with a sentence; ``approval_refusal`` returns it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from hub.errors import Forbidden
from protocol import Money


class Role(StrEnum):
    """The roles a user or a token can hold."""

    VIEWER = "viewer"
    STORE_STAFF = "store_staff"
    STORE_MANAGER = "store_manager"
    REGIONAL_MANAGER = "regional_manager"
    FINANCE = "finance"
    ADMIN = "admin"
    TECHNICIAN = "technician"


class Action(StrEnum):
    """Rights that the API checks."""

    VIEW = "view"
    REQUEST = "request"
    APPROVE = "approve"
    EDIT_POLICY = "edit_policy"
    MANAGE_USERS = "manage_users"
    MANAGE_STORES = "manage_stores"
    MANAGE_DEVICES = "manage_devices"
    READ_AUDIT = "read_audit"
    ADMINISTER = "administer"


_V = frozenset({Action.VIEW})
GRANTS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: _V,
    Role.TECHNICIAN: _V | {Action.MANAGE_DEVICES},
    Role.STORE_STAFF: _V | {Action.REQUEST},
    Role.STORE_MANAGER: _V | {Action.REQUEST, Action.APPROVE},
    Role.REGIONAL_MANAGER: _V | {Action.APPROVE},
    Role.FINANCE: _V | {Action.APPROVE, Action.READ_AUDIT},
    Role.ADMIN: frozenset(Action),
}
STORE_ROLES = frozenset({Role.STORE_STAFF, Role.STORE_MANAGER})
HQ_APPROVERS = frozenset({Role.FINANCE, Role.ADMIN})
TOP_LEVEL = 2  # the highest approval level the default roles know


@dataclass(frozen=True)
class StorePlace:
    """Where a store is: the attributes scopes are matched against."""

    store_id: str
    region: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class Scope:
    """Region, city and store a principal is limited to; ``None`` fields mean any."""

    region: str | None = None
    city: str | None = None
    store: str | None = None

    @property
    def unlimited(self) -> bool:
        """True when the scope covers every store."""
        return self.region is None and self.city is None and self.store is None

    def covers(self, place: StorePlace) -> bool:
        """True when ``place`` is inside this scope."""
        return (
            (self.store is None or self.store == place.store_id)
            and (self.region is None or self.region == place.region)
            and (self.city is None or self.city == place.city)
        )

    def describe(self) -> str:
        """The scope in words, e.g. ``region north, store s1``."""
        parts = [
            f"{k} {v}"
            for k, v in (("region", self.region), ("city", self.city), ("store", self.store))
            if v
        ]
        return ", ".join(parts) or "every store"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (browser session) or a token, with role and scope."""

    name: str
    role: Role
    scope: Scope = Scope()
    user: str | None = None  # the user behind a token (or the session's user)
    bulk_limit: Decimal | None = None  # largest bulk approval total (base currency)

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return self.name


@dataclass(frozen=True)
class PendingRefund:
    """What an approval check needs to know about a refund."""

    place: StorePlace
    amount: Money
    level: int | None
    manual_review: bool
    requested_by: str | None


def can(principal: Principal, action: Action) -> bool:
    """True if the principal's role grants ``action``."""
    return action in GRANTS.get(principal.role, frozenset())


def require(principal: Principal, action: Action) -> None:
    """Raise Forbidden unless the principal's role grants ``action``."""
    if not can(principal, action):
        raise Forbidden(f"role {principal.role.value} may not {action.value}")


def require_in_scope(principal: Principal, place: StorePlace) -> None:
    """Raise Forbidden unless ``place`` is inside the principal's scope."""
    if not principal.scope.covers(place):
        raise Forbidden(
            f"store {place.store_id} is outside {principal.name}'s scope "
            f"({principal.scope.describe()})",
            field="store",
        )


def require_not_own(principal: Principal, requested_by: str | None) -> None:
    """Raise Forbidden if the principal (token or its user) made the request."""
    if not requested_by:
        return
    names = {principal.name.casefold()} | ({principal.user.casefold()} if principal.user else set())
    if requested_by.casefold() in names:
        raise Forbidden(
            f"{principal.name} requested this refund and may not approve it: "
            "nobody approves their own request"
        )


def approval_refusal(
    principal: Principal, refund: PendingRefund, store_limit: Money | None
) -> str | None:
    """Why the principal may not decide this refund, or None when they may."""
    if not can(principal, Action.APPROVE):
        return f"role {principal.role.value} may not approve"
    if not principal.scope.covers(refund.place):
        return (
            f"store {refund.place.store_id} is outside {principal.name}'s scope "
            f"({principal.scope.describe()})"
        )
    if principal.role in HQ_APPROVERS:
        return None
    if principal.role is Role.REGIONAL_MANAGER:
        return _regional(refund)
    return _store_manager(refund, store_limit)


def _regional(refund: PendingRefund) -> str | None:
    if refund.manual_review:
        return "a refund flagged for manual review needs finance or admin"
    if (refund.level or 1) > 1:
        return f"approval level {refund.level} needs finance or admin"
    return None


def _store_manager(refund: PendingRefund, limit: Money | None) -> str | None:
    if refund.manual_review:
        return "a refund flagged for manual review needs finance or admin"
    if limit is None:
        return f"store {refund.place.store_id} has no offline refund limit for a manager"
    if limit.currency != refund.amount.currency or refund.amount.amount > limit.amount:
        return (
            f"{refund.amount} is above the store's offline limit of {limit}: it needs a "
            "regional manager, finance or admin"
        )
    return None


def require_approval(
    principal: Principal, refund: PendingRefund, store_limit: Money | None
) -> None:
    """Raise Forbidden unless the principal may approve or reject this refund."""
    refusal = approval_refusal(principal, refund, store_limit)
    if refusal:
        raise Forbidden(refusal)


def require_unscoped(principal: Principal, what: str) -> None:
    """Raise Forbidden unless the principal covers every store: ``what`` spans the whole chain
    and cannot be cut to a scope (the metrics, the audit trail, the Amazon seller accounts)."""
    if not principal.scope.unlimited:
        raise Forbidden(
            f"{what} cover every store, and {principal.name} is limited to "
            f"{principal.scope.describe()}: use a token or user without a scope",
            field="authorization",
        )
