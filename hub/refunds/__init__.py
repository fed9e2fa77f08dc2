"""Refunds: their state machine, the facts and decisions of the policy, approvals, requests.

Rules:
- ``states`` is the one refund state table; every move is audited in the same transaction;
- ``decisions`` is the one path from what the hub knows about a refund to the policy engine and
  back to a state: ingest, hub-side requests and the simulation all use it;
- ``approvals`` are decisions by a person (one or in bulk), checked with ``hub.access``;
- ``requests`` are refunds asked for through the API (desk or HQ), decided like a store's;
- ``queue`` and ``story`` are the desk's read side; ``simulate`` runs a draft policy over
  recent history through the same decision path.

    states  decisions  approvals  requests  queue  story  simulate
"""
