"""Inventory allocation rules as data (the inventory issue, point 4): a versioned YAML document
and a pure engine that says how much of each SKU each marketplace may sell.

    rules = compile_rules(load_rules_yaml(text))          # once per published version
    allocation = allocate(stock, rules, sales, now)        # pure; per SKU × marketplace (× store)
    report = simulate(draft, rules, stock, sales, now)     # what publishing the draft changes

No I/O here but ``store`` (the published versions in the hub's database). The rules of each
part live in its module: ``document`` (the YAML format), ``compiled`` (lookups), ``engine``
(order of the steps, rounding, explanations), ``simulation``. Errors: ``RulesError`` (a
``hub.errors.InputError``) with the ``path`` of the bad field.
"""

from hub.inventory.allocation.compiled import CompiledRules, compile_rules, compile_text
from hub.inventory.allocation.document import IN_STORE, RulesDocument
from hub.inventory.allocation.engine import allocate
from hub.inventory.allocation.errors import Problem, RulesError
from hub.inventory.allocation.loader import default_rules_text, load_rules_yaml
from hub.inventory.allocation.simulation import (
    MarketplaceChange,
    OfferChange,
    RulesSimulation,
    simulate,
)
from hub.inventory.allocation.values import (
    NO_SALES,
    Allocation,
    Offer,
    Sales,
    Step,
    Stock,
    StockLine,
)

__all__ = [
    "IN_STORE",
    "NO_SALES",
    "Allocation",
    "CompiledRules",
    "MarketplaceChange",
    "Offer",
    "OfferChange",
    "Problem",
    "RulesDocument",
    "RulesError",
    "RulesSimulation",
    "Sales",
    "Step",
    "Stock",
    "StockLine",
    "allocate",
    "compile_rules",
    "compile_text",
    "default_rules_text",
    "load_rules_yaml",
    "simulate",
]

