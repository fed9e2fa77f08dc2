"""The agent's local HTTP API and the counter page (``static/``: HTML, JS, CSS; no build step).

Rules: routes are thin: check the caller (``auth``), parse (pydantic models), call the store's
context, shape the answer; errors become HTTP answers in ``api`` only. Writes are idempotent on
``Idempotency-Key`` (``idempotency``); bodies are bounded (``body_limit``).

    api  devices  pos  staff  events_stream  options  idempotency  body_limit  auth

The counter page is ES modules (``static/``): ``counter.js`` imports the shared helpers of
``common.js`` (API, DOM, time, exact decimal money), ``staff.js`` and ``writes.js``; its form
choices come from ``GET /api/options``; it is told of changes by the live stream and polls only
while that stream is down.
"""
