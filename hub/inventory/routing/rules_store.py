"""Versioned routing rules in the database: the active version, and publishing a new one.

Rules:
- ``routing_rules`` is append-only; the row with the highest version is active; before the
  first publication the default rules shipped with ACORN (version 1) are active, unstored;
- a new version must validate (``RoutingRulesError`` naming each bad field, nothing stored) and
  be higher than the active one; it is audited as ``routing_rules.published`` with the previous
  and the new document (version, name, sha256, YAML);
- parsed rules are cached by sha256 (a document's text fixes its rules).
"""

from __future__ import annotations

from hub.inventory.routing import default_routing_text
from hub.inventory.routing.document import RoutingRules, RoutingRulesError, load_routing_yaml
from hub.storage.documents import VersionedDocuments, sha256_of
from hub.storage.tables.routing import routing_rules

ACTION = "routing_rules.published"

_documents: VersionedDocuments[RoutingRules] = VersionedDocuments(
    routing_rules, ACTION, load_routing_yaml, default_routing_text,
    lambda message: RoutingRulesError.at("version", message))
active_text = _documents.active_text
active = _documents.active
publish = _documents.publish
__all__ = ["ACTION", "active", "active_text", "publish", "sha256_of"]
