"""Refunds: their state machine, the facts and decisions of the policy, approvals, requests.

Rules:
- ``states`` is the one refund state table; every move is audited in the same transaction;
- ``facts`` is the one place that builds what the policy knows about a refund (items, history,
  risk flags, the synced Amazon order, ...), and ``decisions.judge`` the one path from those facts
  to the policy engine and back to a ``Verdict`` (the move, the next state, the outcome): the
  ingest (``projection``), hub-side ``requests`` and the ``simulate``-ion all use both;
- ``origin`` says who asked for a refund (store, pos, hub) and so which node is told about it;
- ``approvals`` are decisions by a person (one or in bulk), checked with ``hub.access``;
- ``requests`` are refunds asked for through the API (desk or HQ), decided like a store's;
- ``queue`` and ``story`` are the desk's read side; ``simulate`` runs a draft policy (or replays
  the active one) over recent history through the same decision path.

    states  origin  order_facts  facts  decisions  projection  approvals  requests  queue
    story  simulate
"""
