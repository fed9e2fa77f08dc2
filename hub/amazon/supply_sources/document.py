"""A store record as Amazon's supply source documents, and what to do about each store (pure).

Rules:
- a store is published when it is not decommissioned, its record says ``ship_from_store`` or
  ``pickup``, and its address is in the US (multi-location inventory is a US marketplace
  feature); its ``supplySourceCode`` is the store id, its alias the store's name (else its id);
- the ``CreateSupplySourceRequest`` holds code, alias and address (``stateOrRegion`` from the ZIP
  code, ``hub.amazon.supply_sources.zip_states``); the ``UpdateSupplySourceRequest`` holds the
  time zone, the opening hours (``24:00`` is written ``23:59``: Amazon takes ``HH:mm`` times of
  one day), the manager's contact when it is an email address, and the capabilities: outbound
  supported, delivery channel = ship from store, pickup channel (in-store pickup) = pickup.
  Dated exceptions to the hours have no place in the model and are not sent;
- the address cannot be changed by an update (the model's update has no address): a store whose
  create document changed is archived and published again; one whose update document changed is
  updated; ``fingerprint`` hashes both documents;
- a store that is not published (or no longer) but has an active supply source is archived;
- a store that should be published but whose record lacks what Amazon requires is a
  ``Problem`` (named, not sent), never a half-made supply source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.amazon.supply_sources.zip_states import us_state
from hub.inventory.store_records import StoreRecord

DAYS = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
        "fri": "friday", "sat": "saturday", "sun": "sunday"}
COUNTRY = "US"


@dataclass(frozen=True, slots=True)
class Store:
    """What the hub knows of one store, for publishing."""

    store_id: str
    name: str | None
    record: StoreRecord
    decommissioned: bool = False


@dataclass(frozen=True, slots=True)
class Documents:
    """A store's supply source as Amazon takes it."""

    store_id: str
    create: dict[str, Any]
    update: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """A hash of both documents."""
        return digest({"create": self.create, "update": self.update})

    @property
    def create_fingerprint(self) -> str:
        """A hash of the create document (what an update cannot change)."""
        return digest(self.create)


@dataclass(frozen=True, slots=True)
class Mapped:
    """A store's active supply source, as last published."""

    store_id: str
    supply_source_id: str
    fingerprint: str
    create_fingerprint: str


class Action(StrEnum):
    """What publishing does for one store."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # archive, then create again: the address changed
    ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class Step:
    """One action for one store."""

    action: Action
    store_id: str
    documents: Documents | None
    mapped: Mapped | None


@dataclass(frozen=True, slots=True)
class Problem:
    """A store that should be a supply source but cannot be described to Amazon."""

    store_id: str
    message: str


def digest(document: Any) -> str:
    """A SHA-256 of a JSON document in canonical form."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wanted(store: Store) -> bool:
    """Whether the store should be a supply source."""
    caps, address = store.record.capabilities, store.record.address
    return (not store.decommissioned and (caps.ship_from_store or caps.pickup)
            and address is not None and address.country == COUNTRY)


def _clock(value: str) -> str:
    return "23:59" if value == "24:00" else value


def _hours(record: StoreRecord) -> dict[str, list[dict[str, str]]]:
    return {DAYS[day]: [{"startTime": _clock(i.opens), "endTime": _clock(i.closes)}
                        for i in intervals]
            for day, intervals in record.hours.items() if intervals}


def _operational(record: StoreRecord) -> dict[str, Any]:
    config: dict[str, Any] = {"operatingHoursByDay": _hours(record)}
    manager = record.manager
    if manager is not None and "@" in manager.contact:
        config["contactDetails"] = {"primary": {"email": manager.contact.strip()}}
    return config


def documents(store: Store) -> Documents:
    """The store's create and update documents; ValueError saying what is missing."""
    record, address = store.record, store.record.address
    if address is None:
        raise ValueError("the store record has no address")
    state = us_state(address.postal_code)
    if state is None:
        raise ValueError(f"postal code {address.postal_code!r} is not a US ZIP code")
    if record.time_zone is None:
        raise ValueError("the store record has no time zone")
    alias = store.name or store.store_id
    create = {
        "supplySourceCode": store.store_id,
        "alias": alias,
        "address": {"name": alias, "addressLine1": address.street, "city": address.city,
                    "postalCode": address.postal_code, "stateOrRegion": state,
                    "countryCode": address.country},
    }
    caps, operational = record.capabilities, _operational(record)
    update = {
        "alias": alias,
        "configuration": {"timezone": record.time_zone,
                          "operationalConfiguration": operational},
        "capabilities": {"outbound": {
            "isSupported": True,
            "operationalConfiguration": operational,
            "deliveryChannel": {"isSupported": caps.ship_from_store},
            "pickupChannel": {"isSupported": caps.pickup,
                              "inStorePickupConfiguration": {"isSupported": caps.pickup}},
        }},
    }
    return Documents(store.store_id, create, update)


def plan(stores: Sequence[Store],
         mapped: Mapping[str, Mapped]) -> tuple[list[Step], list[Problem]]:
    """The steps that make Amazon's supply sources match the stores, by store id."""
    steps: list[Step] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for store in sorted(stores, key=lambda s: s.store_id):
        seen.add(store.store_id)
        current = mapped.get(store.store_id)
        if not wanted(store):
            if current is not None:
                steps.append(Step(Action.ARCHIVE, store.store_id, None, current))
            continue
        try:
            docs = documents(store)
        except ValueError as err:
            problems.append(Problem(store.store_id, str(err)))
            continue
        if current is None:
            steps.append(Step(Action.CREATE, store.store_id, docs, None))
        elif current.create_fingerprint != docs.create_fingerprint:
            steps.append(Step(Action.REPLACE, store.store_id, docs, current))
        elif current.fingerprint != docs.fingerprint:
            steps.append(Step(Action.UPDATE, store.store_id, docs, current))
    for store_id in sorted(set(mapped) - seen):  # a store the hub no longer knows
        steps.append(Step(Action.ARCHIVE, store_id, None, mapped[store_id]))
    return steps, problems
