"""Who may do what: users, passwords, desk sessions and sign-in throttling, API tokens,
staff PINs, and the pure rules of roles, rights and scopes.

Rules: ``permissions`` and ``throttle`` are pure; secrets (passwords, PINs, session ids, tokens)
are stored only as hashes and never audited in clear; every change is audited.

    permissions  users  passwords  sessions  signin  throttle  tokens  pins
"""
