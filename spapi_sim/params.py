"""Reading SP-API request parameters the way Amazon accepts them; bad values are InvalidInput.

Arrays arrive comma-separated (`marketplaceIds=A,B`, Swagger's default `csv`) or repeated
(`marketplaceIds=A&marketplaceIds=B`); both are accepted. Unknown parameters are ignored, as
python-amazon-sp-api adds `MarketplaceId`, `MarketplaceIds` and `marketplace_ids` to many calls.
Times are ISO 8601; a time without an offset is taken as UTC, a bare date as its midnight UTC.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from spapi_sim.errors import InvalidInput

_DECODED_PLUS = re.compile(r"(:\d{2}(?:\.\d+)?) (\d{2}:?\d{2})$")


def values(query: QueryParams, name: str) -> list[str]:
    """Every value of an array parameter, split on commas."""
    return [part.strip() for raw in query.getlist(name) for part in raw.split(",") if part.strip()]


def one(query: QueryParams, name: str) -> str | None:
    """A single-valued parameter, None when absent or empty."""
    value = query.get(name)
    return value if value else None


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime."""
    try:
        # A '+' of an offset sent unencoded in a query string arrives as a space.
        moment = datetime.fromisoformat(_DECODED_PLUS.sub(r"\1+\2", text.strip()))
    except ValueError as err:
        raise InvalidInput(f"Invalid {name}: {text!r} is not an ISO 8601 date-time.") from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def time_param(query: QueryParams, name: str) -> datetime | None:
    """An optional ISO 8601 time parameter."""
    text = one(query, name)
    return None if text is None else parse_time(text, name)


def int_param(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    """An optional integer parameter within [low, high]."""
    text = one(query, name)
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError as err:
        raise InvalidInput(f"Invalid {name}: {text!r} is not an integer.") from err
    if not low <= number <= high:
        raise InvalidInput(f"Invalid {name}: must be between {low} and {high}.")
    return number


def enum_values(query: QueryParams, name: str, allowed: frozenset[str]) -> list[str]:
    """An array parameter whose every value must be in `allowed`."""
    found = values(query, name)
    unknown = sorted(set(found) - allowed)
    if unknown:
        raise InvalidInput(f"Invalid {name}: {', '.join(unknown)}.")
    return found


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError as err:
        raise InvalidInput("The request body is not valid JSON.") from err
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def string_list(body: dict[str, Any], name: str) -> list[str]:
    """A list of strings from a JSON body; InvalidInput when absent or malformed."""
    found = body.get(name)
    if not isinstance(found, list) or not found or not all(isinstance(v, str) for v in found):
        raise InvalidInput(f"{name} must be a non-empty list of strings.")
    return found
