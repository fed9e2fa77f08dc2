"""The transfer price rules document: YAML that finance writes, validated into frozen models
(``default_rules.yaml`` shows every field), and its error, ``TransferPriceRulesError``.

    HubError (hub.errors)
    └── InputError
        └── DocumentError (hub.strict_yaml)
            └── TransferPriceRulesError   a price rules document that cannot be used; ``path``
                                          names the first bad field, ``problems`` lists each

Rules of the format:
- read with ``hub.strict_yaml`` (exact decimals, no key given twice, no object tags); every
  model is frozen and forbids unknown fields, so a typo names the field;
- ``currency``: the settlement currency; a price in another currency is converted at the ECB
  rate of the receipt's day (``hub.finance``), and the rate is kept with the line;
- ``rules``: each matches ONE of ``route`` (``from_store`` -> ``to_store``), ``regions``
  (``from_region`` -> ``to_region``, the stores' regions) or ``category`` (the catalogue's), and
  prices by ONE of ``markup_percent`` (cost plus: the catalogue's unit cost plus the markup) or
  ``fixed`` (a price per unit with its currency);
- the most specific rule wins: a route before a region pair before a category, and among rules
  of one kind the first written; ``default`` prices what no rule matches.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.inventory.allocation.document import Category
from hub.strict_yaml import DocumentError, Problem, read_document
from protocol import MINOR_UNITS

Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Region = Annotated[str, Field(min_length=1, max_length=40)]
Percent = Annotated[Decimal, Field(ge=Decimal(-100), le=Decimal(1000), max_digits=9,
                                   decimal_places=4)]
MAX_TEXT = 1_000_000


class TransferPriceRulesError(DocumentError):
    """A transfer price rules document that cannot be used."""

    REFUSED = "transfer price rules refused"

    @classmethod
    def at(cls, path: str, message: str) -> TransferPriceRulesError:
        """A TransferPriceRulesError with a single problem."""
        return cls([Problem(path, message)])


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _currency(value: str) -> str:
    if value not in MINOR_UNITS:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


class FixedPrice(_Strict):
    """A price per unit."""

    amount: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=4)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]

    @model_validator(mode="after")
    def _known(self) -> Self:
        _currency(self.currency)
        if -int(self.amount.normalize().as_tuple().exponent) > MINOR_UNITS[self.currency]:
            raise ValueError(f"{self.currency} has {MINOR_UNITS[self.currency]} decimal places")
        return self


class Pricing(_Strict):
    """How a unit is priced: cost plus a markup, or a fixed price."""

    markup_percent: Percent | None = None
    fixed: FixedPrice | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.markup_percent is None) == (self.fixed is None):
            raise ValueError("give either markup_percent (cost plus) or fixed (a price per unit)")
        return self


class Route(_Strict):
    """From one store to another."""

    from_store: Ident
    to_store: Ident


class Regions(_Strict):
    """From a store of one region to a store of another (or the same) region."""

    from_region: Region
    to_region: Region


class PriceRule(Pricing):
    """One rule: what it matches and how it prices."""

    name: Ident
    route: Route | None = None
    regions: Regions | None = None
    category: Category | None = None

    @model_validator(mode="after")
    def _one_match(self) -> Self:
        if sum(x is not None for x in (self.route, self.regions, self.category)) != 1:
            raise ValueError("match exactly one of route, regions or category")
        return self

    @property
    def kind(self) -> Literal["route", "regions", "category"]:
        """Which kind of match the rule makes."""
        if self.route is not None:
            return "route"
        return "regions" if self.regions is not None else "category"


class TransferPriceRules(_Strict):
    """A whole transfer price rules document."""

    schema_version: Literal[1]
    version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    default: Pricing = Pricing(markup_percent=Decimal(0))
    rules: tuple[PriceRule, ...] = Field(default=(), max_length=10_000)

    @model_validator(mode="after")
    def _checked(self) -> Self:
        _currency(self.currency)
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError("each rule name at most once")
        return self


def load_price_rules_yaml(text: str) -> TransferPriceRules:
    """Parse and validate a price rules document; ``TransferPriceRulesError`` names each bad
    field."""
    return read_document(text, TransferPriceRules, TransferPriceRulesError,
                         "a price rules document", MAX_TEXT)
