"""Amazon's official SP-API models as a test oracle: find an operation, validate a response.

The models are read-only reference data outside the repository
(`../shared/vendor-data/sp-api-models/`, or `$ACORN_SPAPI_MODELS`); tests needing them skip,
saying why, when the folder is absent. This module is deliberately independent of the
simulator's own model handling.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

MODELS_DIR = Path(os.environ.get(
    "ACORN_SPAPI_MODELS", Path(__file__).resolve().parents[3] / "shared/vendor-data/sp-api-models"))
# Listings Items, Supply Sources and the listings feed schemas (`feeds-schemas/`).
STORES_DIR = Path(os.environ.get(
    "ACORN_SPAPI_STORE_MODELS", MODELS_DIR.parent / "sp-api-models-stores"))
STORES_SKIP = f"Amazon's Listings Items models are not at {STORES_DIR} (ACORN_SPAPI_STORE_MODELS)"
requires_store_models = pytest.mark.skipif(not STORES_DIR.is_dir(), reason=STORES_SKIP)
SKIP_REASON = (f"Amazon's official SP-API model files are not at {MODELS_DIR} "
               "(set ACORN_SPAPI_MODELS to their folder); schema and sandbox checks need them")
requires_models = pytest.mark.skipif(not MODELS_DIR.is_dir(), reason=SKIP_REASON)

_FORMATS = jsonschema.FormatChecker()


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(datetime.fromisoformat(value))


_FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


@dataclass(frozen=True)
class ModelOperation:
    """One operation of an official model."""

    model: str
    operation_id: str
    method: str
    path: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]
    definitions: dict[str, Any]
    description: str


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


@cache
def document(model: str) -> dict[str, Any]:
    """One model file, parsed (from either folder)."""
    path = MODELS_DIR / f"{model}.json"
    if not path.is_file():
        path = STORES_DIR / f"{model}.json"
    loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return loaded


def parameters(op: ModelOperation) -> list[dict[str, Any]]:
    """The operation's parameters, path-level ones included."""
    item = document(op.model)["paths"][op.path]
    return [*item.get("parameters", []), *item[op.method.lower()].get("parameters", [])]


@cache
def operations() -> tuple[ModelOperation, ...]:
    """Every operation of every model file."""
    found = []
    files = [*MODELS_DIR.glob("*.json"),
             *(STORES_DIR.glob("*.json") if STORES_DIR.is_dir() else [])]
    for file in sorted(files):
        model = document(file.stem)
        for path, item in model.get("paths", {}).items():
            for method in ("get", "post", "put", "delete", "patch"):
                if method in item:
                    op = item[method]
                    found.append(ModelOperation(
                        file.stem, op.get("operationId", ""), method.upper(), path,
                        _pattern(path), op.get("responses", {}), model.get("definitions", {}),
                        op.get("description", "")))
    # Literal path segments before parameters, as a router would.
    return tuple(sorted(found, key=lambda op: op.path.count("{")))


def find(method: str, path: str) -> ModelOperation | None:
    """The model operation serving `method path`, if any."""
    return next((op for op in operations() if op.method == method and op.pattern.match(path)),
                None)


def by_id(model: str, operation_id: str) -> ModelOperation:
    """An operation by model name and operation id."""
    return next(op for op in operations() if op.model == model and op.operation_id == operation_id)


def schema_errors(op: ModelOperation, status: int, body: bytes) -> list[str]:
    """Why a response does not conform to the operation's official model; empty when it does."""
    response = op.responses.get(str(status))
    if response is None:
        return [f"{op.operation_id}: status {status} is not documented"]
    schema = response.get("schema")
    if schema is None:
        return [] if not body else [f"{op.operation_id} {status}: body where none is documented"]
    validator = jsonschema.Draft4Validator({**schema, "definitions": op.definitions},
                                           format_checker=_FORMATS)
    try:
        document = json.loads(body)
    except ValueError:
        return [f"{op.operation_id} {status}: body is not JSON: {body[:80]!r}"]
    return [f"{op.operation_id} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def usage_plan(op: ModelOperation) -> tuple[str, int] | None:
    """(rate, burst) from the operation's "Usage Plan" table, when it has one."""
    found = re.search(r"\|\s*([\d.]+)\s*\|\s*(\d+)\s*\|", op.description)
    return (found.group(1), int(found.group(2))) if found else None


@cache
def feed_schema(name: str) -> dict[str, Any]:
    """A listings feed JSON schema (`listings-feed-schema-v2`, `...-processing-report-...`)."""
    loaded: dict[str, Any] = json.loads(
        (STORES_DIR / "feeds-schemas" / f"{name}.json").read_text("utf-8"))
    return loaded


def feed_errors(name: str, document: Any) -> list[str]:
    """Why a document does not match a listings feed schema; empty when it does."""
    validator = jsonschema.Draft7Validator(feed_schema(name))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def definition_errors(model: str, definition: str, document: Any) -> list[str]:
    """Why a document does not match one definition of a model (a request body)."""
    schema = {"$ref": f"#/definitions/{definition}",
              "definitions": globals()["document"](model)["definitions"]}
    validator = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]
