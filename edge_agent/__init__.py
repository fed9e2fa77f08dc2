"""ACORN edge agent: the store counter's local store, return logic, hub link, API and page.

Packages, by capability (each opens with its rules), top to bottom of the layers contract::

    cli/       ``acorn-edge``: run, outbox, recover, devices, print-test
    app        create_app(settings): the composition root of one agent's web application
    web/       the local API (returns, devices, pos, staff, live events), auth, idempotency,
               body limit; static/: the counter page (HTML, JS, CSS; no build step, nothing remote)
    agent      the parts of one running agent, wired: store, counter, link, devices, metrics
    devices/   the scanner's supervisor and live thread, the durable print queue, discovery
    pos/       POS lookups and idempotent POS returns; a simulated POS terminal
    sync/      the MQTT link (outbox drain, acks, resends, commands, presence), commands
    returns/   the return's pure state machine and scans, the counter's actions, receipts, views
    stock/     the home of the store's stock ledger (nothing built yet)
    staff/     PINs checked offline, sessions, the store's config from the hub
    storage/   the SQLite file (one writer), migrations, integrity, journal, outbox, replay,
               recover, records, audit, ids, idempotency keys
    settings, logs, metrics, events (the live event bus), errors: used by all of the above

It imports ``protocol`` (and may import ``hardware``), never ``hub``. Nothing runs at import time.
"""
