"""The legal entities ACORN books for: base currency, country, VAT id, what they take in, and
their DATEV settings. A versioned YAML document (``default_entities.yaml`` shows every field).

    HubError (hub.errors)
    └── InputError
        └── DocumentError (hub.strict_yaml)
            └── EntitiesError   an entities document that cannot be used; ``path`` names the field

Rules:
- an entity takes the refunds of the stores it lists and the Amazon orders, refunds and
  settlements of the marketplaces it lists; a store or a marketplace belongs to one entity at
  most (``owner_of_store`` / ``owner_of_marketplace``; None: no entity books it);
- a marketplace maps to its country: the exports tax a sale where its goods arrive (the
  order's ship-to country) and fall back to this country only when no destination is known
  (``hub.finance.exports.store``); ``vat_rates`` gives the standard rate
  per country in percent, and gross prices include VAT;
- DATEV settings: consultant (Beraternummer 1001..9999999), client (Mandantennummer 1..99999),
  account length 4..8, chart SKR03 or SKR04, fiscal year start ``MM-DD``; accounts default per
  chart (``DEFAULT_ACCOUNTS``: revenue and refunds per German rate on DATEV's automatic
  accounts, which carry the VAT themselves; revenue and refunds taxed in another EU country
  (OSS); the clearing account Amazon and the tills pay through) and can each be overridden;
- stored like the other versioned documents (``hub.storage.documents``): append-only, the
  highest version active, the shipped default before any publication, publishing audited
  (``finance_entities.published``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.storage.documents import VersionedDocuments
from hub.storage.tables.finance_fx import finance_entities
from hub.strict_yaml import DocumentError, Problem, read_document

ACTION = "finance_entities.published"
MAX_TEXT = 100_000
EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
Chart = Literal["SKR03", "SKR04"]


class EntitiesError(DocumentError):
    """An entities document that cannot be used."""

    @classmethod
    def at(cls, path: str, message: str) -> EntitiesError:
        """An EntitiesError with a single problem."""
        return cls([Problem(path, message)])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accounts(_Strict):
    """DATEV accounts of one chart (numbers as DATEV writes them, no leading zeros)."""

    clearing: int = Field(ge=1, le=999_999_999)
    revenue: dict[int, int]  # German rate (percent) -> automatic revenue account
    refund: dict[int, int]  # German rate (percent) -> automatic sales deduction account
    oss_revenue: int = Field(ge=1, le=999_999_999)  # taxable in another EU country
    oss_refund: int = Field(ge=1, le=999_999_999)


# SKR03: 1360 Geldtransit, 8400/8300 Erlöse 19 %/7 % USt, 8720/8710 Erlösschmälerungen 19 %/7 %,
# 8120/8705 steuerfreie Umsätze § 4 Nr. 1a UStG (exports, rate 0) and their deductions, 8320
# Erlöse aus im anderen EU-Land steuerpflichtigen Lieferungen, 8724 their deductions; SKR04 the
# same at 1460, 4400/4300, 4720/4710, 4120/4705, 4320, 4724. Check them with your tax adviser.
DEFAULT_ACCOUNTS: dict[str, Accounts] = {
    "SKR03": Accounts(
        clearing=1360,
        revenue={19: 8400, 7: 8300, 0: 8120},
        refund={19: 8720, 7: 8710, 0: 8705},
        oss_revenue=8320,
        oss_refund=8724,
    ),
    "SKR04": Accounts(
        clearing=1460,
        revenue={19: 4400, 7: 4300, 0: 4120},
        refund={19: 4720, 7: 4710, 0: 4705},
        oss_revenue=4320,
        oss_refund=4724,
    ),
}


class Datev(_Strict):
    """An entity's DATEV settings."""

    consultant: int = Field(ge=1001, le=9_999_999)
    client: int = Field(ge=1, le=99_999)
    account_length: int = Field(4, ge=4, le=8)
    chart: Chart = "SKR03"
    fiscal_year_start: str = Field("01-01", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    initials: str = Field("", pattern=r"^([A-Z]{2})?$")  # Diktatkürzel
    accounts: Accounts | None = None  # None: DEFAULT_ACCOUNTS of the chart

    def chart_accounts(self) -> Accounts:
        """The accounts in use: the configured ones or the chart's defaults."""
        return self.accounts or DEFAULT_ACCOUNTS[self.chart]

    def year_start(self, day: date) -> date:
        """The start of the fiscal year ``day`` lies in."""
        month, dom = (int(part) for part in self.fiscal_year_start.split("-"))
        start = date(day.year, month, dom)
        return start if start <= day else date(day.year - 1, month, dom)

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        accounts = self.chart_accounts()
        numbers = [
            accounts.clearing,
            accounts.oss_revenue,
            accounts.oss_refund,
            *accounts.revenue.values(),
            *accounts.refund.values(),
        ]
        too_long = [n for n in numbers if len(str(n)) > self.account_length + 1]
        if too_long:
            raise ValueError(f"accounts {too_long} are longer than account_length allows")
        return self


class Entity(_Strict):
    """One legal entity."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    base_currency: str = Field(pattern=r"^[A-Z]{3}$")
    vat_id: str = Field("", max_length=20)
    stores: tuple[str, ...] = ()
    marketplaces: dict[str, str] = Field(default_factory=dict)  # Amazon id -> country
    oss: bool = False
    vat_rates: dict[str, Decimal] = Field(default_factory=dict)  # country -> percent
    datev: Datev | None = None

    @field_validator("marketplaces")
    @classmethod
    def _countries(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [c for c in value.values() if len(c) != 2 or not c.isupper()]
        if bad:
            raise ValueError(f"countries are two capital letters, not {bad}")
        return value

    @field_validator("vat_rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for country, rate in value.items():
            if not (Decimal(0) <= Decimal(rate) < Decimal(100)):
                raise ValueError(f"the rate of {country} must be 0 to 99.99 percent")
        return {k: Decimal(v) for k, v in value.items()}

    def rate(self, country: str) -> Decimal | None:
        """The standard VAT rate of ``country`` in percent (None: not configured)."""
        return self.vat_rates.get(country)

    def is_oss(self, country: str) -> bool:
        """Whether a sale to ``country`` is declared through the EU One-Stop-Shop."""
        return self.oss and country != self.country and country in EU and self.country in EU


class Entities(_Strict):
    """A version of the entities document."""

    version: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=100)
    entities: tuple[Entity, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [e.id for e in self.entities]
        if len(set(ids)) != len(ids):
            raise ValueError("each entity id at most once")
        for kind, values in (
            ("store", [s for e in self.entities for s in e.stores]),
            ("marketplace", [m for e in self.entities for m in e.marketplaces]),
        ):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"a {kind} belongs to one entity at most: {twice}")
        return self

    def get(self, entity_id: str) -> Entity | None:
        """The entity ``entity_id`` (None: no such entity)."""
        return next((e for e in self.entities if e.id == entity_id), None)

    def owner_of_store(self, store_id: str) -> Entity | None:
        """The entity that books ``store_id``'s refunds."""
        return next((e for e in self.entities if store_id in e.stores), None)

    def owner_of_marketplace(self, marketplace_id: str) -> Entity | None:
        """The entity that books ``marketplace_id``'s sales, refunds and settlements."""
        return next((e for e in self.entities if marketplace_id in e.marketplaces), None)


def load_entities_yaml(text: str) -> Entities:
    """Parse and validate an entities document; ``EntitiesError`` names each bad field."""
    return read_document(text, Entities, EntitiesError, "an entities document", MAX_TEXT)


def default_text() -> str:
    """The YAML text of the entities shipped with ACORN."""
    return (
        resources.files(__package__ or "hub.finance")
        .joinpath("default_entities.yaml")
        .read_text("utf-8")
    )


_documents: VersionedDocuments[Entities] = VersionedDocuments(
    finance_entities,
    ACTION,
    load_entities_yaml,
    default_text,
    lambda message: EntitiesError.at("version", message),
)
active_text = _documents.active_text
active = _documents.active
publish = _documents.publish
