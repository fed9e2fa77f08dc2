"""Who may do what: the placeholder rights table (issue 5 replaces it with scoped RBAC).

Rules kept by every later version:
- view / request / approve are separate rights;
- nobody approves their own request (``require_not_own``);
- the check is a pure function of the principal and the action, raising ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.errors import Forbidden


class Role(StrEnum):
    """The roles a token (later: a user) can hold."""

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
    ADMINISTER = "administer"


_ALL_VIEW = frozenset({Action.VIEW})
GRANTS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: _ALL_VIEW,
    Role.TECHNICIAN: _ALL_VIEW,
    Role.STORE_STAFF: _ALL_VIEW | {Action.REQUEST},
    Role.STORE_MANAGER: _ALL_VIEW | {Action.REQUEST},
    Role.REGIONAL_MANAGER: _ALL_VIEW | {Action.APPROVE},
    Role.FINANCE: _ALL_VIEW | {Action.APPROVE},
    Role.ADMIN: frozenset(Action),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name and role."""

    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return self.name


def can(principal: Principal, action: Action) -> bool:
    """True if the principal's role grants ``action``."""
    return action in GRANTS.get(principal.role, frozenset())


def require(principal: Principal, action: Action) -> None:
    """Raise Forbidden unless the principal may do ``action``."""
    if not can(principal, action):
        raise Forbidden(f"role {principal.role.value} may not {action.value}")


def require_not_own(principal: Principal, requested_by: str | None) -> None:
    """Raise Forbidden if the principal made the request it is about to approve."""
    if requested_by and principal.name.casefold() == requested_by.casefold():
        raise Forbidden(f"{principal.name} requested this refund and may not approve it: "
                        "nobody approves their own request")
