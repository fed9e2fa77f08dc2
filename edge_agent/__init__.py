"""ACORN edge agent: the store counter's local store, return logic, hub link, API and page.

Modules (functional core first, then the thin adapters around it)::

    returns     pure: the return state machine (transition table), totals, RMA mismatch
    outbox      the outbox table (gap-free seq) and the pure SendWindow policy
    errors      the package's one exception tree
    ids         return and refund ids (R/F + 12 Crockford base32 chars)
    settings    ACORN_EDGE_* settings (and --config files)
    migrations  the SQLite schema as named, recorded migrations
    store       the SQLite file: one connection, one lock, one transaction per action
    records     rows of the business tables; views: API read models built from them
    audit       the append-only, hash-chained local audit log
    counter     the counter's actions (scan, receive, inspect, dispose), one transaction each
    commands    hub commands applied exactly once (+ the store's retained config)
    link        the MQTT link: outbox drain, acks, resends, commands, presence
    metrics     Prometheus metrics; models: API request/response shapes; api: the routes
    agent       the parts of one running agent; app: create_app(settings); cli: acorn-edge
    web/        the counter page (static HTML, JS, CSS; no build step, nothing remote)

It imports ``protocol`` (and may import ``hardware``), never ``hub``. Nothing runs at import time.
"""
