"""The agent renews its certificate by itself, and a technician revokes it, on real processes:
``acorn-hub serve`` issuing certificates of a few seconds, ``acorn-edge run`` enrolled with a
code, a real Mosquitto with the mutual-TLS listener; ``acorn-hub devices list|revoke|rotate``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509

from edge_agent.enrolment import renew_at
from protocol import utc_now
from tests.fleet.conftest import Fleet
from tests.fleet.test_journey import new_code, plain_env, run
from tests.support.ports import free_port
from tests.support.procs import BIN, Proc, health_of, hub_proc, wait_for

LIFETIME_DAYS = 0.00012  # about 10 s: the agent renews about 7 s after each certificate
LOGIN = " as edge.store-t.counter-1 "


@pytest.fixture
def hub(fleet: Fleet, tmp_path: Path) -> Iterator[Proc]:
    """``acorn-hub serve`` issuing certificates of about 10 seconds; store ``store-t``."""
    extra = {k: str(v) for k, v in fleet.hub_extra().items() if k not in {"mqtt_host",
                                                                          "mqtt_port"}}
    proc = hub_proc(tmp_path, fleet.broker.hub_creds(), **extra,
                    fleet_cert_days=str(LIFETIME_DAYS))
    try:
        proc.start(wait=False)
        wait_for(lambda: health_of(proc), 30, "the hub answering", interval=0.05)
        run([str(BIN / "acorn-hub"), "stores", "set", "store-t", "--name", "Test store"],
            proc.env)
        yield proc
    finally:
        proc.stop()


def certificate(identity: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((identity / "node.pem").read_bytes())


def renewals(tmp: Path) -> list[datetime]:
    """When the hub audited ``device.renewed``, oldest first."""
    engine = sa.create_engine(f"sqlite:///{tmp / 'hub.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT at FROM audit_log WHERE action = "
                                        "'device.renewed' ORDER BY seq")).all()
    finally:
        engine.dispose()
    stamps = [datetime.fromisoformat(str(r.at)) for r in rows]
    return [t if t.tzinfo else t.replace(tzinfo=UTC) for t in stamps]


def logins(fleet: Fleet) -> int:
    return (fleet.broker.local.state_dir / "mosquitto.log").read_text().count(LOGIN)


def test_the_agent_renews_after_two_thirds_of_the_life_reconnects_with_it_and_a_revoked_one_is_cut_off(  # noqa: E501
    hub: Proc, fleet: Fleet, tmp_path: Path,
) -> None:
    machine = tmp_path / "store-pc"
    machine.mkdir()
    _, link = new_code(hub)
    run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", link], plain_env(), cwd=machine)
    assert f'ACORN_EDGE_HUB_URL="{hub.url}"' in (machine / ".env").read_text()
    identity = machine / "var" / "edge" / "identity"
    first = certificate(identity)
    key_before = (identity / "node.key").read_bytes()

    port = free_port()
    in_folder = f"cd '{machine}' && exec '{BIN}/acorn-edge' run"
    edge = Proc("edge-renewing", ["/bin/sh", "-c", in_folder],
                plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port),
                               "ACORN_EDGE_CERT_RENEW_RETRY_SECONDS": "1"},
                port, tmp_path / "edge.log")
    try:
        edge.start(wait=False)
        wait_for(lambda: (h := health_of(edge)) and h["broker_connected"], 30,
                 "the enrolled agent connected")
        second = wait_for(lambda: (c := certificate(identity)).serial_number !=
                          first.serial_number and c, 30, "a renewed certificate on disk")
        [renewed_at, *_] = renewals(tmp_path)
        # renewed by the agent itself, two thirds into the first certificate's life, before its end
        assert renew_at(first) <= renewed_at < first.not_valid_after_utc, (
            renewed_at, renew_at(first), first.not_valid_after_utc)
        assert second.public_key() == first.public_key()  # the same key, never rewritten
        assert (identity / "node.key").read_bytes() == key_before
        assert not list(identity.glob(".*.new"))  # the atomic write left nothing behind
        # the first certificate expires; a login after that can only be with a renewed one, and
        # the link logs in again with each renewal
        wait_for(lambda: utc_now() > first.not_valid_after_utc, 30, "the first certificate "
                 "expired")
        seen = logins(fleet)
        wait_for(lambda: logins(fleet) > seen, 30, "a login after the first certificate expired")
        wait_for(lambda: (h := health_of(edge)) and h["broker_connected"], 10,
                 "the agent connected")
        assert "certificate renewed" in edge.log_path.read_text()

        listed = run([str(BIN / "acorn-hub"), "devices", "list"], hub.env).stdout
        row = next(line for line in listed.splitlines() if line.startswith("store-t\tcounter-1"))
        assert row.endswith("\tactive") and re.search(r"\t[0-9a-f]{16,40}\t", row), row

        # the broker drops the revoked agent (the link logs it; a renewal's reconnect does not).
        # Not read from /api/health: its certificate still logs in, so the agent may be connected
        # again (without rights) a second later, before a loaded machine's first poll.
        lost = edge.log_path.read_text().count("MQTT link lost")
        revoked = run([str(BIN / "acorn-hub"), "devices", "revoke", "store-t", "counter-1",
                       "--reason", "machine stolen"], hub.env).stdout
        assert "store-t/counter-1 revoked" in revoked
        wait_for(lambda: edge.log_path.read_text().count("MQTT link lost") > lost, 30,
                 "the revoked agent cut off")
        wait_for(lambda: "refused the renewal (403)" in edge.log_path.read_text(), 30,
                 "the revoked agent's renewal refused")
    finally:
        edge.stop()
    listed = run([str(BIN / "acorn-hub"), "devices", "list"], hub.env).stdout
    assert re.search(r"store-t\tcounter-1\t.*\trevoked \d{4}-", listed), listed
    rotate = run([str(BIN / "acorn-hub"), "devices", "rotate", "store-t", "counter-1"], hub.env,
                 ok=False)
    assert "revoked" in rotate.stderr and "Traceback" not in rotate.stderr
    missing = run([str(BIN / "acorn-hub"), "devices", "revoke", "store-t", "counter-1"], hub.env,
                  ok=False)
    assert "--reason" in missing.stderr

