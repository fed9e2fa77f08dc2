"""Small builders for the allocation tests: rules from sections, stock from tuples."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.inventory.allocation import (
    CompiledRules,
    Offer,
    RulesDocument,
    Stock,
    StockLine,
    compile_rules,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"


def rules(version: int = 1, **sections: Any) -> CompiledRules:
    """Compiled rules: one marketplace ``US`` at 100 % unless ``marketplaces`` is given."""
    data: dict[str, Any] = {"schema_version": 1, "version": version, "name": "test",
                            "marketplaces": {US: {}}}
    data.update(sections)
    return compile_rules(RulesDocument.model_validate(data))


def stock(*lines: tuple[Any, ...], categories: dict[str, str] | None = None) -> Stock:
    """Stock from (sku, store, on_hand[, reserved[, holds]]) tuples."""
    return Stock([StockLine(*line) for line in lines], categories or {})


def explained(offer: Offer) -> dict[str, int]:
    """The offer's steps as {rule: units}; and a check that they add up."""
    assert offer.on_hand - sum(step.units for step in offer.steps) == offer.quantity
    return {step.rule: step.units for step in offer.steps}
