"""The simulator's EU VAT reports, requested through python-amazon-sp-api as the hub does."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sp_api.api import Reports
from sp_api.base import SellingApiBadRequestException

from spapi_sim.marketplaces import BY_CODE
from tests.spapi_sim.conftest import Running
from tests.spapi_sim.test_sp_api_client import connect, wait_done

DE, US = BY_CODE["DE"].marketplace_id, BY_CODE["US"].marketplace_id
AVTR, CALC = "GET_VAT_TRANSACTION_DATA", "SC_VAT_TAX_REPORT"
JANUARY = ("2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z")


def request(
    sim: Running, report_type: str, window: tuple[str, str], marketplace_id: str = DE
) -> dict[str, Any]:
    """Create a report for the EU seller, wait for it; its final getReport payload."""
    with connect(Reports, sim, sim.accounts[1], marketplace_id) as reports:
        report_id = reports.create_report(
            reportType=report_type,
            marketplaceIds=[marketplace_id],
            dataStartTime=window[0],
            dataEndTime=window[1],
        ).payload["reportId"]
        payload: dict[str, Any] = wait_done(lambda: reports.get_report(report_id)).payload
        return payload


def document(sim: Running, report: dict[str, Any]) -> list[dict[str, str]]:
    """The report's comma-separated rows by header name."""
    with connect(Reports, sim, sim.accounts[1], DE) as reports:
        text = reports.get_report_document(report["reportDocumentId"], download=True)
    return list(csv.DictReader(io.StringIO(text.payload["document"])))


def test_avtr_of_a_closed_month_has_the_months_sales_and_refunds(sim: Running) -> None:
    done = request(sim, AVTR, JANUARY)
    assert done["processingStatus"] == "DONE"
    rows = document(sim, done)
    seller = sim.accounts[1].seller_id
    world = sim.simulator.world
    german = {o.order_id for o in world.orders(seller) if o.marketplace_id == DE}
    january = [
        r
        for r in world.refunds(seller, datetime(2026, 2, 1, tzinfo=UTC))
        if r.order_id in german and r.posted >= datetime(2026, 1, 1, tzinfo=UTC)
    ]
    refunds = [r for r in rows if r["TRANSACTION_TYPE"] == "REFUND"]
    assert january and sorted(r["ACTIVITY_TRANSACTION_ID"] for r in refunds) == sorted(
        r.adjustment_item_id for r in january
    )
    assert {r["TRANSACTION_TYPE"] for r in rows} == {"SALE", "REFUND"}
    for row in rows:
        gross = Decimal(row["TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL"])
        vat = Decimal(row["TOTAL_ACTIVITY_VALUE_VAT_AMT"])
        assert Decimal(row["TOTAL_ACTIVITY_VALUE_AMT_VAT_EXCL"]) + vat == gross
        # German standard VAT, 19 % of the net (an independent computation): each of the item
        # and shipping parts is rounded to the cent, so the total is within a cent
        assert abs(vat - gross * 19 / 119) <= Decimal("0.01")
        assert (
            row["ACTIVITY_PERIOD"] == "2026-JAN" and row["TAX_CALCULATION_DATE"][2:] == "-01-2026"
        )
        assert (gross < 0) == (row["TRANSACTION_TYPE"] == "REFUND")
    by_refund = {r.adjustment_item_id: r.refunded for r in january}
    assert all(
        -Decimal(r["TOTAL_ACTIVITY_VALUE_AMT_VAT_INCL"]) == by_refund[r["ACTIVITY_TRANSACTION_ID"]]
        for r in refunds
    )


def test_calculation_report_agrees_with_the_avtr_on_refunds(sim: Running) -> None:
    avtr = document(sim, request(sim, AVTR, JANUARY))
    calc_report = request(sim, CALC, JANUARY)
    assert calc_report["processingStatus"] == "DONE"
    calc = document(sim, calc_report)
    assert {r["Transaction Type"] for r in calc} == {"SHIPMENT", "REFUND"}

    ours = sorted(
        (r["TRANSACTION_EVENT_ID"], r["SELLER_SKU"], Decimal(r["TOTAL_ACTIVITY_VALUE_VAT_AMT"]))
        for r in avtr
        if r["TRANSACTION_TYPE"] == "REFUND"
    )
    theirs = sorted(
        (
            r["Order ID"],
            r["SKU"],
            Decimal(r["OUR_PRICE Tax Amount"]) + Decimal(r["SHIPPING Tax Amount"]),
        )
        for r in calc
        if r["Transaction Type"] == "REFUND"
    )
    assert ours and ours == theirs
    assert all(
        r["Tax Rate"] == "0.19" and r["Tax Calculation Date"].endswith("-Jan-2026 UTC")
        for r in calc
    )


@pytest.mark.parametrize(
    "window",
    [
        ("2026-01-01T00:00:00Z", "2026-01-15T00:00:00Z"),  # half a month
        ("2026-01-02T00:00:00Z", "2026-02-01T00:00:00Z"),  # not from the first
        ("2025-12-01T00:00:00Z", "2026-01-31T23:59:59Z"),  # two months
    ],
)
def test_avtr_of_anything_but_a_whole_month_is_fatal(sim: Running, window: tuple[str, str]) -> None:
    done = request(sim, AVTR, window)
    assert done["processingStatus"] == "FATAL" and "reportDocumentId" not in done


def test_avtr_waits_for_the_third_of_the_next_month(make_sim: Callable[..., Running]) -> None:
    now = [datetime(2026, 2, 2, 23, 59, tzinfo=UTC)]
    sim = make_sim(clock=lambda: now[0])
    assert request(sim, AVTR, JANUARY)["processingStatus"] == "FATAL"  # before the 3rd
    running = ("2026-02-01T00:00:00Z", "2026-02-28T23:59:59Z")
    assert request(sim, AVTR, running)["processingStatus"] == "FATAL"  # the running month
    now[0] = datetime(2026, 2, 3, tzinfo=UTC)
    assert request(sim, AVTR, JANUARY)["processingStatus"] == "DONE"
    # the calculation report has no such wait
    now[0] = datetime(2026, 2, 2, tzinfo=UTC)
    assert (
        request(sim, CALC, ("2026-01-20T00:00:00Z", "2026-02-01T00:00:00Z"))["processingStatus"]
        == "DONE"
    )


def test_vat_reports_are_refused_outside_the_eu(sim: Running) -> None:
    with (
        connect(Reports, sim, sim.accounts[0], US) as reports,
        pytest.raises(SellingApiBadRequestException) as caught,
    ):
        reports.create_report(
            reportType=AVTR, marketplaceIds=[US], dataStartTime=JANUARY[0], dataEndTime=JANUARY[1]
        )
    assert caught.value.error[0]["code"] == "InvalidInput"


def test_vat_reports_are_listed_by_get_reports(sim: Running) -> None:
    done = request(sim, CALC, JANUARY)
    with connect(Reports, sim, sim.accounts[1], DE) as reports:
        listed = reports.get_reports(
            reportTypes=[CALC, AVTR], marketplaceIds=[DE], pageSize=100
        ).payload["reports"]
    assert done["reportId"] in {r["reportId"] for r in listed}
    assert {r["reportType"] for r in listed} <= {CALC, AVTR}
