"""Amazon quantities kept true: offered quantities diffed, queued once per change, sent.

    diff      pure: offered quantities vs the newest queued ones -> the changes
    feed      pure: the patch body, the JSON_LISTINGS_FEED document, its processing report
    outbox    the ``amazon_listing_changes`` table: queue, claim, record, read (audited)
    sender    patchListingsItem for a few changes, JSON_LISTINGS_FEED for many; in-doubt
              changes after a crash are checked with getListingsItem before anything is resent

The legacy ``POST_INVENTORY_AVAILABILITY_DATA`` and flat-file listings feeds were removed by
Amazon on 2025-07-31 and are never used.
"""
