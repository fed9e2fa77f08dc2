"""Amazon's static sandbox, driven by the official model files found in `models_dir`.

Each operation's responses may carry `x-amzn-api-sandbox: {"static": [{"request":
{"parameters": {name: {"value": v}}}, "response": body}]}`. Like Amazon's static sandbox
("pattern matching ... when the specified parameters are present"), a request matches an
example when every parameter the example names is present with that value; other parameters are
ignored. In the same way a JSON body matches when it holds every field of the example's body
with that value: other fields are ignored (python-amazon-sp-api adds `marketplaceIds` to some
POST bodies). When several match, the one naming the most parameters and body fields wins (then
the first in the model). No match: 400 `InvalidInput` "Could not match input arguments".

An example may name the body `body` while the model names the body parameter otherwise
(`ordersV0` calls it `payload`): an undeclared `body` is then the operation's body parameter.
Clients (python-amazon-sp-api among them) send the body as JSON whatever the model calls it.

Values compare as the model types them: arrays as lists of strings (comma-separated or
repeated in the query), scalars as their query text (`true`/`false` for booleans), the body as
parsed JSON (no body at all matches an empty object `{}`: clients send none for it). The answer
is the example's status code and body verbatim; an example without a `response` (or a 204)
answers an empty body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers, QueryParams

from spapi_sim.params import values

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BODY = "body"
_NO_MATCH = object()


class SandboxModelError(ValueError):
    """A file in `models_dir` is not a readable Swagger model."""


@dataclass(frozen=True, slots=True)
class Example:
    """One static example: the parameters it needs and the answer it gives."""

    status: int
    parameters: dict[str, Any]
    has_response: bool
    response: Any


@dataclass(frozen=True, slots=True)
class SandboxOperation:
    """An operation of a model with its path pattern, parameter kinds and examples."""

    model: str
    operation_id: str
    method: str
    path: str
    pattern: re.Pattern[str]
    path_names: tuple[str, ...]
    parameters: dict[str, tuple[str, str]]
    examples: tuple[Example, ...]

    def where(self, name: str) -> tuple[str, str]:
        """Where a parameter an example names travels, and its type.

        Undeclared names are query parameters, except `body`: the examples of some models call
        the body that although the model names it otherwise."""
        declared = self.parameters.get(name)
        if declared is not None:
            return declared
        if name == BODY and any(where == "body" for where, _ in self.parameters.values()):
            return ("body", "object")
        return ("query", "string")


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """What a request carries, before it is read against one operation."""

    path_values: dict[str, str]
    query: QueryParams
    headers: Headers
    body: bytes


def _pattern(path: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(re.findall(r"\{([^}]+)\}", path))
    regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(path))
    return re.compile(f"^{regex}$"), names


def _examples(operation: dict[str, Any]) -> tuple[Example, ...]:
    found = []
    for code, response in operation.get("responses", {}).items():
        for example in response.get("x-amzn-api-sandbox", {}).get("static", []):
            found.append(Example(int(code), example.get("request", {}).get("parameters", {}),
                                 "response" in example, example.get("response")))
    return tuple(found)


def _operations(model: str, document: dict[str, Any]) -> list[SandboxOperation]:
    found = []
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = {p["name"]: (p["in"], p.get("type", "object"))
                          for p in [*shared, *operation.get("parameters", [])]}
            pattern, names = _pattern(path)
            found.append(SandboxOperation(model, operation.get("operationId", ""),
                                          method.upper(), path, pattern, names, parameters,
                                          _examples(operation)))
    return found


class Sandbox:
    """The static sandbox of every model in a folder."""

    def __init__(self, operations: list[SandboxOperation]) -> None:
        # Literal segments win over parameters: fewer path parameters first.
        self.operations = sorted(operations, key=lambda op: len(op.path_names))

    def route(self, method: str, path: str) -> tuple[SandboxOperation, dict[str, str]] | None:
        """The operation serving `method path`, with its path parameter values."""
        for operation in self.operations:
            matched = operation.pattern.match(path)
            if operation.method == method and matched:
                return operation, dict(zip(operation.path_names, matched.groups(), strict=True))
        return None

    def answer(self, operation: SandboxOperation, request: SandboxRequest) -> Example | None:
        """The example the request matches best, or None."""
        matching = [example for example in operation.examples
                    if all(_matches(operation, name, spec, request)
                           for name, spec in example.parameters.items())]
        # max() keeps the first of equals, so model order breaks ties.
        return max(matching, key=lambda example: _weight(operation, example), default=None)


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    return 1


def _weight(operation: SandboxOperation, example: Example) -> int:
    """How much an example names: its parameters, and each field of its body."""
    return sum(1 + (_leaves(spec.get("value")) if isinstance(spec, dict) and "value" in spec
                    and operation.where(name)[0] == "body" else 0)
               for name, spec in example.parameters.items())


def _contains(found: Any, expected: Any) -> bool:
    """`found` holds every field of `expected` with its value (objects), or equals it."""
    if isinstance(expected, dict):
        return isinstance(found, dict) and all(
            key in found and _contains(found[key], value) for key, value in expected.items())
    return bool(found == expected)


def _matches(operation: SandboxOperation, name: str, spec: Any,
             request: SandboxRequest) -> bool:
    """The request carries the parameter as the example names it (without a value: at all)."""
    found = _value(operation, name, request)
    if isinstance(spec, dict) and "value" not in spec:
        return found is not _NO_MATCH
    expected = _expected(operation, name, spec)
    if operation.where(name)[0] == "body":
        # Clients send no body at all for an empty one (python-amazon-sp-api does).
        return _contains({} if found is _NO_MATCH else found, expected)
    return bool(found == expected)


def _expected(operation: SandboxOperation, name: str, spec: Any) -> Any:
    value = spec.get("value") if isinstance(spec, dict) else spec
    location, kind = operation.where(name)
    if location == "body":
        return value
    if kind == "array":
        return [_text(v) for v in value] if isinstance(value, list) else [_text(value)]
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value(operation: SandboxOperation, name: str, request: SandboxRequest) -> Any:
    location, kind = operation.where(name)
    if location == "path":
        return request.path_values.get(name, _NO_MATCH)
    if location == "header":
        return request.headers.get(name, _NO_MATCH)
    if location == "body":
        try:
            return json.loads(request.body, parse_float=Decimal) if request.body else _NO_MATCH
        except ValueError:
            return _NO_MATCH
    if name not in request.query:
        return _NO_MATCH
    return values(request.query, name) if kind == "array" else request.query.get(name)


def load_sandbox(*models_dirs: Path) -> Sandbox:
    """The sandbox of every Swagger model (`*.json` with `paths`) in the `models_dirs`."""
    for models_dir in models_dirs:
        if not models_dir.is_dir():
            raise SandboxModelError(f"models directory {models_dir} does not exist")
    operations: list[SandboxOperation] = []
    for path in sorted(p for models_dir in models_dirs for p in models_dir.glob("*.json")):
        try:
            # Decimal keeps example numbers exact, both for matching and for answering.
            document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as err:
            raise SandboxModelError(f"{path.name} is not readable JSON: {err}") from err
        if isinstance(document, dict) and "paths" in document:
            operations += _operations(path.stem, document)
    return Sandbox(operations)
