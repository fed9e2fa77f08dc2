"""The one exception tree of ``edge_agent``.

    EdgeError               anything the edge agent refuses or cannot do
    ├── ConfigError         settings that cannot start the agent (missing id, bad zone, data dir)
    ├── StoreError          the local SQLite file cannot be opened or migrated
    ├── RequestError        a counter request refused; carries ``field`` and an HTTP status
    │   ├── InvalidRequest  422: a value is wrong (the field is named)
    │   ├── NotFound        404: no such return at this node
    │   ├── Conflict        409: the request clashes with what is recorded (RMA already received)
    │   │   └── TransitionRefused  409: the return state machine does not allow the action
    │   ├── Unauthorized    401: no (valid) staff session or POS key where one is required
    │   ├── Forbidden       403: who is asking may not do this (role, client, impersonation)
    │   ├── TooManyAttempts 429: too many wrong PINs for a staff id; carries ``retry_after``
    │   └── DiskFull        507: the store's disk is full; nothing was written
    └── LinkError           the MQTT link cannot do what was asked (never raised into the API)

Errors are raised where the problem is found and translated once, at the HTTP boundary
(``edge_agent.web.api``) or the CLI (``edge_agent.cli.main``); lower-level errors are wrapped with
``raise ... from err``. Every error carries a sentence a person can act on.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of everything the edge agent refuses."""


class ConfigError(EdgeError):
    """Settings that cannot start the agent."""


class StoreError(EdgeError):
    """The local database cannot be opened or migrated."""


class RequestError(EdgeError):
    """A counter request refused; ``field`` names the part at fault (dotted path) when known."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRequest(RequestError):
    """A value in the request is wrong."""

    status_code = 422


class NotFound(RequestError):
    """The thing asked for does not exist at this node."""

    status_code = 404


class Conflict(RequestError):
    """The request clashes with what is already recorded."""

    status_code = 409


class TransitionRefused(Conflict):
    """The return state machine does not allow this action in this state."""


class Unauthorized(RequestError):
    """The caller has not shown who they are (sign in, or send a POS API key)."""

    status_code = 401


class Forbidden(RequestError):
    """The caller is known (or local) but may not do this."""

    status_code = 403


class TooManyAttempts(RequestError):
    """Sign-in is locked for a while after too many wrong PINs."""

    status_code = 429

    def __init__(self, message: str, field: str | None = None, retry_after: int = 0) -> None:
        super().__init__(message, field)
        self.retry_after = retry_after


class DiskFull(RequestError):
    """The store's disk is full: the write was rolled back, everything before it is kept."""

    status_code = 507


class LinkError(EdgeError):
    """The MQTT link cannot do what was asked."""
