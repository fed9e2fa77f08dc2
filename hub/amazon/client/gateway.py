"""The one door to SP-API: python-amazon-sp-api clients behind the limiter, retries and errors.

Rules:
- every request goes through ``SpApi.call(operation, marketplace_id, request)``: a token from
  the (account, operation) bucket first, then the library call, then errors translated once
  (``hub.amazon.errors.translate``);
- a 429 empties our bucket (Amazon's is evidently emptier) and retries after an exponential
  backoff in units of the rate Amazon states in ``x-amzn-RateLimit-Limit``, then the next
  token; 500/503/504 and network failures retry a few times too;
- the endpoint is Amazon's regional one, or the account's override (a simulator), in which case
  the LWA token endpoint is the override as well; Orders is version ``2026-01-01``;
- Finances amounts are JSON numbers: they are parsed as ``Decimal``, never as floats;
- one ``SpApi`` per thread (the library's clients keep per-request state), closed after use;
- waits are interruptible: when ``stop`` is set, the next wait raises ``Stopped``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from sp_api.api import Feeds, ListingsItems, Orders, Reports, SupplySources
from sp_api.api.finances.finances_v0 import FinancesV0
from sp_api.base import (
    ApiResponse,
    Marketplaces,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)
from sp_api.base.exceptions import SellingApiGatewayTimeoutException

from hub.amazon.accounts import Account
from hub.amazon.client.endpoint import EndpointMarketplace, token_client_class
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.errors import AmazonError, Stopped, translate
from hub.amazon.marketplaces import LWA_URL
from hub.amazon.secrets import Credentials
from hub.amazon.settings import AmazonSettings

API_OF = {
    "searchOrders": "orders",
    "getOrder": "orders",
    "confirmShipment": "orders-v0",
    "createReport": "reports",
    "getReport": "reports",
    "getReports": "reports",
    "getReportDocument": "reports",
    "createFeedDocument": "feeds",
    "createFeed": "feeds",
    "getFeed": "feeds",
    "getFeeds": "feeds",
    "getFeedDocument": "feeds",
    "listFinancialEvents": "finances",
    "getListingsItem": "listings",
    "patchListingsItem": "listings",
    "getSupplySources": "supply",
    "getSupplySource": "supply",
    "createSupplySource": "supply",
    "updateSupplySource": "supply",
    "updateSupplySourceStatus": "supply",
    "archiveSupplySource": "supply",
}
TRANSIENT = (
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
    SellingApiGatewayTimeoutException,
    httpx.TransportError,
)
TRANSIENT_RETRIES = 3
BACKOFF_CAP_SECONDS = 60.0


def backoff(attempt: int, interval: float, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """The wait before retry ``attempt`` (0 first): 1, 2, 4, 8 ... intervals, capped."""
    return min(cap, interval * (1 << attempt))


def amazon_interval(err: SellingApiRequestThrottledException, fallback: float) -> float:
    """Seconds per request by the ``x-amzn-RateLimit-Limit`` of a 429 (else ``fallback``)."""
    try:
        rate = float((err.headers or {}).get("x-amzn-RateLimit-Limit", ""))
    except ValueError:
        return fallback
    return 1.0 / rate if rate > 0 else fallback


class _DecimalJson:
    """An httpx response whose ``json()`` keeps numbers exact."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)

    def json(self) -> Any:
        return json.loads(self._response.content, parse_float=Decimal)


class DecimalFinances(FinancesV0):  # type: ignore[misc]
    """Finances v0 with amounts parsed as Decimal (the library would make them floats)."""

    def _check_response(self, res: httpx.Response, *args: Any, **kwargs: Any) -> ApiResponse:
        return super()._check_response(_DecimalJson(res), *args, **kwargs)


def _real_marketplace(marketplace_id: str) -> Any:
    return next(m for m in Marketplaces if m.marketplace_id == marketplace_id)


class SpApi:
    """SP-API for one account, used by one thread."""

    def __init__(
        self,
        account: Account,
        credentials: Credentials,
        limiter: Limiter,
        settings: AmazonSettings,
        stop: threading.Event | None = None,
    ) -> None:
        self.account = account
        self._credentials = credentials
        self._limiter = limiter
        self._settings = settings
        self._stop = stop or threading.Event()
        self._clients: dict[tuple[str, str], Any] = {}
        self.throttled = 0

    def __enter__(self) -> SpApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every client's connection pool."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def wait(self, seconds: float) -> None:
        """Sleep, unless asked to stop (then Stopped)."""
        if self._stop.wait(max(0.0, seconds)):
            raise Stopped(f"account {self.account.name}: stopping", self.account.name)

    def check_credentials(self) -> None:
        """Ask LWA for an access token (no SP-API quota used); CredentialError if refused."""
        client = self._client("reports", self.account.marketplace_ids[0])
        try:
            client.auth  # noqa: B018 - the property fetches (and caches) an access token
        except Exception as err:  # the library's errors, mapped once here
            raise self._mapped(err, "LWA") from err

    def call(
        self, operation: str, marketplace_id: str, request: Callable[[Any], ApiResponse]
    ) -> ApiResponse:
        """Run ``request(client)`` for ``operation`` within the rate limit, retrying 429s."""
        client = self._client(API_OF[operation], marketplace_id)
        interval = 1.0 / self._limiter.limit(operation).rate
        transient = 0
        for attempt in range(self._settings.max_retries + 1):
            try:
                return self._attempt(operation, client, request)
            except SellingApiRequestThrottledException as err:
                self.throttled += 1
                if attempt == self._settings.max_retries:
                    raise self._mapped(err, operation) from err
                self.wait(backoff(attempt, amazon_interval(err, interval)))
            except TRANSIENT as err:
                transient += 1
                if transient > TRANSIENT_RETRIES:
                    raise self._mapped(err, operation) from err
                self.wait(backoff(transient, interval, cap=10.0))
            except Exception as err:  # the library's errors, mapped once here
                raise self._mapped(err, operation) from err
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self, operation: str, client: Any, request: Callable[[Any], ApiResponse]
    ) -> ApiResponse:
        """One request within the rate limit; the limiter hears how it went."""
        ticket = self._limiter.acquire(self.account.name, operation, self.wait)
        try:
            return request(client)
        except SellingApiRequestThrottledException:
            self._limiter.throttled(self.account.name, operation)
            raise
        finally:
            self._limiter.answered(self.account.name, operation, ticket)

    def _mapped(self, err: Exception, operation: str) -> BaseException:
        mapped: AmazonError | None = translate(err, self.account.name, operation)
        return mapped if mapped is not None else err

    def _token_client_class(self) -> type[Any]:
        return token_client_class(self.account.endpoint or LWA_URL)

    def _client(self, api: str, marketplace_id: str) -> Any:
        key = (api, marketplace_id)
        if key not in self._clients:
            self._clients[key] = self._new_client(api, marketplace_id)
        return self._clients[key]

    def _new_client(self, api: str, marketplace_id: str) -> Any:
        endpoint = self.account.endpoint
        market = (
            EndpointMarketplace.at(endpoint, marketplace_id)
            if endpoint
            else _real_marketplace(marketplace_id)
        )
        kwargs = {
            "marketplace": market,
            "credentials": self._credentials.sp_api(),
            "auth_token_client_class": self._token_client_class(),
            "timeout": self._settings.http_timeout_seconds,
            # Plain http (a simulator on loopback) has no certificate to check; not loading the
            # CA bundle for each of the library's clients saves ~30 ms of CPU per client.
            "verify": not (endpoint or "https:").startswith("http:"),
        }
        if api == "orders":
            return Orders(version="2026-01-01", **kwargs)
        if api == "orders-v0":  # confirmShipment: the one v0 operation Amazon keeps
            return Orders(version="v0", **kwargs)
        if api == "reports":
            return Reports(**kwargs)
        if api == "feeds":
            return Feeds(**kwargs)
        if api == "listings":
            return ListingsItems(version="2021-08-01", **kwargs)
        if api == "supply":
            return SupplySources(**kwargs)
        return DecimalFinances(**kwargs)
