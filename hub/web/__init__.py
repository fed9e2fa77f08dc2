"""The hub's web side: the HTTP API (``api/``) and the approvals desk's pages (``desk/``).

Rules: routes are thin: they parse and check input (pydantic), check rights, call one function of
a context, and shape the answer. No SQL and no business rule lives here. The web layer sits above
every context (import-linter ``layers``).
"""
