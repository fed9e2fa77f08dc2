"""The hub's Amazon integration: seller accounts, sync jobs, expected returns and MFN refunds.

Everything talks to Amazon through python-amazon-sp-api, behind one seam (``gateway.SpApi``):
every call takes a token from its (account, operation) bucket first, a 429 backs off and
retries, and library errors become this package's errors (``errors.py`` draws the tree).

Modules, pure first (mypy strict, table-tested):

    marketplaces    the marketplaces ACORN sells in: ids, regions, currencies, number style
    ratelimit       Amazon's documented rates and bursts; the token bucket; the limiter
    cursors         sync windows, and the stored cursor per account x job x marketplace
    flatfile        what Amazon's flat files share: lines, headers, local amounts, times
    settlement_file the V2 settlement file by header name into typed rows (1M rows in seconds)
    returns_file    the MFN and FBA returns reports by header name
    feed            the order adjustment feed XML and Amazon's processing report
    refund_rules    a refund as feed items; Amazon's refund events matched back to them
    buyer_key       the keyed hash that stands for a buyer (never the email itself)

then settings, secrets, errors, and the I/O around the core:

    tables          the Amazon tables (on ``hub.storage.tables.core.metadata``; migrations 0002,
    0005)
    buyer_secret    the buyer-hash key: from the settings, or generated once into a 0600 file
    order_facts     what the policy needs of synced orders (date, buyer key, promised delivery)
    accounts        seller account definitions and their ok/error status (audited)
    store           idempotent upserts keyed by Amazon ids; tallies; bad-data records
    gateway         the one door to SP-API
    context         what a job gets: account, gateway, database, tally, progress
    orders, reports, returns, finances, settlements
                    the sync jobs (reports: the request/poll/download cycle in windows)
    expected        store drop-off returns -> ``return.expected`` commands, once
    refund_claims, submissions, matching
                    approved MFN refunds -> feeds, exactly once (intent before createFeed,
                    reconciled after a crash) -> confirmed by events -> settled
    refund_ops, refund_api
                    a person retries a failed refund or resolves an ambiguous feed (CLI, API)
    sync            runs jobs for accounts in parallel and tallies them
    scheduler       runs every job on its interval inside ``acorn-hub serve``
    cli, api        ``acorn-hub amazon ...`` and ``GET /api/amazon/accounts``

This ``__init__`` imports nothing: ``hub.storage.tables.core`` imports
``hub.storage.tables.amazon`` so that one
metadata describes every table, and that must not pull in the rest of the package.
"""
