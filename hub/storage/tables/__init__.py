"""Every table of the hub, one module per context, all on one ``metadata``.

Rules: table definitions only (SQLAlchemy Core), no queries; importing this package registers
every table, so ``metadata`` describes the whole schema that the migrations create.
"""

from __future__ import annotations

from hub.storage.tables import (
    access,
    amazon,
    amazon_listings,
    archive,
    buyer,
    catalogue,
    core,
    evidence,
    finance,
    finance_fx,
    finance_settlements,
    fleet,
    idempotency,
    inventory,
    inventory_rules,
    pairing,
    picking,
    reasons,
    risk,
    routing,
    transfers,
    vat_reports,
)
from hub.storage.tables.core import metadata

__all__ = ["access", "amazon", "amazon_listings", "archive", "buyer", "catalogue", "core",
           "evidence", "finance", "finance_fx", "finance_settlements", "fleet",
           "idempotency", "inventory", "inventory_rules", "metadata", "pairing", "picking",
           "reasons", "risk", "routing", "transfers", "vat_reports"]
