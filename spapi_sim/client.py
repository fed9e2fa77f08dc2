"""Pointing python-amazon-sp-api at the simulator (or at any other base URL).

The library has no base-URL setting, but its clients read only `.endpoint`, `.marketplace_id`
and `.region` from the `marketplace` argument, and take the LWA client class as
`auth_token_client_class`. Two quirks are handled here:

* It sends `Host: endpoint[8:]`, assuming `https://`. For `http://127.0.0.1:8100` that would be
  `27.0.0.1:8100`. `sp_api_endpoint` writes an http URL with an empty userinfo
  (`http://@127.0.0.1:8100`): a valid URL for httpx, whose `[8:]` is the right host. (The
  simulator never relies on Host anyway.)
* Its token client never closes its connection pool; `ClosingAccessTokenClient` does. Use the
  API clients themselves as context managers (`with Orders(**kwargs) as orders:`) so their pools
  close too.
* Its token cache is process-wide, keyed by refresh token; the simulator's access tokens are
  derived from the seed, so they stay valid across simulator restarts with the same seed.

Keep `SP_API_DEFAULT_MARKETPLACE` and `AWS_ENV` unset: they override what is passed here. The
first would silently send calls meant for the simulator to Amazon, so `client_kwargs` refuses
to work while it is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sp_api.base import AccessTokenClient
from sp_api.base._transport_httpx import HttpxTransport

from spapi_sim.accounts import SellerAccount
from spapi_sim.marketplaces import marketplace


class OverriddenByEnvironment(RuntimeError):
    """python-amazon-sp-api would ignore the marketplace given to it (an env var overrides it)."""


def sp_api_endpoint(base_url: str) -> str:
    """`base_url` rewritten so that python-amazon-sp-api's `endpoint[8:]` is its host."""
    base_url = base_url.rstrip("/")
    if base_url.startswith("http://") and not base_url.startswith("http://@"):
        return "http://@" + base_url[len("http://"):]
    return base_url


@dataclass(frozen=True, slots=True)
class SimulatorMarketplace:
    """A stand-in for `sp_api.base.Marketplaces` members, pointing at another endpoint."""

    endpoint: str
    marketplace_id: str
    region: str

    @classmethod
    def at(cls, base_url: str, marketplace_id: str, *,
           sandbox: bool = False) -> SimulatorMarketplace:
        """The marketplace `marketplace_id` served at `base_url` (its `/sandbox` if asked)."""
        suffix = "/sandbox" if sandbox else ""
        region = marketplace(marketplace_id).region
        return cls(sp_api_endpoint(base_url) + suffix, marketplace_id, region)


class ClosingAccessTokenClient(AccessTokenClient):  # type: ignore[misc]
    """An AccessTokenClient that does not keep its connection open between token requests.

    The library never closes its token client's httpx pool; the idle socket then leaks (a
    ResourceWarning, an error under `-W error`). Tokens are fetched about hourly, so a fresh
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
    """An access token client class that asks `base_url`/auth/o2/token for tokens."""
    parts = urlsplit(base_url)
    scheme, host = f"{parts.scheme}://", parts.netloc
    return type("SimulatorAccessTokenClient", (ClosingAccessTokenClient,),
                {"scheme": scheme, "host": host, "__doc__": f"LWA at {base_url}"})


def client_kwargs(base_url: str, credentials: SellerAccount | Mapping[str, str],
                  marketplace_id: str, *, sandbox: bool = False) -> dict[str, Any]:
    """Keyword arguments for any `sp_api.api` client, for one seller and marketplace.

    `credentials` is a seeded account or python-amazon-sp-api's credentials mapping
    (`lwa_app_id`, `lwa_client_secret`, `refresh_token`).
    """
    if os.environ.get("SP_API_DEFAULT_MARKETPLACE"):
        raise OverriddenByEnvironment("SP_API_DEFAULT_MARKETPLACE is set: python-amazon-sp-api "
                                      "would call Amazon instead of the simulator; unset it")
    if isinstance(credentials, SellerAccount):
        credentials = credentials.sp_api_credentials()
    return {
        "marketplace": SimulatorMarketplace.at(base_url, marketplace_id, sandbox=sandbox),
        "credentials": dict(credentials),
        "auth_token_client_class": token_client_class(base_url),
    }
