"""Pointing python-amazon-sp-api at an account's own base URL (a proxy, or the SP-API simulator).

The library has no base-URL setting, but its clients read only ``.endpoint``, ``.marketplace_id``
and ``.region`` from the ``marketplace`` argument, and take the LWA client class as
``auth_token_client_class``. Two quirks are handled here:

- it sends ``Host: endpoint[8:]``, assuming ``https://``; for ``http://127.0.0.1:8100`` that
  would be ``27.0.0.1:8100``, so an http URL gets an empty userinfo (``http://@127.0.0.1:8100``),
  a valid URL for httpx whose ``[8:]`` is the right host;
- its token client never closes its connection pool; ``ClosingAccessTokenClient`` does.

This is the hub's own code: the hub never imports the simulator (import-linter contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sp_api.base import AccessTokenClient
from sp_api.base._transport_httpx import HttpxTransport

from hub.amazon.marketplaces import by_id


def sp_api_endpoint(base_url: str) -> str:
    """``base_url`` rewritten so that python-amazon-sp-api's ``endpoint[8:]`` is its host."""
    base_url = base_url.rstrip("/")
    if base_url.startswith("http://") and not base_url.startswith("http://@"):
        return "http://@" + base_url[len("http://"):]
    return base_url


@dataclass(frozen=True, slots=True)
class EndpointMarketplace:
    """A stand-in for ``sp_api.base.Marketplaces`` members, pointing at another endpoint."""

    endpoint: str
    marketplace_id: str
    region: str

    @classmethod
    def at(cls, base_url: str, marketplace_id: str) -> EndpointMarketplace:
        """The marketplace ``marketplace_id`` served at ``base_url``."""
        return cls(sp_api_endpoint(base_url), marketplace_id, str(by_id(marketplace_id).region))


class ClosingAccessTokenClient(AccessTokenClient):  # type: ignore[misc]
    """An AccessTokenClient that does not keep its connection open between token requests.

    The library never closes its token client's httpx pool; the idle socket then leaks (a
    ResourceWarning, an error under ``-W error``). Tokens are fetched about hourly, so a fresh
    pool per request costs nothing.
    """

    _transport: HttpxTransport

    def _request(self, url: str, data: dict[str, Any], headers: dict[str, str]) -> Any:
        try:
            return super()._request(url, data, headers)
        finally:
            self._transport.close()
            self._transport = HttpxTransport(proxies=self.proxies, verify=self.verify)


def token_client_class(base_url: str) -> type[AccessTokenClient]:
    """An access token client class that asks ``base_url``/auth/o2/token for tokens."""
    parts = urlsplit(base_url)
    scheme, host = f"{parts.scheme}://", parts.netloc
    return type("EndpointAccessTokenClient", (ClosingAccessTokenClient,),
                {"scheme": scheme, "host": host, "__doc__": f"LWA at {base_url}"})
