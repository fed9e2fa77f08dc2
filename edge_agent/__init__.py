"""ACORN edge agent: the store counter's local store, return logic, hub link, API and page.

Modules (functional core first, then the thin adapters around it)::

    returns     pure: the return state machine (transition table), totals, RMA mismatch,
                the offline refund rule
    outbox      the outbox table (gap-free seq) and the pure SendWindow policy
    errors      the package's one exception tree
    ids         return and refund ids (R/F + 12 Crockford base32 chars)
    settings    ACORN_EDGE_* settings (and --config files)
    migrations  the SQLite schema as named, recorded migrations
    store       the SQLite file: one connection, one lock, one transaction per action
    journal     the outbox journal: an fsync'd second copy of every event, beside the file
    walcheck    pure reading: does a WAL hide committed frames behind a damaged one?
    integrity   open the file only once it proves itself; quarantine, restore, periodic check
    replay      rebuild return/refund/QC rows from the node's own events
    recover     `acorn-edge recover`: salvage a quarantined file, re-queue what the hub lacks
    records     rows of the business tables; views: API read models built from them
    audit       the append-only, hash-chained local audit log
    counter     the counter's actions (scan, receive, inspect, dispose), one transaction each
    commands    hub commands applied exactly once
    store_config the store's retained config from the hub (offline limit, staff PIN hashes)
    pins        staff PIN hashes checked offline (the hub's scrypt format)
    staff       staff sign-in, sessions and the wrong-PIN throttle; staff_models, session_api
    auth        the local API's one access rule (staff session, POS key, loopback before enrolment)
    body_limit  request bodies above max_request_bytes refused (413)
    link        the MQTT link: outbox drain, acks, resends, commands, presence
    scans       pure: what a scanned line means and what staff are told
    receipts    render inputs of drop-off receipts and item labels (hardware layouts, lazily)
    print_jobs  the print_jobs table: a durable queue per printer
    print_queue one worker thread per printer (status, retry), and the queue's API face
    devices     the scanner's supervisor and the live thread (scans, hub link, decisions)
    events      the live event bus; events_stream: GET /api/events/stream (SSE)
    pos         POS lookups and idempotent POS returns; pos_models, pos_api: their API
    discovery   printers, hub and scanners found, with their settings lines
    metrics     Prometheus metrics; models: API request/response shapes; api: the routes
    device_models, device_api   printer/scanner state, reprint
    agent       the parts of one running agent; app: create_app(settings); cli: acorn-edge
                (cli_devices: devices, print-test)
    sim/        simulators driving an agent through its API (sim.pos: a POS terminal)
    web/        the counter page (static HTML, JS, CSS; no build step, nothing remote)

It imports ``protocol`` (and may import ``hardware``), never ``hub``. Nothing runs at import time.
"""
