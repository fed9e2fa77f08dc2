"""The hub's HTTP API (FastAPI): routes per area, shared dependencies, one error shape.

Every error answer is ``{"detail": [{"field": <name or null>, "message": <sentence>}]}``.
"""
