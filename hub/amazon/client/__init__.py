"""The one door to SP-API: python-amazon-sp-api clients behind the rate limiter and retries.

Rules: nothing else in the hub calls SP-API; library errors become ``hub.amazon.errors``.
"""
