"""People of the hub: users, sessions, store attributes, staff PINs and the store config they sync.

    passwords    scrypt hashes for passwords and PINs (pure, stdlib)
    users        users with role and scope: add, list, update, disable, passwords, login check
    sessions     browser sessions: random id in an HttpOnly cookie, stored hashed with expiry
    stores       store region/city/offline limit, and the SQL filter for a principal's scope
    pins         staff PINs per store and the ``store.config`` document built from them
    config_sync  publishes each store's config (retained) when it changes
    cli          ``acorn-hub users …``, ``stores …``, ``policy …``, ``audit export``

Rights and scopes themselves are pure and live in ``hub.permissions``. Every change here is
audited in the hash chain; secrets (passwords, PINs, session ids) are never stored or audited in
clear. Errors are the hub's (``InputError``, ``AuthError``, ``NotFound``, ``Conflict``).
"""
