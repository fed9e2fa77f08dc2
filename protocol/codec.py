"""Bytes <-> Envelope. The only way messages enter or leave a process.

``decode`` raises exactly one error type, ``DecodeError``, with a sentence and the dotted path of
the field at fault; it never lets a pydantic or JSON error escape. Payloads above
``MAX_PAYLOAD_BYTES`` are refused before parsing.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from protocol.envelope import BODY_TYPES, Envelope
from protocol.errors import DecodeError

MAX_PAYLOAD_BYTES = 256 * 1024


def encode(envelope: Envelope) -> bytes:
    """Serialise an envelope to compact UTF-8 JSON (body without its kind, which is outside)."""
    data = envelope.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["body"].pop("kind", None)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(payload: bytes | str, expect: frozenset[str] | None = None) -> Envelope:
    """Parse and validate a message; ``expect`` limits the kinds accepted (e.g. on a topic)."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"message of {len(raw)} bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DecodeError(f"not valid UTF-8 JSON: {err}") from err
    if not isinstance(data, dict):
        raise DecodeError("a message must be a JSON object")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in BODY_TYPES:
        raise DecodeError(f"unknown message kind {kind!r}", field="kind")
    if expect is not None and kind not in expect:
        raise DecodeError(f"kind {kind!r} is not allowed here", field="kind")
    body = data.get("body")
    if not isinstance(body, dict):
        raise DecodeError(f"invalid {kind} message: body must be an object", field="body")
    try:
        typed = BODY_TYPES[kind].model_validate({**body, "kind": kind})
    except ValidationError as err:
        raise _to_decode_error(err, kind, ["body"]) from err
    try:
        return Envelope.model_validate({**data, "body": typed})
    except ValidationError as err:
        raise _to_decode_error(err, kind, []) from err


def _to_decode_error(err: ValidationError, kind: str, prefix: list[str]) -> DecodeError:
    first = err.errors(include_url=False)[0]
    path = ".".join([*prefix, *(str(part) for part in first["loc"])]) or None
    where = f" at {path}" if path else ""
    message = first["msg"].removeprefix("Value error, ")
    return DecodeError(f"invalid {kind} message{where}: {message}", field=path)
