"""An order the hub fetches by id (``getOrder``, e.g. for a return announced before the orders
sync saw it) is stored and routed like the search's orders: an open MFN order reaches the
nearest store with the stock as a pick task (the SP-API simulator over HTTP through
python-amazon-sp-api, real databases)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select

from hub.amazon.client.gateway import SpApi
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.context import JobContext
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.sync.orders import fetch_order
from hub.storage.engine import reading
from hub.storage.tables.picking import pick_tasks
from hub.storage.tables.routing import routed_orders
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts
from tests.edge.conftest import NODE, STORE
from tests.picking.flow_support import two_stores
from tests.routing.db_support import put_stock
from tests.support.http_calls import http_post

US = "ATVPDKIKX0DER"
SKU = "AC-KETTLE-17"


def test_an_order_fetched_by_id_is_routed(engine: Engine, make_sim: Callable[..., Sim],
                                          amazon_settings: AmazonSettings) -> None:
    sim = make_sim(history_days=1, orders_per_day=1)
    (account,) = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    seller = sim.sellers[0].seller_id
    placed = http_post(f"{sim.url}/_sim/sellers/{seller}/orders", json={
        "marketplaceId": US, "items": [{"sku": SKU, "quantity": 1}],
        "address": {"name": "Pat Doe", "addressLine1": "1 Capitol Ave", "city": "Springfield",
                    "stateOrRegion": "IL", "postalCode": "62701"}})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["orderId"]
    two_stores(engine, STORE, "store-b", NODE, sku=SKU)  # Springfield and Chicago hold it
    put_stock(engine, "store-b", SKU, 0)

    credentials = SecretSource(environ={}, secrets_file=amazon_settings.secrets_file
                               ).credentials("na", account.seller_id)
    with SpApi(account, credentials, Limiter(factor=amazon_settings.rate_factor),
               amazon_settings) as api:
        row = fetch_order(JobContext("orders", account, api, engine, amazon_settings), US,
                          order_id)
    assert row is not None and row["status"] == "UNSHIPPED"
    with reading(engine) as conn:
        routed = conn.execute(select(routed_orders).where(
            routed_orders.c.order_id == order_id)).one()
        task = conn.execute(select(pick_tasks).where(pick_tasks.c.order_id == order_id)).one()
    assert (routed.status, routed.postal_code, task.store_id) == ("routed", "62701", STORE)
