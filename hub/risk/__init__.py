"""Risk flags: orders and customers marked high-risk by a person or by an Amazon claim.

Rules: a flag is added, listed and cleared with an audit entry; the policy only reads flags
(through ``hub.refunds.facts``), it never writes them.

    flags
"""
