"""Supply Sources 2020-07-01: stateful supply sources per seller, checked as the model says (pure).

Rules:
- a supply source belongs to the seller that created it; its id is a UUID (derived from the seed
  and a counter), its `supplySourceCode` unique among the seller's sources that are not archived
  (a second one: 400 `InvalidInput` "Supply Source with given Code already exists", details
  1004, as the model's example);
- a new source is `Inactive` until `updateSupplySourceStatus` makes it `Active`; `archive` makes
  it `Archived`, for good: every later change is 400 "Supply Source has been archived and cannot
  be modified." (details 1005, the model's example);
- a malformed id (not a UUID) is 400 "Invalid Input"; a well-formed id the seller does not have
  is 404 `NotFound`;
- bodies are checked here always (required fields, enums, `HH:mm` times, IANA time zones, email
  pattern, non-negative integers), and against the model's definitions as well when the
  simulator has the model (`schema_check`); every problem names its path; fields the model does
  not name are ignored (python-amazon-sp-api adds `marketplaceIds` and friends to every POST and
  PUT body, and the model does not forbid additional properties);
- `getSupplySources` pages the seller's non-archived sources by code (`pageSize` 1..50, default
  10); the `nextPageToken` is opaque and a forged one is 400;
- a listing may carry a quantity per supply source (`fulfillment_channel_code` = the
  `supplySourceId`, multi-location inventory): `usable` says which ids a seller may use there
  (its sources that are not archived).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from spapi_sim.errors import InvalidInput, NotFound
from spapi_sim.ids import stable_uuid

ACTIVE, INACTIVE, ARCHIVED = "Active", "Inactive", "Archived"
STATUSES = frozenset({ACTIVE, INACTIVE})
CODE_EXISTS = "1004"
ARCHIVED_DETAILS = "1005"
ARCHIVED_MESSAGE = "Supply Source has been archived and cannot be modified."
ADDRESS_REQUIRED = ("name", "addressLine1", "countryCode", "stateOrRegion")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_UNITS = frozenset({"Hours", "Minutes", "Days"})
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
EMAIL = re.compile(r"^([a-zA-Z0-9_\-\.]+)@([a-zA-Z0-9_\-\.]+)\.([a-zA-Z]{2,5})$")
MAX_TEXT = 255
PAGE_DEFAULT, PAGE_MAX = 10, 50
SchemaCheck = Callable[[str, Any], str | None]


@dataclass(frozen=True, slots=True)
class SupplySource:
    """One supply source of one seller."""

    seller_id: str
    supply_source_id: str
    code: str
    alias: str
    address: dict[str, Any]
    status: str
    created: datetime
    updated: datetime
    configuration: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, Any] = field(default_factory=dict)


def iso(moment: datetime) -> str:
    """RFC 3339 with a `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_json(source: SupplySource) -> dict[str, Any]:
    """The model's `SupplySource`."""
    body: dict[str, Any] = {
        "supplySourceId": source.supply_source_id, "supplySourceCode": source.code,
        "alias": source.alias, "status": source.status, "address": source.address,
        "createdAt": iso(source.created), "updatedAt": iso(source.updated)}
    if source.configuration:
        body["configuration"] = source.configuration
    if source.capabilities:
        body["capabilities"] = source.capabilities
    return body


def summary_json(source: SupplySource) -> dict[str, Any]:
    """One entry of the model's `SupplySourceList`."""
    return {"alias": source.alias, "supplySourceId": source.supply_source_id,
            "supplySourceCode": source.code, "address": source.address}


# --- checks (each returns the first problem, naming its path) ----------------------------------


def _text(value: Any, where: str, required: bool = True) -> str | None:
    if value is None:
        return f"{where} is required." if required else None
    if not isinstance(value, str) or (required and not value.strip()):
        return f"{where} must be a non-empty string."
    if len(value) > MAX_TEXT:
        return f"{where} must be at most {MAX_TEXT} characters."
    return None


def check_address(address: Any, where: str = "address") -> str | None:
    """Why an `Address` is wrong, or None."""
    if not isinstance(address, dict):
        return f"{where} is required and must be an object."
    for name in ADDRESS_REQUIRED:
        problem = _text(address.get(name), f"{where}.{name}")
        if problem:
            return problem
    for name, value in address.items():
        if not isinstance(value, str):
            return f"{where}.{name} must be a string."
    if not re.fullmatch(r"[A-Z]{2}", address["countryCode"]):
        return f"{where}.countryCode must be an ISO 3166-1 alpha-2 code."
    return None


def _count(value: Any, where: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"{where} must be a whole number of at least 0."
    return None


def _duration(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} must be an object."
    if "value" in value and (problem := _count(value["value"], f"{where}.value")):
        return problem
    if "timeUnit" in value and value["timeUnit"] not in TIME_UNITS:
        return f"{where}.timeUnit must be one of {', '.join(sorted(TIME_UNITS))}."
    return None


def _hours(value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} must be an object."
    for day, intervals in value.items():
        if day not in DAYS:
            return f"{where}.{day} is not a day of the week."
        if not isinstance(intervals, list):
            return f"{where}.{day} must be an array."
        for index, interval in enumerate(intervals):
            for name in ("startTime", "endTime"):
                clock = interval.get(name) if isinstance(interval, dict) else None
                if not isinstance(clock, str) or not CLOCK.match(clock):
                    return f"{where}.{day}[{index}].{name} must be a time written HH:mm."
    return None


def _contact(value: Any, where: str) -> str | None:
    primary = value.get("primary") if isinstance(value, dict) else None
    if not isinstance(primary, dict):
        return f"{where}.primary must be an object."
    email = primary.get("email")
    if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
        return f"{where}.primary.email is not an email address."
    return None


def check_operational(value: Any, where: str) -> str | None:
    """Why an `OperationalConfiguration` is wrong, or None."""
    if not isinstance(value, dict):
        return f"{where} must be an object."
    checks = {"operatingHoursByDay": _hours, "handlingTime": _duration,
              "contactDetails": _contact}
    for name, check in checks.items():
        if name in value and (problem := check(value[name], f"{where}.{name}")):
            return problem
    throughput = value.get("throughputConfig")
    if throughput is not None:
        if not isinstance(throughput, dict) or throughput.get("throughputUnit") != "Order":
            return f"{where}.throughputConfig.throughputUnit is required and must be Order."
        cap = throughput.get("throughputCap")
        if cap is not None and (problem := _duration(cap, f"{where}.throughputConfig.cap")):
            return problem
    return None


def _channels(outbound: dict[str, Any], where: str) -> str | None:
    for name in ("deliveryChannel", "pickupChannel"):
        channel = outbound.get(name)
        if channel is None:
            continue
        if not isinstance(channel, dict):
            return f"{where}.{name} must be an object."
        supported = channel.get("isSupported")
        if supported is not None and not isinstance(supported, bool):
            return f"{where}.{name}.isSupported must be true or false."
        if "operationalConfiguration" in channel and (problem := check_operational(
                channel["operationalConfiguration"], f"{where}.{name}.operationalConfiguration")):
            return problem
        if "inventoryHoldPeriod" in channel and (problem := _duration(
                channel["inventoryHoldPeriod"], f"{where}.{name}.inventoryHoldPeriod")):
            return problem
    return None


def check_update(body: dict[str, Any]) -> str | None:
    """Why an `UpdateSupplySourceRequest` is wrong, or None."""
    if "alias" in body and (problem := _text(body["alias"], "alias")):
        return problem
    configuration = body.get("configuration", {})
    if not isinstance(configuration, dict):
        return "configuration must be an object."
    zone = configuration.get("timezone")
    if zone is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            return f"configuration.timezone {zone!r} is not a canonical time zone id."
    if "operationalConfiguration" in configuration and (problem := check_operational(
            configuration["operationalConfiguration"],
            "configuration.operationalConfiguration")):
        return problem
    capabilities = body.get("capabilities", {})
    if not isinstance(capabilities, dict):
        return "capabilities must be an object."
    for name in ("outbound", "services"):
        part = capabilities.get(name)
        if part is None:
            continue
        if not isinstance(part, dict):
            return f"capabilities.{name} must be an object."
        if "isSupported" in part and not isinstance(part["isSupported"], bool):
            return f"capabilities.{name}.isSupported must be true or false."
        if "operationalConfiguration" in part and (problem := check_operational(
                part["operationalConfiguration"], f"capabilities.{name}.operationalConfiguration")):
            return problem
        if name == "outbound" and (problem := _channels(part, "capabilities.outbound")):
            return problem
    return None


def check_create(body: dict[str, Any]) -> str | None:
    """Why a `CreateSupplySourceRequest` is wrong, or None."""
    return (_text(body.get("supplySourceCode"), "supplySourceCode")
            or _text(body.get("alias"), "alias") or check_address(body.get("address")))


def check_status(body: dict[str, Any]) -> str | None:
    """Why an `UpdateSupplySourceStatusRequest` is wrong, or None."""
    if body.get("status") not in STATUSES:
        return f"status must be one of {', '.join(sorted(STATUSES))}."
    return None


def checked_id(text: str) -> str:
    """A supply source id as Amazon takes it (a UUID); 400 otherwise."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise InvalidInput("Invalid Input", "") from None


# --- the book -----------------------------------------------------------------------------------


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("Invalid nextPageToken.", "") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("Invalid nextPageToken.", "")
    return offset


class SupplySourceBook:
    """Every supply source of the simulator, by seller."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._sources: dict[str, SupplySource] = {}
        self._created = 0

    def create(self, seller_id: str, body: dict[str, Any], now: datetime) -> SupplySource:
        """A new `Inactive` supply source (the body already checked)."""
        code = str(body["supplySourceCode"])
        if any(s.code == code and s.status != ARCHIVED for s in self.of(seller_id)):
            raise InvalidInput("Supply Source with given Code already exists", CODE_EXISTS)
        self._created += 1
        source = SupplySource(seller_id, stable_uuid(self._seed, "supply-source", self._created),
                              code, str(body["alias"]), dict(body["address"]), INACTIVE, now, now)
        self._sources[source.supply_source_id] = source
        return source

    def of(self, seller_id: str) -> list[SupplySource]:
        """The seller's supply sources, archived ones too, by code."""
        return sorted((s for s in self._sources.values() if s.seller_id == seller_id),
                      key=lambda s: (s.code, s.created, s.supply_source_id))

    def get(self, seller_id: str, supply_source_id: str) -> SupplySource:
        """One of the seller's sources; 400 for a malformed id, 404 for an unknown one."""
        found = self._sources.get(checked_id(supply_source_id))
        if found is None or found.seller_id != seller_id:
            raise NotFound(f"Supply source {supply_source_id} was not found.", "")
        return found

    def page(self, seller_id: str, size: int, token: str | None) -> dict[str, Any]:
        """One page of the model's `GetSupplySourcesResponse`."""
        live = [s for s in self.of(seller_id) if s.status != ARCHIVED]
        start = _offset(token) if token else 0
        body: dict[str, Any] = {"supplySources": [summary_json(s)
                                                  for s in live[start:start + size]]}
        if start + size < len(live):
            body["nextPageToken"] = _token(start + size)
        return body

    def _changeable(self, seller_id: str, supply_source_id: str) -> SupplySource:
        source = self.get(seller_id, supply_source_id)
        if source.status == ARCHIVED:
            raise InvalidInput(ARCHIVED_MESSAGE, ARCHIVED_DETAILS)
        return source

    def update(self, seller_id: str, supply_source_id: str, body: dict[str, Any],
               now: datetime) -> SupplySource:
        """Replace the alias, configuration and capabilities given in the body."""
        source = self._changeable(seller_id, supply_source_id)
        changed = replace(source, alias=str(body.get("alias", source.alias)),
                          configuration=body.get("configuration", source.configuration),
                          capabilities=body.get("capabilities", source.capabilities),
                          updated=now)
        self._sources[source.supply_source_id] = changed
        return changed

    def set_status(self, seller_id: str, supply_source_id: str, status: str,
                   now: datetime) -> SupplySource:
        """Make a source `Active` or `Inactive`."""
        source = self._changeable(seller_id, supply_source_id)
        changed = replace(source, status=status, updated=now)
        self._sources[source.supply_source_id] = changed
        return changed

    def archive(self, seller_id: str, supply_source_id: str, now: datetime) -> SupplySource:
        """Archive a source, for good."""
        source = self._changeable(seller_id, supply_source_id)
        changed = replace(source, status=ARCHIVED, updated=now)
        self._sources[source.supply_source_id] = changed
        return changed

    def usable(self, seller_id: str) -> frozenset[str]:
        """The ids a seller may give quantities for: its sources that are not archived."""
        return frozenset(s.supply_source_id for s in self._sources.values()
                         if s.seller_id == seller_id and s.status != ARCHIVED)


def schema_check(model: dict[str, Any]) -> SchemaCheck:
    """A check of a body against one of the model's definitions (``name``)."""
    import jsonschema  # type: ignore[import-untyped]  # only with the models configured

    def check(name: str, body: Any) -> str | None:
        schema = {"$ref": f"#/definitions/{name}", "definitions": model["definitions"]}
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft4Validator(schema).iter_errors(body))
        if error is None:
            return None
        where = "/".join(map(str, error.absolute_path)) or "body"
        return f"{where}: {error.message}"

    return check
