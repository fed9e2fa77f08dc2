"""The routing rules document: YAML that HQ writes, validated into frozen models
(``default_rules.yaml`` shows every field), and its error, ``RoutingRulesError``.

    HubError (hub.errors)
    └── InputError
        └── DocumentError (hub.strict_yaml)
            └── RoutingRulesError   a routing rules document that cannot be used; ``path``
                                    names the first bad field, ``problems`` lists each

Rules of the format:
- read with ``hub.strict_yaml`` (exact decimals, no key given twice, no object tags); every
  model is frozen and forbids unknown fields, so a typo names the field;
- ``max_packages``: how many packages (stores) one order may be split into; 1 never splits;
- ``countries``: per marketplace id, the countries whose stores may ship its orders (besides the
  destination's own country); a marketplace not listed ships only from the destination country;
- ``max_distance_km``: stores farther from the destination's postal-code centroid are dropped
  (not applied when the centroid is unknown);
- ``priority_groups``: ranked groups of store ids; a store in an earlier group wins over any store
  in a later one, stores in no group come last;
- ``capacity``: packages a store ships per local day (``default``, ``stores`` overrides);
- ``cutoff``: the store's local time after which an order ships the next day it is open
  (``default``, ``stores`` overrides; ``HH:MM``);
- ``horizon_days``: a store that cannot ship within this many days after today is dropped.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.inventory.store_records import minutes
from hub.strict_yaml import DocumentError, Problem, read_document

Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Count = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
MAX_TEXT = 1_000_000


class RoutingRulesError(DocumentError):
    """A routing rules document that cannot be used."""

    REFUSED = "routing rules refused"

    @classmethod
    def at(cls, path: str, message: str) -> RoutingRulesError:
        """A RoutingRulesError with a single problem."""
        return cls([Problem(path, message)])


def _cutoff(value: str) -> str:
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError(f"{value!r}: write a cut-off as HH:MM, e.g. 14:00")
    if not 0 < minutes(value) <= 24 * 60 or int(value[3:]) > 59:
        raise ValueError(f"{value!r} is not a time of day")
    return value


Cutoff = Annotated[str, AfterValidator(_cutoff)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Capacity(_Strict):
    """Packages a store ships per local day."""

    default: Count = 50
    stores: dict[Ident, Count] = Field(default_factory=dict, max_length=10_000)


class CutoffTimes(_Strict):
    """Local time after which an order ships the next open day."""

    default: Cutoff = "14:00"
    stores: dict[Ident, Cutoff] = Field(default_factory=dict, max_length=10_000)


class RoutingRules(_Strict):
    """A whole routing rules document."""

    schema_version: Literal[1]
    version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    max_packages: Annotated[int, Field(ge=1, le=10, strict=True)] = 1
    countries: dict[Ident, tuple[Country, ...]] = Field(default_factory=dict, max_length=100)
    max_distance_km: Annotated[int, Field(ge=1, le=40_000, strict=True)] | None = None
    priority_groups: tuple[tuple[Ident, ...], ...] = Field(default=(), max_length=100)
    capacity: Capacity = Capacity()
    cutoff: CutoffTimes = CutoffTimes()
    horizon_days: Annotated[int, Field(ge=0, le=14, strict=True)] = 3

    def group_of(self, store: str) -> int | None:
        """The index of the store's priority group, or None."""
        for index, group in enumerate(self.priority_groups):
            if store in group:
                return index
        return None


def load_routing_yaml(text: str) -> RoutingRules:
    """Parse and validate a routing rules document; ``RoutingRulesError`` names each bad field."""
    rules = read_document(text, RoutingRules, RoutingRulesError, "a routing rules document",
                          MAX_TEXT)
    _check_groups(rules)
    return rules


def _check_groups(rules: RoutingRules) -> None:
    seen: set[str] = set()
    for g, group in enumerate(rules.priority_groups):
        for s, store in enumerate(group):
            if store in seen:
                raise RoutingRulesError.at(f"priority_groups[{g}][{s}]",
                                           f"store {store} is in more than one group")
            seen.add(store)


