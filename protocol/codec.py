"""Bytes <-> Envelope. The only way messages enter or leave a process.

``decode`` raises exactly one error type, ``DecodeError``, with a sentence and the dotted path of
the field at fault; it never lets a pydantic, JSON, recursion or other error escape.

Rules:
- bounds hold before parsing: payloads above ``MAX_PAYLOAD_BYTES`` and JSON nested deeper than
  ``MAX_JSON_DEPTH`` are refused without calling the JSON parser (the depth is measured by C-speed
  byte scans, never by recursion: a 200 KB ``[[[[…`` costs microseconds, not a RecursionError);
- field bounds (string and list lengths, amounts) are the types' own, from ``protocol.limits``;
- one fast path, tried first once the bounds hold: the bytes are validated in one pass by a
  ``TypeAdapter`` built once (pydantic's own JSON parser, the body typed by the envelope's
  ``kind``, every field and model validator of the message types applied as always). Whatever it
  does not accept whole goes the careful way (``json.loads``, the body, then the envelope), which
  alone words the errors: a bad message gets the same ``DecodeError`` as ever, a good one the
  same ``Envelope`` (tests/hub/test_ingest_cost.py holds the two paths to that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Union, cast

from pydantic import Field, TypeAdapter, ValidationError, create_model

from protocol.envelope import (
    BODY_TYPES,
    EVENT_KINDS,
    SCHEMA_VERSION,
    Envelope,
    EnvelopeHead,
    EventBatch,
)
from protocol.errors import DecodeError
from protocol.ids import new_message_id
from protocol.limits import MAX_BATCH_EVENTS, MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES
from protocol.returns import Body
from protocol.timeutil import format_utc, utc_now

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_TOO_DEEP = b"(" * (MAX_JSON_DEPTH + 1)


def encode(envelope: Envelope) -> bytes:
    """Serialise an envelope to compact UTF-8 JSON (body without its kind, which is outside)."""
    data = envelope.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["body"].pop("kind", None)
    for event in data["body"].get("events", ()) if envelope.kind == "event.batch" else ():
        event["body"].pop("kind", None)  # a batch's events as each travels alone
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(payload: bytes | str, expect: frozenset[str] | None = None) -> Envelope:
    """Parse and validate a message; ``expect`` limits the kinds accepted (e.g. on a topic)."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"message of {len(raw)} bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit")
    if not within_depth(raw):
        raise DecodeError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels (or unbalanced)")
    fast = _fast(raw)
    if fast is not None and (expect is None or fast.kind in expect):
        return fast
    return careful(raw, expect)


def careful(raw: bytes, expect: frozenset[str] | None = None) -> Envelope:
    """The careful way of ``decode`` (bounds already checked): it words every error."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError, int digits
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


class _OnePass(EnvelopeHead):
    """The fast path's envelopes: each kind's subclass fixes ``kind`` to its one value and
    types ``body`` itself, so the body is validated once, from the JSON (a body that does not
    fit its kind fails the pass). No validator and no callable discriminator: either would have
    pydantic turn the JSON into Python objects first (measured: a fifth of a receipt's
    validation, and most of a batch's); the unions below pick each member by its ``kind``
    key, read from the JSON."""

    body: Body


def _kind_envelope(kind: str, body: type[Body]) -> type[_OnePass]:
    """An envelope of one kind whose body field is ``body`` (for the fast path only)."""
    return create_model(f"Envelope_{kind.replace('.', '_')}", __base__=_OnePass,
                        kind=cast(Any, (Literal[kind], ...)), body=(body, ...))


def _by_kind(kinds: Iterable[str]) -> Any:
    """The union of these kinds' envelopes, each picked by the message's ``kind``."""
    return Annotated[Union[tuple(_KIND_ENVELOPES[kind] for kind in sorted(kinds))],  # noqa: UP007
                     Field(discriminator="kind")]


_KIND_ENVELOPES = {kind: _kind_envelope(kind, body) for kind, body in BODY_TYPES.items()
                   if kind != "event.batch"}
# a batch's events are typed by their kinds in the same pass
_ONE_EVENT: Any = _by_kind(EVENT_KINDS)
_FastBatch = create_model("EventBatch_fast", __base__=EventBatch, events=cast(Any, (
    list[_ONE_EVENT], Field(min_length=2, max_length=MAX_BATCH_EVENTS))))
_KIND_ENVELOPES["event.batch"] = _kind_envelope("event.batch", _FastBatch)

_ONE_PASS: TypeAdapter[_OnePass] = TypeAdapter(_by_kind(_KIND_ENVELOPES))  # each kind's envelope


def _fast(raw: bytes) -> Envelope | None:
    """The envelope, validated in one pass from the bytes; None when that pass refuses it."""
    try:
        typed = _ONE_PASS.validate_json(raw)
    except (ValidationError, ValueError, RecursionError):
        return None
    body = typed.body
    envelope = _as_envelope(typed)
    if isinstance(body, _FastBatch):  # the batch and its events as the careful path has them
        batch = EventBatch.__new__(EventBatch)  # as model_construct(events=...) makes it
        _set(batch, "__dict__", {"kind": "event.batch", "events": [
            _as_envelope(cast(_OnePass, event)) for event in body.events]})
        _set(batch, "__pydantic_fields_set__", {"events"})
        _set(batch, "__pydantic_extra__", None)
        _set(batch, "__pydantic_private__", None)
        envelope.__dict__["body"] = batch  # (the envelope's own dict: nothing else holds it)
    return envelope


def encode_batch(events: Sequence[Envelope], message_id: str | None = None,
                 at: datetime | None = None) -> bytes:
    """One ``event.batch`` message carrying ``events`` (2 to ``MAX_BATCH_EVENTS`` consecutive
    events of one node), each encoded as ``encode`` would send it alone; the batch envelope
    takes the first event's store, node and seq. ValueError when ``events`` cannot travel so."""
    EventBatch.model_validate({"events": list(events)})  # the batch's rules, words and all
    first = events[0]
    head = json.dumps({"id": message_id or new_message_id(), "store_id": first.store_id,
                       "node_id": first.node_id, "seq": first.seq, "kind": "event.batch",
                       "schema": SCHEMA_VERSION, "occurred_at": format_utc(at or utc_now())},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return head[:-1] + b',"body":{"events":[' + b",".join(encode(e) for e in events) + b"]}}"


_set = object.__setattr__


def _as_envelope(typed: _OnePass) -> Envelope:
    """The same envelope as a plain ``Envelope`` (equality compares types): what
    ``Envelope.model_construct`` makes of its validated fields, without its per-field loop (a
    third of a small event's decoding). ``Envelope`` has no private attributes, extras or
    post-init hook to set (tests/protocol checks the fast and careful paths agree). The envelope
    takes over ``typed``'s field dict and set, not copies: ``typed`` is the one pass's own
    object, dropped once converted."""
    envelope = Envelope.__new__(Envelope)
    _set(envelope, "__dict__", typed.__dict__)
    _set(envelope, "__pydantic_fields_set__", typed.__pydantic_fields_set__)
    _set(envelope, "__pydantic_extra__", None)
    _set(envelope, "__pydantic_private__", None)
    return envelope


def within_depth(raw: bytes) -> bool:
    """True when no object/array is nested deeper than ``MAX_JSON_DEPTH`` (strings do not count).

    Only bytes methods (C speed), no regex, no recursion: escaped characters go, everything but
    quotes and brackets goes, brackets become ``(`` and ``)``, the insides of strings go (every
    other piece between quotes); then each
    round deletes the innermost ``()`` pairs, so ``MAX_JSON_DEPTH`` rounds empty any balanced
    text that is shallow enough. Mismatched kinds (``[}``) pass here and fail in the parser,
    which then recurses at most ``MAX_JSON_DEPTH`` levels.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return True  # too few brackets to be too deep: most messages stop here
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_BRACKETS, _NOT_STRUCTURE)  # only quotes and brackets: short
    brackets = b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept
    if _TOO_DEEP in brackets:
        return False  # a plain run of openers: the hostile case, answered in one scan
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return True
        shorter = brackets.replace(b"()", b"")
        if len(shorter) == len(brackets):
            return False  # unbalanced: not JSON
        brackets = shorter
    return not brackets


def _to_decode_error(err: ValidationError, kind: str, prefix: list[str]) -> DecodeError:
    first = err.errors(include_url=False)[0]
    path = ".".join([*prefix, *(str(part) for part in first["loc"])]) or None
    where = f" at {path}" if path else ""
    message = first["msg"].removeprefix("Value error, ")
    return DecodeError(f"invalid {kind} message{where}: {message}", field=path)
