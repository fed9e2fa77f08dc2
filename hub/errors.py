"""The one exception tree of the hub.

    HubError                 anything the hub refuses or cannot do; always a readable sentence
    ├── ConfigError          settings that cannot work (missing secret, bad limit)
    ├── InputError           a value that is wrong; ``field`` names it            (API: 422)
    ├── AuthError            no bearer token, or one we do not know               (API: 401)
    ├── Forbidden            the caller may not do this                           (API: 403)
    ├── NotFound             no such return, refund, token, command               (API: 404)
    ├── Conflict             the thing exists but its state forbids the action    (API: 409)
    │   └── InvalidTransition  a state machine table has no such transition
    ├── StorageError         the database failed or cannot be reached             (API: 503)
    └── BrokerError          the MQTT broker refused us or cannot be reached      (API: 503)

Lower-level errors (SQLAlchemy, paho, dynamic security) are translated into this tree once, at
the boundary that meets them, with ``raise ... from err``; ``translate`` does it for the CLI.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of everything the hub refuses or cannot do."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(HubError):
    """Settings that cannot work."""


class InputError(HubError):
    """A value that is wrong; ``field`` names it."""


class AuthError(HubError):
    """No bearer token, or an unknown or revoked one."""


class Forbidden(HubError):
    """The caller may not do this."""


class NotFound(HubError):
    """No such thing."""


class Conflict(HubError):
    """The thing exists but its state forbids the action."""


class InvalidTransition(Conflict):
    """A state machine has no transition for this (state, action)."""


class StorageError(HubError):
    """The database failed or cannot be reached."""


class BrokerError(HubError):
    """The MQTT broker refused us or cannot be reached."""


def translate(err: BaseException) -> HubError | None:
    """Map a lower-level error to the hub's tree (None if it is not one we know)."""
    if isinstance(err, HubError):
        return err
    from sqlalchemy.exc import SQLAlchemyError  # local: keep this module import-light

    if isinstance(err, SQLAlchemyError):
        detail = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return StorageError(f"database error: {detail}")
    if isinstance(err, OSError):
        return HubError(f"{type(err).__name__}: {err}")
    return None
