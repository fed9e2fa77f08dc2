"""Storage: engines and transactions, column types, upserts, every table, migrations.

Rules:
- this package imports nothing of the hub above it (no context, no web, no CLI): the
  contexts build on it, never the other way round (import-linter ``layers`` contract);
- ``tables`` lists every context's tables on one ``metadata``; migrations create exactly these;
- money is stored as ``Numeric`` + a currency column and read back with ``money``; time is UTC.

    engine      engines and transactions for SQLite and PostgreSQL (``writing``, ``hold``)
    types       column types that keep the rules on both backends (UTC times, exact money)
    upsert      ``INSERT ... ON CONFLICT DO NOTHING`` for both backends
    money       stored amount + currency -> protocol ``Money`` / the API's money JSON
    tables/     one module per context: core (nodes, events, returns, refunds, commands),
                access, risk, idempotency, amazon; ``tables.metadata`` holds them all
    migrations/ Alembic, run programmatically (``upgrade(db_url)``)
"""
