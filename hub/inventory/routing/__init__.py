"""Order routing: which store ships each Amazon merchant-fulfilled order, decided by rules with
every reason (the OMO issue, point 1).

    rules = load_routing_yaml(text)                          # a versioned YAML document
    usable = routing_stock(stock, allocation_rules, skus)    # sellable above the safety floor
    decision = route(order, sites, usable, rules, now)       # pure; one store before a split

Rules: the core (``values``, ``document``, ``geo``, ``stock``, ``shipday``, ``engine``) is pure
and does no I/O but reading the package's own data (the default rules, the shipped postal-code
table); ``service`` loads its inputs from the hub's database, stores each decision
(``routed_orders``, ``routed_packages``, ``routing_decisions``) and audits it in the same
transaction; ``rules_store``
keeps the published rules versions (append-only, the highest active); ``postcodes`` imports and
looks up postal-code centroids. Errors: ``RoutingRulesError`` (a document that cannot be used,
naming each bad field), ``hub.errors.InputError``/``NotFound``/``Conflict`` from the service.

    values  document  geo  stock  shipday  engine  |  rules_store  postcodes  service
"""

from importlib import resources

from hub.inventory.routing.document import RoutingRules, RoutingRulesError, load_routing_yaml
from hub.inventory.routing.engine import route
from hub.inventory.routing.stock import floor_of, routing_stock
from hub.inventory.routing.values import (
    Decision,
    Destination,
    Line,
    Order,
    Package,
    RoutingStock,
    Site,
    Status,
    Usable,
    Verdict,
    order_lines,
)


def default_routing_text() -> str:
    """The YAML text of the default routing rules shipped with ACORN."""
    return resources.files(__name__).joinpath("default_rules.yaml").read_text("utf-8")


__all__ = [
    "Decision",
    "Destination",
    "Line",
    "Order",
    "Package",
    "RoutingRules",
    "RoutingRulesError",
    "RoutingStock",
    "Site",
    "Status",
    "Usable",
    "Verdict",
    "default_routing_text",
    "floor_of",
    "load_routing_yaml",
    "order_lines",
    "route",
    "routing_stock",
]
