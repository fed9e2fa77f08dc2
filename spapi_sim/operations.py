"""What the simulator serves: each SP-API operation's id, method, path and usage plan.

This table is the simulator's self-contained definition (the repository cannot carry Amazon's
model files). Paths and operation ids are those of the official models; rates (requests per
second) and bursts are the "Usage Plan" defaults from each model's description. A test checks
the table against the models whenever they are available.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Operation:
    """One served operation and its documented default usage plan."""

    operation_id: str
    api: str
    method: str
    path: str
    rate: Decimal
    burst: int


def _op(operation_id: str, api: str, method: str, path: str, rate: str, burst: int) -> Operation:
    return Operation(operation_id, api, method, path, Decimal(rate), burst)


ORDERS = "orders_2026-01-01"
ORDERS_V0 = "ordersV0"
REPORTS = "reports_2021-06-30"
FEEDS = "feeds_2021-06-30"
FINANCES = "financesV0"
LISTINGS = "listingsItems_2021-08-01"
SUPPLY = "supplySources_2020-07-01"

OPERATIONS: tuple[Operation, ...] = (
    _op("searchOrders", ORDERS, "GET", "/orders/2026-01-01/orders", "0.0056", 20),
    _op("getOrder", ORDERS, "GET", "/orders/2026-01-01/orders/{orderId}", "0.5", 30),
    _op("confirmShipment", ORDERS_V0, "POST",
        "/orders/v0/orders/{orderId}/shipmentConfirmation", "2", 10),
    _op("getReports", REPORTS, "GET", "/reports/2021-06-30/reports", "0.0222", 10),
    _op("createReport", REPORTS, "POST", "/reports/2021-06-30/reports", "0.0167", 15),
    _op("getReport", REPORTS, "GET", "/reports/2021-06-30/reports/{reportId}", "2", 15),
    _op("cancelReport", REPORTS, "DELETE", "/reports/2021-06-30/reports/{reportId}",
        "0.0222", 10),
    _op("getReportDocument", REPORTS, "GET",
        "/reports/2021-06-30/documents/{reportDocumentId}", "0.0167", 15),
    _op("getFeeds", FEEDS, "GET", "/feeds/2021-06-30/feeds", "0.0222", 10),
    _op("createFeed", FEEDS, "POST", "/feeds/2021-06-30/feeds", "0.0083", 15),
    _op("getFeed", FEEDS, "GET", "/feeds/2021-06-30/feeds/{feedId}", "2", 15),
    _op("cancelFeed", FEEDS, "DELETE", "/feeds/2021-06-30/feeds/{feedId}", "2", 15),
    _op("createFeedDocument", FEEDS, "POST", "/feeds/2021-06-30/documents", "0.5", 15),
    _op("getFeedDocument", FEEDS, "GET", "/feeds/2021-06-30/documents/{feedDocumentId}",
        "0.0222", 10),
    _op("listFinancialEvents", FINANCES, "GET", "/finances/v0/financialEvents", "0.5", 30),
    _op("listFinancialEventsByOrderId", FINANCES, "GET",
        "/finances/v0/orders/{orderId}/financialEvents", "0.5", 30),
    _op("getListingsItem", LISTINGS, "GET", "/listings/2021-08-01/items/{sellerId}/{sku}",
        "5", 10),
    _op("patchListingsItem", LISTINGS, "PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}",
        "5", 5),
)

# Supply Sources: the model states no usage plan, so these rates are our assumption (the
# sandbox's 5 requests/s with a burst of 10), kept apart from OPERATIONS, whose rates the
# conformance test checks against the models' stated plans. The hub's client limiter uses the
# same figures (hub.amazon.client.ratelimit).
SUPPLY_PATH = "/supplySources/2020-07-01/supplySources"
SUPPLY_OPERATIONS: tuple[Operation, ...] = (
    _op("getSupplySources", SUPPLY, "GET", SUPPLY_PATH, "5", 10),
    _op("createSupplySource", SUPPLY, "POST", SUPPLY_PATH, "5", 10),
    _op("getSupplySource", SUPPLY, "GET", SUPPLY_PATH + "/{supplySourceId}", "5", 10),
    _op("updateSupplySource", SUPPLY, "PUT", SUPPLY_PATH + "/{supplySourceId}", "5", 10),
    _op("archiveSupplySource", SUPPLY, "DELETE", SUPPLY_PATH + "/{supplySourceId}", "5", 10),
    _op("updateSupplySourceStatus", SUPPLY, "PUT", SUPPLY_PATH + "/{supplySourceId}/status",
        "5", 10),
)

BY_ID: dict[str, Operation] = {op.operation_id: op for op in (*OPERATIONS, *SUPPLY_OPERATIONS)}

# The static sandbox's own limit, for every operation ("The Selling Partner API sandbox").
SANDBOX = _op("sandbox", "sandbox", "*", "/sandbox/{path}", "5", 15)
