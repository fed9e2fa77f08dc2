"""Versioned transfer price rules in the database: the active version, and publishing a new one.

Rules:
- ``transfer_price_rules`` is append-only; the row with the highest version is active; before
  the first publication the default rules shipped with ACORN (version 1, at cost) are active;
- a new version must validate (``TransferPriceRulesError`` naming each bad field, nothing
  stored) and be higher than the active one; it is audited as ``transfer_prices.published``
  with the previous and the new document;
- a transfer is priced by the version active when its receipt is complete; the line keeps it.
"""

from __future__ import annotations

from importlib import resources

from hub.inventory.transfers.rules import (
    TransferPriceRules,
    TransferPriceRulesError,
    load_price_rules_yaml,
)
from hub.storage.documents import VersionedDocuments, sha256_of
from hub.storage.tables.transfers import transfer_price_rules

ACTION = "transfer_prices.published"


def default_text() -> str:
    """The YAML text of the default transfer price rules shipped with ACORN."""
    package = __name__.rsplit(".", 1)[0]
    return resources.files(package).joinpath("default_rules.yaml").read_text("utf-8")


_documents: VersionedDocuments[TransferPriceRules] = VersionedDocuments(
    transfer_price_rules, ACTION, load_price_rules_yaml, default_text,
    lambda message: TransferPriceRulesError.at("version", message))
active_text = _documents.active_text
active = _documents.active
publish = _documents.publish
__all__ = ["ACTION", "active", "active_text", "default_text", "publish", "sha256_of"]
