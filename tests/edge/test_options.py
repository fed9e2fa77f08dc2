"""``GET /api/options``: what the counter page offers is exactly what the API takes.

The oracle is the API itself: every offered channel, refund method, grade, compliance tag and
disposition is accepted by the route that takes it, a value not offered is refused, and every
offered currency takes amounts with its minor units and refuses one decimal more.
"""

from __future__ import annotations

from itertools import cycle
from typing import Any

import pytest

from protocol import Money
from tests.edge.conftest import Running


def values(options: list[dict[str, Any]]) -> list[str]:
    return [option["value"] for option in options]


def a_return(channel: str, method: str) -> dict[str, Any]:
    return {"channel": channel, "reason": "defective", "refund_method": method,
            "items": [{"sku": "SKU-1", "quantity": 1,
                       "unit_price": {"amount": "9.99", "currency": "USD"}}]}


def test_every_offered_choice_is_taken_by_the_api(agent: Running) -> None:
    offered = agent.http.get("/api/options").json()
    grades, dispositions = values(offered["grades"]), values(offered["dispositions"])
    pairs = zip(cycle(values(offered["channels"])), cycle(values(offered["refund_methods"])),
                strict=False)
    tags = values(offered["compliance_tags"])
    ids = []
    for (channel, method), _grade in zip(pairs, grades, strict=False):
        answer = agent.http.post("/api/returns", json=a_return(channel, method))
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["return_id"])
    assert len(ids) == len(grades) >= max(len(offered["channels"]), len(dispositions))
    for return_id, grade in zip(ids, grades, strict=True):
        inspected = agent.http.post(f"/api/returns/{return_id}/inspection",
                                    json={"grade": grade, "compliance_tags": tags})
        assert inspected.status_code == 201, inspected.text
    for return_id, disposition in zip(ids, dispositions, strict=False):
        disposed = agent.http.post(f"/api/returns/{return_id}/disposition",
                                   json={"disposition": disposition})
        assert disposed.status_code == 201, disposed.text
    for name in ("channels", "refund_methods", "grades", "dispositions"):
        assert sum(option["selected"] for option in offered[name]) == 1, name


@pytest.mark.parametrize(("field", "body"), [
    ("channel", a_return("telephone", "cash")),
    ("refund_method", a_return("pos", "cheque")),
])
def test_a_choice_not_offered_is_refused(agent: Running, field: str, body: dict[str, Any]) -> None:
    offered = agent.http.get("/api/options").json()
    assert body[field] not in values(offered["channels"]) + values(offered["refund_methods"])
    answer = agent.http.post("/api/returns", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == field


def test_offered_currencies_take_their_minor_units_and_no_more(agent: Running) -> None:
    offered = agent.http.get("/api/options").json()
    assert {"USD", "EUR", "JPY", "KWD"} <= set(offered["currencies"])
    for currency, decimals in offered["currencies"].items():
        exact = "1" + ("." + "1" * decimals if decimals else "")
        assert Money.of(exact, currency).currency == currency
        with pytest.raises(ValueError, match="decimal"):
            Money.of(exact + ("1" if decimals else ".1"), currency)


def test_the_options_are_documented(agent: Running) -> None:
    schema = agent.http.get("/openapi.json").json()
    answer = schema["paths"]["/api/options"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Options")
    assert "currencies" in schema["components"]["schemas"]["Options"]["properties"]
