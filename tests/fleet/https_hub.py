"""A real ``acorn-hub serve`` over HTTPS with a certificate from ``acorn-hub fleet server-cert``,
enrolling onto the fleet's broker and announcing itself on loopback over mDNS (a unique name, so
a test finds its own hub among any other)."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub.fleet import pki
from tests.fleet.conftest import Fleet
from tests.fleet.test_journey import run
from tests.support.http_calls import http_get
from tests.support.mdns import unique
from tests.support.procs import BIN, Proc, hub_proc, wait_for


@dataclass
class HttpsHub:
    """The running hub, its HTTPS URL and the fleet CA's fingerprint."""

    proc: Proc
    url: str
    fingerprint: str
    ca_file: Path

    def healthy(self) -> bool:
        """True once the hub answers over TLS verified by the fleet CA."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            return http_get(f"{self.url}/api/health", verify=context, timeout=2).status_code \
                == 200
        except httpx.HTTPError:
            return False


@pytest.fixture
def https_hub(fleet: Fleet, tmp_path: Path) -> Iterator[HttpsHub]:
    """The hub, a described store ``store-t``; stopped after the test."""
    extra = {k: str(v) for k, v in fleet.hub_extra().items() if k not in {"mqtt_host",
                                                                          "mqtt_port"}}
    extra |= {"advertise": "true", "advertise_name": unique("pairing-hub"),
              "advertise_interfaces": json.dumps(["127.0.0.1"])}
    proc = hub_proc(tmp_path, fleet.broker.hub_creds(), **extra)
    lines = run([str(BIN / "acorn-hub"), "fleet", "server-cert", str(tmp_path / "hub-tls"),
                 "--host", "127.0.0.1", "--host", "localhost"], proc.env).stdout
    for name in ("ACORN_HUB_HTTPS_CERT_FILE", "ACORN_HUB_HTTPS_KEY_FILE"):
        found = re.search(rf"^{name}=(.+)$", lines, re.MULTILINE)
        assert found, lines
        proc.env[name] = found.group(1)
    assert fleet.ca.fingerprint in lines
    hub = HttpsHub(proc, f"https://127.0.0.1:{proc.port}", fleet.ca.fingerprint,
                   fleet.fleet_dir / pki.CA_CERT_FILE)
    try:
        proc.start(wait=False)
        wait_for(hub.healthy, 30, "the hub over HTTPS")
        run([str(BIN / "acorn-hub"), "stores", "set", "store-t", "--name", "Test store",
             "--currency", "EUR", "--time-zone", "Europe/Berlin"], proc.env)
        yield hub
    finally:
        proc.stop()
