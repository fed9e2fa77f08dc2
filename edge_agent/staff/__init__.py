"""Staff at the counter: PINs checked offline in the hub's format, sessions, the wrong-PIN throttle.

Rules: PIN hashes arrive only in the store's config from the hub; a PIN is never stored or
logged in clear.

    pins  sessions
"""
