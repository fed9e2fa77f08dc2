"""Identifiers validated at construction: store ids, node ids, message ids.

Store and node ids appear in MQTT topics and broker user names, so they are restricted to
lower-case letters, digits and inner hyphens (no ``/``, ``+``, ``#`` or spaces can sneak into a
topic or an ACL).
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"
_ID_RE = re.compile(ID_PATTERN)


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a valid store/node id, else raise ValueError naming ``what``."""
    if not _ID_RE.match(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use 1-40 lower-case letters, digits or inner hyphens"
        )
    return value


StoreId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
NodeId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _check_uuid(value: str) -> str:
    """``value`` if ``uuid.UUID`` takes it (the canonical lower-case form, as every ACORN
    process writes ids, is recognised by one regex match: a fifth of ``UUID``'s time, once per
    message on the hub's network thread)."""
    if not _CANONICAL_UUID.fullmatch(value):
        uuid.UUID(value)
    return value


MessageId = Annotated[str, AfterValidator(_check_uuid)]


def new_message_id() -> str:
    """A fresh random message id (UUID4 text)."""
    return str(uuid.uuid4())


def new_message_ids(count: int) -> list[str]:
    """``count`` fresh random message ids (UUID4 text, as ``uuid4`` makes them) from one read of
    the system's random source, where ``uuid4`` reads it once per id: each read is a system call
    that lets go of the GIL (the hub's acks, about one per event)."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[at:at + 16], version=4)) for at in range(0, 16 * count, 16)]
