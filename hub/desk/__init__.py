"""The approvals desk: the queue, a refund's story, hub-side requests, policy simulation, web UI.

    queue      the pending queue filtered and paged in SQL (indexed), with ageing
    story      everything about one refund: order, return, inspection, rules, customer, audit
    requests   a refund requested through the API (decided by the policy like a store's)
    simulate   a draft policy run over the refunds of the last N days
    web        the HTML pages (login, desk) and their static files; no CDN, no build step

Rights are checked with ``hub.permissions``; lists are limited to the caller's scope in SQL.
"""
