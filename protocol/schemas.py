"""JSON Schemas of every message kind, exported for integrators and checked for drift in tests."""

from __future__ import annotations

from typing import Any

from protocol.envelope import BODY_TYPES, Envelope


def message_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per kind (the envelope with that kind's body), keyed by kind."""
    envelope = Envelope.model_json_schema(by_alias=True, mode="serialization")
    out: dict[str, dict[str, Any]] = {}
    for kind, body_type in sorted(BODY_TYPES.items()):
        body = body_type.model_json_schema(mode="serialization")
        body.get("properties", {}).pop("kind", None)
        if "kind" in body.get("required", []):
            body["required"].remove("kind")
        schema = {
            **{k: v for k, v in envelope.items() if k not in {"$defs", "title"}},
            "title": f"acorn/v1 {kind}",
            "$defs": {**envelope.get("$defs", {}), **body.pop("$defs", {})},
        }
        schema["properties"] = {
            **envelope["properties"],
            "kind": {"const": kind, "type": "string"},
            "body": body,
        }
        out[kind] = schema
    return out
