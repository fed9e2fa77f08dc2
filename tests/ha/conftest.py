"""Two independent private Mosquittos (A first, B second) sharing one dynsec admin password, and
identities given to both by the hub's own fan-out (``hub.fleet.dynsec.BrokerAdmins``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.fleet import pki
from hub.fleet.acl import HUB_CLIENT_ID, node_client_id
from hub.fleet.dynsec import BrokerAdmins
from hub.fleet.local_broker import LocalBroker, write_tls_files
from protocol import BrokerAddress, utc_now
from tests.hub.conftest import db_url, engine  # noqa: F401  (fixtures shared with the hub tests)
from tests.support.broker import MqttCreds
from tests.support.ports import free_port


@dataclass
class Brokers:
    """Broker A and broker B, and what a hub or node names them by."""

    a: LocalBroker
    b: LocalBroker
    admin_password: str

    @property
    def addresses(self) -> list[BrokerAddress]:
        return [BrokerAddress(self.a.host, self.a.port), BrokerAddress(self.b.host, self.b.port)]

    @property
    def setting(self) -> str:
        """The MQTT_BROKERS value: A first, then B."""
        return ",".join(str(address) for address in self.addresses)

    def admins(self, require_all: bool = False) -> BrokerAdmins:
        """The hub's admin fan-out over both."""
        return BrokerAdmins(self.addresses, self.a.admin_user, self.admin_password, require_all)

    def hub_creds(self) -> MqttCreds:
        """The hub's user on both brokers (one password); host and port are A's."""
        password = secrets.token_urlsafe(12)
        with self.admins(require_all=True) as admins:
            username = admins.provision_hub(password)
        return MqttCreds(self.a.host, self.a.port, username, password, HUB_CLIENT_ID)

    def node_creds(self, store_id: str, node_id: str) -> MqttCreds:
        """One node's user on both brokers (one password); host and port are A's."""
        password = secrets.token_urlsafe(12)
        with self.admins(require_all=True) as admins:
            username = admins.provision_node(store_id, node_id, password)
        return MqttCreds(self.a.host, self.a.port, username, password,
                         node_client_id(store_id, node_id))


    @property
    def tls_setting(self) -> str:
        """The nodes' MQTT_BROKERS value for the mutual-TLS listeners: A first, then B."""
        assert self.a.tls is not None and self.b.tls is not None
        return f"{self.a.host}:{self.a.tls.port},{self.b.host}:{self.b.tls.port}"


def running_brokers(tmp_path: Path, ca: pki.FleetCa | None = None) -> Iterator[Brokers]:
    """Broker A and broker B (each with a mutual-TLS listener trusting ``ca``, if given)."""
    secret = secrets.token_urlsafe(18)
    made: list[LocalBroker] = []
    try:
        for name in ("a", "b"):
            broker = LocalBroker(tmp_path / f"broker-{name}", port=free_port(),
                                 admin_password=secret)
            if ca is not None:
                broker.tls = write_tls_files(tmp_path / f"broker-{name}" / "tls", ca,
                                             ["127.0.0.1", "localhost"], free_port(), utc_now())
            broker.prepare()
            broker.start()
            made.append(broker)
        yield Brokers(made[0], made[1], secret)
    finally:
        for broker in made:
            broker.kill()


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[Brokers]:
    """Broker A and broker B running; both killed after the test."""
    yield from running_brokers(tmp_path)


@pytest.fixture
def fleet_ca(tmp_path: Path) -> pki.FleetCa:
    """One fleet CA for every broker's TLS listener and every node's certificate."""
    return pki.load_or_create_ca(tmp_path / "fleet", utc_now())[0]


@pytest.fixture
def tls_brokers(tmp_path: Path, fleet_ca: pki.FleetCa) -> Iterator[Brokers]:
    """Broker A and broker B, each with a mutual-TLS listener trusting the same fleet CA."""
    yield from running_brokers(tmp_path, fleet_ca)
