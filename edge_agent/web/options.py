"""``GET /api/options``: the choices the counter page offers, built from the types the API takes.

Rules:
- every closed choice (channel, QC grade, compliance tag, disposition, refund method) is listed
  from the enum or ``Literal`` its request field is typed with, in that type's order, so the page
  can offer nothing the API refuses and misses nothing it accepts; its label is in the store's
  language (``STORE_LANGUAGE``) from the counter's one catalogue, ``edge_agent.returns.words``;
- ``labels`` give the words of every coded value the page shows (return state, refund status,
  grade, disposition, channel, refund method, payment status, packaging, compliance tag), so the
  page shows no raw code and translates nothing itself;
- categories and return reasons are free text at the API: the page offers them as suggestions
  (``<datalist>``), they bound nothing;
- ``currencies`` are the ISO 4217 codes money is accepted in, with their minor units, so the page
  checks and adds amounts exactly (as decimals, never floats) by the same rule as the API;
- no store data: answered to anyone, like health, and the same for the life of the agent (the
  language is a setting).
"""

from __future__ import annotations

from enum import StrEnum
from typing import get_args

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge_agent.returns import words
from edge_agent.returns.models import RefundMethod
from edge_agent.web.api import AgentDep, _json
from protocol import Channel, ComplianceTag, Disposition, Grade
from protocol.limits import MAX_AMOUNT_INTEGER_DIGITS
from protocol.money import MINOR_UNITS

DEFAULTS = {Channel.POS, Grade.GOOD, Disposition.RESTOCK_SELLABLE, "original_payment"}
CATEGORIES = ["electronics", "software", "sealed_media", "gift_card", "apparel", "toys", "home",
              "other"]
REASONS = ["changed mind", "defective", "wrong item", "damaged in transit", "not as described"]


class Option(BaseModel):
    """One choice: the value the API takes, the words the page shows."""

    value: str
    label: str
    selected: bool = Field(default=False, description="preselected on the page")


class Options(BaseModel):
    """What the counter page offers in its forms."""

    channels: list[Option] = Field(description="``channel`` of a return")
    refund_methods: list[Option] = Field(description="``refund_method`` of a return")
    grades: list[Option] = Field(description="``grade`` of an inspection")
    compliance_tags: list[Option] = Field(description="``compliance_tags`` of an inspection")
    dispositions: list[Option] = Field(description="``disposition`` of a disposition")
    categories: list[str] = Field(description="suggested item categories (free text)")
    reasons: list[str] = Field(description="suggested return reasons (free text)")
    currencies: dict[str, int] = Field(description="ISO 4217 code -> minor units (decimals)")
    max_amount_integer_digits: int = Field(description="digits allowed before the point")
    language: str = Field(description="the store's language (STORE_LANGUAGE): en, de, zh, ja")
    labels: dict[str, dict[str, str]] = Field(
        description="kind -> coded value -> its words in the store's language; kinds: "
        + ", ".join(words.VALUES))


def choices(kind: str, values: list[str], language: str) -> list[Option]:
    """``values`` of ``kind`` as options, labelled in ``language``, the default preselected."""
    return [Option(value=v, label=words.label(kind, v, language), selected=v in DEFAULTS)
            for v in values]


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def build(language: str = "en") -> Options:
    """The options, from the request types of the API, in ``language``."""
    return Options(
        channels=choices("channel", _values(Channel), language),
        refund_methods=choices("refund_method", list(get_args(RefundMethod)), language),
        grades=choices("grade", _values(Grade), language),
        compliance_tags=choices("compliance_tag", _values(ComplianceTag), language),
        dispositions=choices("disposition", _values(Disposition), language),
        categories=CATEGORIES, reasons=REASONS, currencies=dict(MINOR_UNITS),
        max_amount_integer_digits=MAX_AMOUNT_INTEGER_DIGITS,
        language=words.language_of(language), labels=words.labels(language))


router = APIRouter()


@router.get("/api/options", response_model=Options)
def options(agent: AgentDep) -> Response:
    """The choices of the counter page's forms (channels, grades, dispositions, ...), built from
    the types the API takes, and the words of every coded value the page shows, in the store's
    language; categories and reasons are suggestions for free-text fields."""
    return _json(build(agent.language()))
