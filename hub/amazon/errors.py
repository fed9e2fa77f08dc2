"""The Amazon integration's errors: one branch of the hub's tree (``hub.errors``).

    HubError
    └── AmazonError            something about Amazon went wrong; ``account`` names the account
        ├── CredentialError    LWA refused the credentials, or SP-API answered 403: the account
        │                      is marked "error" with Amazon's message, the others carry on
        ├── ThrottledError     still 429 after every retry
        ├── AmazonApiError     any other SP-API error (Amazon's ``code`` and message), or the
        │                      network failed
        ├── ReportDataError    a report Amazon sent cannot be read: account, report id, line
        └── Stopped            the hub is shutting down; the job stops at a safe point

Missing or exposed secrets are ``hub.errors.ConfigError``. ``translate`` maps
python-amazon-sp-api's and httpx's exceptions into this tree; the gateway calls it once, at the
boundary, with ``raise ... from err``. Messages never contain secrets.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hub.errors import HubError

if TYPE_CHECKING:
    from sp_api.base import SellingApiException


class AmazonError(HubError):
    """Something about Amazon went wrong for ``account`` (None: not account-specific)."""

    def __init__(self, message: str, account: str | None = None, field: str | None = None) -> None:
        super().__init__(message, field)
        self.account = account


class CredentialError(AmazonError):
    """Amazon refused the account's credentials (bad, expired or revoked)."""


class ThrottledError(AmazonError):
    """Amazon kept answering 429 after every retry."""


class AmazonApiError(AmazonError):
    """Amazon answered with an error (``code`` is Amazon's), or could not be reached."""

    def __init__(self, message: str, account: str | None = None, code: str = "") -> None:
        super().__init__(message, account)
        self.code = code


class ReportDataError(AmazonError):
    """A report or document from Amazon that cannot be read, and where."""

    def __init__(self, message: str, account: str, report_id: str, line: int | None = None) -> None:
        where = f"account {account}, report {report_id}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {message}", account)
        self.report_id = report_id
        self.line = line
        self.reason = message


class Stopped(AmazonError):
    """The job was asked to stop (the hub is shutting down)."""


def _amazon_message(err: SellingApiException) -> tuple[str, str]:
    first = err.error[0] if isinstance(err.error, list) and err.error else {}
    code = str(first.get("code", "")) if isinstance(first, dict) else ""
    message = str(first.get("message", "")) if isinstance(first, dict) else str(err.error)
    return code, message


def translate(err: BaseException, account: str, operation: str) -> AmazonError | None:
    """``err`` from a call of ``operation`` for ``account`` as an AmazonError (None: not ours)."""
    # python-amazon-sp-api and httpx are imported here, not with the module: the hub's API
    # imports these errors, and only the gateway (which has imported both) raises theirs
    import httpx
    from sp_api.auth.exceptions import AuthorizationError
    from sp_api.base import (
        SellingApiException,
        SellingApiForbiddenException,
        SellingApiRequestThrottledException,
    )

    if isinstance(err, AmazonError):
        return err
    if isinstance(err, AuthorizationError):
        return CredentialError(
            f"Amazon refused the credentials of account {account}: {err.error_code}: {err.message}",
            account,
        )
    if isinstance(err, SellingApiException):
        code, message = _amazon_message(err)
        said = f"{operation} for account {account}: {code}: {message}"
        if isinstance(err, SellingApiForbiddenException):
            return CredentialError(said, account)
        if isinstance(err, SellingApiRequestThrottledException):
            return ThrottledError(said, account)
        return AmazonApiError(said, account, code)
    if isinstance(err, json.JSONDecodeError):
        return AmazonApiError(
            f"{operation} for account {account}: unreadable answer: {err}", account, "Unreadable"
        )
    if isinstance(err, httpx.HTTPError):
        return AmazonApiError(
            f"{operation} for account {account}: network: {type(err).__name__}: {err}",
            account,
            "Network",
        )
    return None
