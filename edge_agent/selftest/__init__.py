"""The self-test: is this node ready to take returns? Hub, broker, clock, disk, scanner, printer,
POS.

Rules:
- ``report`` is pure: check results in, one ``SelfTestReport`` out (passed when no check
  failed; a skipped check — nothing configured — does not fail), and the clock guard's sentence;
- ``checks`` are thin: each asks one real thing (the hub over HTTP, the link's state, the data
  folder's disk, a test scan, a "store ready" page) and turns what it found into a result,
  never raising;
- ``runner`` runs them for the agent at start-up once it is enrolled (it has a ``hub_url``; no
  scan asked, the page printed only before the first report) and on demand
  (``POST /api/selftest``, ``acorn-edge selftest``), keeps the report
  in the store's meta, and tells the link to report it to the hub at once;
- the clock guard uses the last *measured* offset: a self-test that cannot reach the hub keeps
  the previous measurement (an offline node with a good clock keeps taking returns).
"""
