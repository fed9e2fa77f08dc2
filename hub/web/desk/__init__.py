"""The approvals desk's HTML: the login page, the desk page and their static files.

Rules: no CDN, no build step; the pages talk to the API only.
"""
