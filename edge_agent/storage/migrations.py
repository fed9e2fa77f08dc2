"""Schema of the node's SQLite file, as an ordered list of named migrations.

Rules:
- a migration is a function of the database, named once and never renamed, edited or reordered
  after release: add a new one instead;
- each runs in its own transaction together with its row in ``migrations``, so it is applied
  exactly once (a second open applies nothing; a failed one leaves no trace);
- money amounts are TEXT (exact decimals), timestamps TEXT in UTC ``…Z``, lists JSON TEXT;
- ``audit`` is append-only, enforced by triggers.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from protocol import format_utc, utc_now

Migration = tuple[str, Callable[[Database], None]]

_INITIAL = [
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO counters(name, value) VALUES ('next_seq', 1), ('last_acked_seq', 0)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)",
    """CREATE TABLE returns (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('expected', 'received', 'inspected', 'disposed')),
        channel TEXT NOT NULL, reason TEXT NOT NULL,
        order_id TEXT, rma_id TEXT, marketplace_id TEXT,
        scanned_codes TEXT NOT NULL DEFAULT '[]', mismatch INTEGER NOT NULL DEFAULT 0,
        mismatch_detail TEXT NOT NULL DEFAULT '[]',
        staff_id TEXT, total_amount TEXT NOT NULL, currency TEXT NOT NULL,
        received_at TEXT NOT NULL, updated_at TEXT NOT NULL, event_seq INTEGER NOT NULL)""",
    "CREATE INDEX returns_by_time ON returns(received_at DESC, id)",
    "CREATE INDEX returns_by_rma ON returns(rma_id)",
    "CREATE INDEX returns_by_order ON returns(order_id)",
    """CREATE TABLE return_items (
        return_id TEXT NOT NULL REFERENCES returns(id), line INTEGER NOT NULL,
        sku TEXT NOT NULL, quantity INTEGER NOT NULL CHECK (quantity >= 1),
        unit_amount TEXT NOT NULL, currency TEXT NOT NULL,
        description TEXT, gtin TEXT, asin TEXT,
        PRIMARY KEY (return_id, line))""",
    "CREATE INDEX return_items_by_code ON return_items(sku)",
    """CREATE TABLE inspections (
        return_id TEXT PRIMARY KEY REFERENCES returns(id), grade TEXT NOT NULL, reason TEXT,
        notes TEXT NOT NULL DEFAULT '', compliance_tags TEXT NOT NULL DEFAULT '[]',
        photos TEXT NOT NULL DEFAULT '[]', inspected_by TEXT, inspected_at TEXT NOT NULL,
        event_seq INTEGER NOT NULL)""",
    """CREATE TABLE dispositions (
        return_id TEXT PRIMARY KEY REFERENCES returns(id), disposition TEXT NOT NULL,
        location TEXT, decided_by TEXT, decided_at TEXT NOT NULL, event_seq INTEGER NOT NULL)""",
    """CREATE TABLE refunds (
        id TEXT PRIMARY KEY, return_id TEXT NOT NULL UNIQUE REFERENCES returns(id),
        amount TEXT NOT NULL, currency TEXT NOT NULL, channel TEXT NOT NULL,
        requested_by TEXT, requested_at TEXT NOT NULL, event_seq INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'requested',
        decided_amount TEXT, decided_currency TEXT, approval_level INTEGER, reasons TEXT,
        decided_by TEXT, decided_at TEXT, decision_command_id TEXT)""",
    """CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        body TEXT NOT NULL, occurred_at TEXT NOT NULL)""",
    """CREATE TABLE applied_commands (
        command_id TEXT PRIMARY KEY, kind TEXT NOT NULL, applied_at TEXT NOT NULL,
        result TEXT NOT NULL CHECK (result IN ('applied', 'refused')),
        detail TEXT NOT NULL DEFAULT '', report_seq INTEGER)""",
    """CREATE TABLE expected_returns (
        rma_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, channel TEXT NOT NULL,
        marketplace_id TEXT, items TEXT NOT NULL, customer_hint TEXT, expected_by TEXT,
        cached_at TEXT NOT NULL, command_id TEXT NOT NULL)""",
    "CREATE INDEX expected_by_order ON expected_returns(order_id)",
    """CREATE TABLE scans (
        id INTEGER PRIMARY KEY, code TEXT NOT NULL, matched TEXT NOT NULL, matched_id TEXT,
        scanned_at TEXT NOT NULL)""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
        before TEXT, after TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END""",
]


def m0001_initial(db: Database) -> None:
    """Returns, QC, refunds, outbox, commands, RMA cache, scans, audit."""
    for statement in _INITIAL:
        db.conn.execute(statement)


_DEVICES = [
    """CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY, printer TEXT NOT NULL CHECK (printer IN ('receipt', 'label')),
        kind TEXT NOT NULL CHECK (kind IN ('receipt', 'label')), return_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'printing', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, printed_at TEXT)""",
    "CREATE INDEX print_jobs_waiting ON print_jobs(printer, state, id)",
    """CREATE TABLE pos_transactions (
        pos_transaction_id TEXT PRIMARY KEY, return_id TEXT NOT NULL REFERENCES returns(id),
        receipt_id TEXT NOT NULL, refund_mode TEXT NOT NULL, cashier TEXT, terminal_id TEXT,
        request_hash TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    "CREATE INDEX pos_transactions_by_receipt ON pos_transactions(receipt_id)",
    "CREATE INDEX refunds_by_decision ON refunds(decision_command_id)",
]


def m0002_devices(db: Database) -> None:
    """Print jobs (queued receipts and labels) and POS transactions (idempotent POS returns)."""
    for statement in _DEVICES:
        db.conn.execute(statement)


_STAFF = [
    """CREATE TABLE store_config (
        id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, issued_at TEXT NOT NULL,
        limit_amount TEXT, limit_currency TEXT, policy_version INTEGER,
        message_id TEXT NOT NULL, applied_at TEXT NOT NULL)""",
    """CREATE TABLE staff (
        staff_id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('store_staff', 'store_manager')),
        pin_hash TEXT NOT NULL)""",
    """CREATE TABLE staff_sessions (
        id_hash TEXT PRIMARY KEY, staff_id TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    "CREATE INDEX staff_sessions_by_expiry ON staff_sessions(expires_at)",
    """CREATE TABLE signin_failures (
        staff_id TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at TEXT NOT NULL,
        locked_until TEXT)""",
    "ALTER TABLE refunds ADD COLUMN approved_offline_by TEXT",
    "ALTER TABLE refunds ADD COLUMN refund_method TEXT",
]


def m0003_staff(db: Database) -> None:
    """The store config (offline limit, staff PIN hashes), staff sessions, sign-in throttle, and
    offline approval and refund method on refunds."""
    for statement in _STAFF:
        db.conn.execute(statement)


_RETURN_FACTS = [
    "ALTER TABLE return_items ADD COLUMN category TEXT",
    "ALTER TABLE return_items ADD COLUMN opened INTEGER CHECK (opened IN (0, 1))",
    "ALTER TABLE returns ADD COLUMN sold_at TEXT",
]


def m0004_return_facts(db: Database) -> None:
    """What the refund policy weighs: each item's category and opened flag, the return's sale
    time; rows recorded before keep null (not known)."""
    for statement in _RETURN_FACTS:
        db.conn.execute(statement)


_REFUND_PAYMENT = [
    "ALTER TABLE refunds ADD COLUMN payment_status TEXT "
    "CHECK (payment_status IN ('submitted', 'confirmed', 'settled', 'failed'))",
    "ALTER TABLE refunds ADD COLUMN payment_detail TEXT",
    "ALTER TABLE refunds ADD COLUMN payment_at TEXT",
    "ALTER TABLE refunds ADD COLUMN payment_command_id TEXT",
    "CREATE INDEX refunds_by_payment ON refunds(payment_command_id)",
]


def m0005_refund_payment(db: Database) -> None:
    """Where the money of a refund is (the hub's ``refund.status``): status, the marketplace's
    detail, its time and the command that set it; refunds recorded before keep null (not known)."""
    for statement in _REFUND_PAYMENT:
        db.conn.execute(statement)


_INTEGRITY = [
    "ALTER TABLE outbox ADD COLUMN checksum TEXT",
    "ALTER TABLE returns ADD COLUMN checksum TEXT",
    """CREATE TABLE recovered_events (
        source_id TEXT PRIMARY KEY, source TEXT NOT NULL, return_id TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('requeued', 'at_hub', 'already_here')),
        new_seq INTEGER, recovered_at TEXT NOT NULL)""",
]


def m0006_integrity(db: Database) -> None:
    """A checksum on each outbox event and return row (null on rows written before: not
    checked), and what ``acorn-edge recover`` took from damaged files (so a second run changes
    nothing)."""
    for statement in _INTEGRITY:
        db.conn.execute(statement)


_IDEMPOTENCY = [
    "CREATE TABLE idempotency_keys (scope TEXT NOT NULL, key TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, "
    "created_at TEXT NOT NULL, PRIMARY KEY (scope, key))",
    "CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at)",
]


def m0007_idempotency(db: Database) -> None:
    """The local API's idempotency keys (``edge_agent.web.idempotency``): per caller and key, the
    request's fingerprint and the first answer, written with the write they answer."""
    for statement in _IDEMPOTENCY:
        db.conn.execute(statement)


def m0008_decision_rules(db: Database) -> None:
    """The fired rules of the hub's decision as data (``RefundDecided.rules``, JSON): the counter
    words them for its staff; NULL for a decision from before the field."""
    db.conn.execute("ALTER TABLE refunds ADD COLUMN rules TEXT")


def m0009_store_settings(db: Database) -> None:
    """The store settings the hub's store config carries (edited on the fleet page): NULL keeps
    the agent's own setting."""
    for column in ("language", "time_zone", "printer_paper"):
        db.conn.execute(f"ALTER TABLE store_config ADD COLUMN {column} TEXT")


_STOCK_LEDGER = [
    """CREATE TABLE stock_levels (
        sku TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('sellable', 'qc_hold',
        'refurbish', 'scrap', 'reserved', 'in_transit')),
        quantity INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (sku, state))""",
    """CREATE TABLE stock_moves (
        id INTEGER PRIMARY KEY, move_id TEXT NOT NULL UNIQUE, sku TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity >= 1), from_state TEXT, to_state TEXT,
        reason TEXT NOT NULL, pos_transaction_id TEXT, return_id TEXT, count_id TEXT,
        transfer_id TEXT, staff_id TEXT, at TEXT NOT NULL, from_after INTEGER,
        to_after INTEGER, event_seq INTEGER NOT NULL)""",
    "CREATE INDEX stock_moves_by_sku ON stock_moves(sku, id)",
    "CREATE INDEX stock_moves_by_seq ON stock_moves(event_seq)",
    """CREATE TABLE pos_sales (
        pos_transaction_id TEXT PRIMARY KEY, receipt_id TEXT, cashier TEXT, terminal_id TEXT,
        request_hash TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE stock_counts (
        count_id TEXT PRIMARY KEY, state TEXT NOT NULL, full_count INTEGER NOT NULL,
        counted_by TEXT, request_hash TEXT NOT NULL, counted_at TEXT NOT NULL,
        lines TEXT NOT NULL)""",
]


def m0012_stock_ledger(db: Database) -> None:
    """The stock ledger (``edge_agent.stock``): quantity per SKU and state, every move with the
    seq of its ``stock.moved`` event, and the POS sales and stock counts it booked (each once)."""
    for statement in _STOCK_LEDGER:
        db.conn.execute(statement)


def m0014_store_allocation(db: Database) -> None:
    """The store's part of the hub's allocation rules (from the store config): one row, its
    version, since when it is applied, and the part itself as JSON."""
    db.conn.execute("""CREATE TABLE store_allocation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL, name TEXT NOT NULL, part TEXT NOT NULL,
        config_version INTEGER NOT NULL, since TEXT NOT NULL)""")


def m0016_stock_snapshots(db: Database) -> None:
    """The snapshots of the stock totals sent for the hub's consistency check
    (``edge_agent.stock.snapshot``): when, why, up to which move seq, and their outbox seqs."""
    db.conn.execute("""CREATE TABLE stock_snapshots (
        snapshot_id TEXT PRIMARY KEY, reason TEXT NOT NULL, taken_at TEXT NOT NULL,
        as_of_seq INTEGER NOT NULL, skus INTEGER NOT NULL, pages INTEGER NOT NULL,
        first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL)""")
    db.conn.execute("CREATE INDEX stock_snapshots_by_time ON stock_snapshots(taken_at)")


def m0017_count_tasks(db: Database) -> None:
    """The hub's count tasks (``edge_agent.stock.tasks``): count one SKU in one state, open until
    a count of it answers; which count, what it found and when."""
    db.conn.execute("""CREATE TABLE count_tasks (
        task_id TEXT PRIMARY KEY, sku TEXT NOT NULL, state TEXT NOT NULL,
        difference_id INTEGER, requested_by TEXT, note TEXT, command_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'done')),
        count_id TEXT, counted INTEGER, done_at TEXT, snapshot_id TEXT)""")
    db.conn.execute("CREATE INDEX count_tasks_open ON count_tasks(status, sku, state)")


def m0019_stock_move_keys(db: Database) -> None:
    """The keys a sale, a count, a return and a transfer look their moves up by: indexed (the
    lookups scanned every move the store ever booked, a little slower with each sale)."""
    for column in ("pos_transaction_id", "count_id", "return_id", "transfer_id"):
        db.conn.execute(f"CREATE INDEX stock_moves_by_{column} ON stock_moves({column}) "
                        f"WHERE {column} IS NOT NULL")


def m0020_transfer_tasks(db: Database) -> None:
    """The hub's transfer tasks (``edge_agent.stock.transfers``): ship a transfer to another
    store, or receive one from it; its lines, where it stands, who did it and what was counted."""
    db.conn.execute("""CREATE TABLE transfer_tasks (
        transfer_id TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('send', 'receive')),
        from_store TEXT NOT NULL, to_store TEXT NOT NULL, lines TEXT NOT NULL,
        requested_by TEXT, note TEXT, command_id TEXT NOT NULL, received_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'shipped', 'received', 'delivered')),
        done_by TEXT, done_at TEXT, counted TEXT, delivered_at TEXT,
        PRIMARY KEY (transfer_id, role))""")
    db.conn.execute("CREATE INDEX transfer_tasks_by_status ON transfer_tasks(status)")


def m0021_pick_tasks(db: Database) -> None:
    """The hub's pick tasks (``edge_agent.stock.picking``): one package of an Amazon order to
    pick and ship, its lines with what is reserved and picked, the shipment or the give-back."""
    db.conn.execute("""CREATE TABLE pick_tasks (
        package_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, marketplace_id TEXT NOT NULL,
        ship_by TEXT, language TEXT NOT NULL, attempt INTEGER NOT NULL,
        command_id TEXT NOT NULL, received_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'shipped', 'given_back', 'withdrawn')),
        carrier TEXT, tracking_number TEXT, shipped_at TEXT, given_back_reason TEXT,
        closed_at TEXT, closed_by TEXT, event_seq INTEGER)""")
    db.conn.execute("CREATE INDEX pick_tasks_open ON pick_tasks(status, ship_by)")
    db.conn.execute("""CREATE TABLE pick_lines (
        package_id TEXT NOT NULL REFERENCES pick_tasks(package_id), sku TEXT NOT NULL,
        title TEXT, quantity INTEGER NOT NULL CHECK (quantity > 0),
        reserved INTEGER NOT NULL DEFAULT 0, picked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (package_id, sku))""")


def m0022_evidence(db: Database) -> None:
    """Photos taken at the counter (``edge_agent.returns.evidence``): one row per photo of a
    return, its bytes on disk by SHA-256, and the seq of the ``evidence.recorded`` event that
    carries them to the hub."""
    db.conn.execute("""CREATE TABLE evidence (
        evidence_id TEXT PRIMARY KEY, return_id TEXT NOT NULL,
        sha256 TEXT NOT NULL, size INTEGER NOT NULL, media_type TEXT NOT NULL,
        recorded_by TEXT, recorded_at TEXT NOT NULL, event_seq INTEGER NOT NULL)""")
    db.conn.execute("CREATE INDEX evidence_by_return ON evidence(return_id)")


def m0024_transfer_cancelled(db: Database) -> None:
    """A transfer task may be ``cancelled`` (the hub's ``transfer.cancelled``): the table is
    rebuilt with the wider status check (SQLite cannot alter a CHECK), rows kept as they are."""
    conn = db.conn
    conn.execute("ALTER TABLE transfer_tasks RENAME TO transfer_tasks_0020")
    conn.execute("DROP INDEX IF EXISTS transfer_tasks_by_status")
    conn.execute("""CREATE TABLE transfer_tasks (
        transfer_id TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('send', 'receive')),
        from_store TEXT NOT NULL, to_store TEXT NOT NULL, lines TEXT NOT NULL,
        requested_by TEXT, note TEXT, command_id TEXT NOT NULL, received_at TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('open', 'shipped', 'received', 'delivered', 'cancelled')),
        done_by TEXT, done_at TEXT, counted TEXT, delivered_at TEXT,
        PRIMARY KEY (transfer_id, role))""")
    conn.execute("INSERT INTO transfer_tasks SELECT * FROM transfer_tasks_0020")
    conn.execute("DROP TABLE transfer_tasks_0020")
    conn.execute("CREATE INDEX transfer_tasks_by_status ON transfer_tasks(status)")


MIGRATIONS: list[Migration] = [
    ("0001_initial", m0001_initial),
    ("0002_devices", m0002_devices),
    ("0003_staff", m0003_staff),
    ("0004_return_facts", m0004_return_facts),
    ("0005_refund_payment", m0005_refund_payment),
    ("0006_integrity", m0006_integrity),
    ("0007_idempotency", m0007_idempotency),
    ("0008_decision_rules", m0008_decision_rules),
    ("0009_store_settings", m0009_store_settings),
    ("0012_stock_ledger", m0012_stock_ledger),
    ("0014_store_allocation", m0014_store_allocation),
    ("0016_stock_snapshots", m0016_stock_snapshots),
    ("0017_count_tasks", m0017_count_tasks),
    ("0019_stock_move_keys", m0019_stock_move_keys),
    ("0020_transfer_tasks", m0020_transfer_tasks),
    ("0021_pick_tasks", m0021_pick_tasks),
    ("0022_evidence", m0022_evidence),
    ("0024_transfer_cancelled", m0024_transfer_cancelled),
]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet recorded, each in one transaction; return the names applied."""
    conn = db.conn
    conn.execute("CREATE TABLE IF NOT EXISTS migrations "
                 "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = []
    for name, step in MIGRATIONS if migrations is None else migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone() is None:
                step(db)
                conn.execute("INSERT INTO migrations(name, applied_at) VALUES (?, ?)",
                             (name, format_utc(utc_now())))
                applied.append(name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return applied
