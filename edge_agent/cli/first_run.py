"""``acorn-edge run`` on a machine that has not joined the fleet: pair it first, then run.

Rules ("no identity", decided here and nowhere else): the settings (environment, ``--config``
dotenv file or ``./.env``) name no store id, no node id, no broker password and no certificate,
and the data folder holds no ``identity/node.pem``. Only then does ``run`` serve the setup page
and pair (``edge_agent.cli.pair.pair_here``) instead of failing: an agent configured the old
ways (a password identity, or a store and node without a broker) always has a store id, so it
runs, or fails with the same message, as before. A TOML ``--config`` is never paired into
(the identity is written as dotenv lines): it keeps the old message. A dotenv ``--config`` that
does not exist yet in a folder that does (the systemd unit's ``/var/lib/acorn/edge.env`` on a
fresh install) is a machine with nothing written yet: it is paired, and the file written.

The hub is ``ACORN_EDGE_HUB_URL`` (the same setting renewal uses later) or, unset, the one hub
of the fleet announcing itself over zeroconf; an ``https://`` hub is pinned by
``ACORN_EDGE_HUB_CA_FINGERPRINT``; a plain ``http://`` one needs
``ACORN_EDGE_HUB_INSECURE_HTTP=true``. The identity goes into ``DATA_DIR/identity`` (default
``var/edge``), the settings into the ``--config`` file, else ``./.env``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from edge_agent.enrolment.client import CERT_FILE
from edge_agent.settings import ENV_PREFIX

DEFAULT_DATA_DIR = Path("var/edge")
DEFAULT_SETTINGS_FILE = Path(".env")


class FirstRun(BaseSettings):
    """The few settings that say whether this machine has an identity, and how to pair it."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True,
                                      env_file=".env", env_file_encoding="utf-8")

    store_id: str = ""
    node_id: str = ""
    mqtt_password: str = ""
    mqtt_tls_cert_file: str = ""
    data_dir: Path | None = None
    hub_url: str = ""
    hub_ca_fingerprint: str = ""
    hub_insecure_http: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = 8081
    printer_url: str = ""
    printer_paper: str = "80mm"

    @property
    def identity_folder(self) -> Path:
        """Where pairing writes this node's key and certificate."""
        return (self.data_dir or DEFAULT_DATA_DIR) / "identity"

    def has_identity(self) -> bool:
        """True when any setting or file says this machine already is (or was) a node."""
        named = (self.store_id, self.node_id, self.mqtt_password, self.mqtt_tls_cert_file)
        return any(value.strip() for value in named) or \
            (self.identity_folder / CERT_FILE).exists()


def needs_pairing(config: Path | None) -> FirstRun | None:
    """The first-run settings when this machine has no identity, else None (run as before)."""
    if config is not None and (config.suffix == ".toml" or not (
            config.is_file() or (not config.exists() and config.parent.is_dir()))):
        return None
    try:
        found = FirstRun(_env_file=config) if config is not None else FirstRun()
    except ValidationError:
        return None  # a malformed setting: the agent's own settings say which, as before
    return None if found.has_identity() else found


def settings_file_for(config: Path | None) -> Path:
    """The dotenv file pairing writes the node's settings to (``run`` then reads it)."""
    return config if config is not None else DEFAULT_SETTINGS_FILE
