"""The hub's Amazon integration: seller accounts, sync jobs, expected returns and MFN refunds.

Everything talks to Amazon through python-amazon-sp-api, behind one seam
(``client.gateway.SpApi``): every call takes a token from its (account, operation) bucket first, a
429 backs off and retries, and library errors become this package's errors (``errors``).

Rules: pure parts are mypy strict and table-tested; nothing outside ``client/`` calls SP-API;
every sync job resumes from its cursor and upserts by Amazon's ids; an approved refund reaches
Amazon exactly once. Tables are in ``hub.storage.tables.amazon``.

    marketplaces, settings, secrets, errors, buyer_key (pure), buyer_secret
    accounts        seller account definitions and their ok/error status (audited)
    store           idempotent upserts keyed by Amazon ids; tallies; bad-data records
    context         what a job gets: account, gateway, database, tally, progress
    client/         gateway (the one door), ratelimit (documented rates, token buckets),
                    endpoint (pointing the library at an account's own base URL)
    files/          flatfile, settlement, returns (reports by header name), feed (XML) — pure
    sync/           orders, reports, returns, finances, settlements, expected (RMAs to stores),
                    cursors, runner (accounts and jobs in parallel), scheduler (in the app)
    refunds/        rules (pure), claims, submissions (intent before createFeed), matching
                    (confirmed, settled), ops (a person retries or resolves)

The CLI (``hub.cli.amazon``) and the routes (``hub.web.api.amazon``, ``amazon_refunds``) sit
above this package. This ``__init__`` imports nothing.
"""
