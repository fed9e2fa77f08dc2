"""The agent's local HTTP API and the counter page (``static/``: HTML, JS, CSS; no build step).

Rules: routes are thin: check the caller (``auth``), parse (pydantic models), call the store's
context, shape the answer; errors become HTTP answers in ``api`` only. Writes are idempotent on
``Idempotency-Key`` (``idempotency``); bodies are bounded (``body_limit``).

    api  devices  pos  staff  events_stream  models  device_models  pos_models  staff_models
    idempotency  body_limit  auth
"""
