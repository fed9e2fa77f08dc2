"""LWA credentials of the seller accounts: from the environment or a secrets file, never stored.

Rules:
- for account ``NAME`` (upper-cased, anything but A-Z 0-9 becomes ``_``) each value is looked up
  in ``ACORN_HUB_AMAZON_<NAME>_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_REFRESH_TOKEN``, then in the
  secrets file, then (client id and secret only: one LWA app usually serves every seller) in
  ``ACORN_HUB_AMAZON_CLIENT_ID`` / ``ACORN_HUB_AMAZON_CLIENT_SECRET``;
- the secrets file is YAML or JSON and must not be readable by group or others (mode 0600 or
  stricter), else it is refused; it maps account names to ``client_id``, ``client_secret``,
  ``refresh_token``, or is the simulator's credentials file (``{"accounts": [{"seller_id",
  "lwa_app_id", "lwa_client_secret", "refresh_token"}, ...]}``, matched by seller id);
- secrets never appear in ``repr``, logs, errors or the API; the database holds none.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from hub.errors import ConfigError

PREFIX = "ACORN_HUB_AMAZON_"
ALIASES = {
    "client_id": ("client_id", "lwa_app_id"),
    "client_secret": ("client_secret", "lwa_client_secret"),
    "refresh_token": ("refresh_token",),
}


@dataclass(frozen=True, slots=True)
class Credentials:
    """One account's LWA credentials; only the client id shows in ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def sp_api(self) -> dict[str, str]:
        """The mapping python-amazon-sp-api takes as ``credentials=``."""
        return {
            "lwa_app_id": self.client_id,
            "lwa_client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


def env_name(account: str, key: str) -> str:
    """The environment variable holding ``key`` (``REFRESH_TOKEN`` ...) for ``account``."""
    return f"{PREFIX}{re.sub(r'[^A-Z0-9]', '_', account.upper())}_{key.upper()}"


class SecretSource:
    """Looks credentials up; the secrets file is read (and its mode checked) once."""

    def __init__(
        self, environ: Mapping[str, str] | None = None, secrets_file: Path | None = None
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._path = secrets_file
        self._file: dict[str, Any] | None = None

    def credentials(self, account: str, seller_id: str) -> Credentials:
        """The account's credentials; ConfigError naming what is missing (never a value)."""
        entry = self._file_entry(account, seller_id)
        found = {key: self._lookup(account, key, entry) for key in ALIASES}
        missing = [key for key, value in found.items() if not value]
        if missing:
            names = ", ".join(env_name(account, key) for key in missing)
            where = f" or in {self._path}" if self._path else ""
            raise ConfigError(
                f"account {account}: no {', '.join(missing)}: set {names}{where}",
                field="credentials",
            )
        return Credentials(found["client_id"], found["client_secret"], found["refresh_token"])

    def configured(self, account: str, seller_id: str) -> bool:
        """Whether all three secrets can be found (says nothing about their values)."""
        try:
            self.credentials(account, seller_id)
        except ConfigError:
            return False
        return True

    def _lookup(self, account: str, key: str, entry: Mapping[str, Any]) -> str:
        value = self._environ.get(env_name(account, key), "")
        value = value or next((str(entry[a]) for a in ALIASES[key] if entry.get(a)), "")
        if not value and key != "refresh_token":
            value = self._environ.get(f"{PREFIX}{key.upper()}", "")
        return value.strip()

    def _file_entry(self, account: str, seller_id: str) -> Mapping[str, Any]:
        document = self._document()
        accounts = document.get("accounts", document)
        if isinstance(accounts, list):
            return next(
                (
                    a
                    for a in accounts
                    if isinstance(a, dict)
                    and (a.get("seller_id") == seller_id or a.get("name") == account)
                ),
                {},
            )
        entry = accounts.get(account, {}) if isinstance(accounts, dict) else {}
        return entry if isinstance(entry, dict) else {}

    def _document(self) -> dict[str, Any]:
        if self._file is None:
            self._file = read_secrets_file(self._path) if self._path else {}
        return self._file


def read_secrets_file(path: Path) -> dict[str, Any]:
    """The secrets document; ConfigError if it is missing, unreadable or too open."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"secrets file {path} is accessible to others (mode "
                f"{stat.S_IMODE(mode):o}); chmod 600 it",
                field="secrets_file",
            )
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"secrets file {path}: {err.strerror}", field="secrets_file") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"secrets file {path} is not YAML or JSON", field="secrets_file") from err
    if not isinstance(document, dict):
        raise ConfigError(f"secrets file {path} must hold a mapping", field="secrets_file")
    return document
