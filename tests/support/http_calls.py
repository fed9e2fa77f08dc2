"""httpx's one-off calls (``httpx.get`` and the rest) for tests, without a TLS context each.

``httpx.get(url)`` makes a client, and with it a TLS context loading certifi's whole CA bundle:
~30-40 ms of CPU a call, even to a plain ``http://`` loopback server. Tests poll their servers
in loops (every 20-100 ms), so waiting for a hub cost up to a core, on the two cores the hub
under test shares with it; across the suite it was about 5 % of all the time sampled. These
call the same functions with one context made once per process, the one httpx would make
(``httpx.create_ssl_context()``); everything else is as httpx's own functions do it: a new
client for the call, no cookies kept, the same defaults. A caller's own ``verify`` is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import httpx

Call = Callable[..., httpx.Response]


@cache
def _tls() -> Any:
    return httpx.create_ssl_context()


def _shared_tls(call: Call) -> Call:
    def with_shared_tls(*args: Any, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("verify", _tls())
        return call(*args, **kwargs)

    with_shared_tls.__doc__ = f"``httpx.{call.__name__}`` with the TLS context made once."
    return with_shared_tls


http_request = _shared_tls(httpx.request)
http_get = _shared_tls(httpx.get)
http_post = _shared_tls(httpx.post)
http_put = _shared_tls(httpx.put)
http_patch = _shared_tls(httpx.patch)
http_delete = _shared_tls(httpx.delete)
