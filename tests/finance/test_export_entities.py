"""The entities document the exports are written for: the shipped default loads and is active
before any publication, a refused document names each bad field, and a new version is
audited."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, select

from hub.finance import entities
from hub.finance.entities import EntitiesError, load_entities_yaml
from hub.storage.engine import reading, writing
from hub.storage.tables.core import audit_log
from tests.finance.exports_seed import ENTITIES


def test_the_shipped_default_is_active_until_a_version_is_published(engine: Engine) -> None:
    with reading(engine) as conn:
        shipped = entities.active(conn)
    assert shipped.version == 1
    de = shipped.get("acorn-de")
    assert de is not None and de.datev is not None
    assert (de.base_currency, de.datev.chart, de.datev.chart_accounts().revenue[19]) == (
        "EUR",
        "SKR03",
        8400,
    )
    assert shipped.owner_of_marketplace("A13V1IB3VIYZZH") is de
    assert shipped.owner_of_store("store-nyc-1") is shipped.get("acorn-us")
    with writing(engine) as tx:
        entities.publish(tx, ENTITIES, "fiona", "finance")
    with reading(engine) as conn:
        assert entities.active(conn).version == 2
        after = conn.execute(
            select(audit_log.c.after).where(audit_log.c.action == "finance_entities.published")
        ).scalar_one()
    assert after["version"] == 2 and after["yaml"] == ENTITIES
    with writing(engine) as tx, pytest.raises(EntitiesError, match="higher"):
        entities.publish(tx, ENTITIES, "fiona", "finance")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (("consultant: 29098", "consultant: 12"), "entities[0].datev.consultant"),
        (("account_length: 4", "account_length: 9"), "entities[0].datev.account_length"),
        (
            ('fiscal_year_start: "07-01"', 'fiscal_year_start: "13-01"'),
            "entities[0].datev.fiscal_year_start",
        ),
        (("stores: [s2]", "stores: [s1]"), ""),  # a store in two entities: the whole document
        (("base_currency: USD", "base_currency: usd"), "entities[1].base_currency"),
        (("vat_rates: {DE: 19", "vat_rates: {DE: 190"), "entities[0].vat_rates"),
        (("chart: SKR03", "chart: SKR05"), "entities[0].datev.chart"),
        (("    oss: true", "    oss: true\n    osss: true"), "entities[0].osss"),
    ],
)
def test_a_bad_document_is_refused_naming_the_field(change: tuple[str, str], path: str) -> None:
    assert change[0] in ENTITIES
    with pytest.raises(EntitiesError) as refused:
        load_entities_yaml(ENTITIES.replace(*change))
    assert refused.value.path == path, refused.value.message


def test_the_fiscal_year_starts_on_its_day_before_or_on_the_period() -> None:
    datev = load_entities_yaml(ENTITIES).entities[0].datev
    assert datev is not None
    assert datev.year_start(date(2026, 11, 1)) == date(2026, 7, 1)
    assert datev.year_start(date(2026, 6, 30)) == date(2025, 7, 1)
    assert datev.year_start(date(2026, 7, 1)) == date(2026, 7, 1)
