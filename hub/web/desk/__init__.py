"""The approvals desk's HTML: the login page, the desk page and their static files.

Rules: no CDN, no build step; the pages talk to the API only. Scripts are ES modules
(``<script type="module">``) that share nothing through globals: ``common.js`` holds the helpers
of the whole desk app (DOM, the API with its CSRF header and error shape, exact money, dates,
the words from ``GET /api/options``); ``desk.js`` (the entry of desk.html) imports it with
``writes.js`` (decisions sent once), ``decided.js`` (the decided view) and ``policy.js`` (the
policy editor: a form over the hub's drafts, the YAML as its advanced view); ``login.js`` imports it
too. Money in the page is decimal text and BigInt, never a float; enum choices and their words
come from ``/api/options``, never from the HTML.
"""
