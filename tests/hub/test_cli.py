"""``acorn-hub`` commands: tokens, audit verify (with a tampered row), expected returns, devices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from hub.access.tokens import token_hash
from hub.cli.main import app
from hub.storage.engine import reading, writing
from hub.storage.tables.core import api_tokens, audit_head, audit_log, commands, nodes
from protocol import TopicKind, node_topic
from tests.hub.helpers import ingest, received, refund
from tests.support.broker import MqttCreds, Probe, TestBroker

ROOT = Path(__file__).resolve().parents[2]


def run(db_url: str, *args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"ACORN_HUB_DATABASE_URL": db_url, **env})
    return result.exit_code, result.stdout, result.stderr


def test_token_create_prints_the_token_once_and_stores_only_its_hash(engine: Engine,
                                                                      db_url: str) -> None:
    code, out, err = run(db_url, "token", "create", "--name", "alice", "--role", "finance")
    assert code == 0 and "not shown again" in err
    token = out.strip()
    assert token.startswith("acorn_")
    with reading(engine) as conn:
        row = conn.execute(select(api_tokens)).one()
    assert (row.name, row.role, row.token_hash) == ("alice", "finance", token_hash(token))
    assert token not in str(tuple(row))


def test_audit_verify_names_the_first_tampered_entry(engine: Engine, db_url: str) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"),
           received("s1", "n1", 3, "R2"))
    code, out, _ = run(db_url, "audit", "verify")
    assert (code, out.strip()) == (0, "audit chain intact: 5 entries")  # + policy seeded

    with writing(engine) as tx:  # someone edits history directly in the database
        tx.conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(
            after={"state": "approved", "amount": {"amount": "9999.00", "currency": "USD"}}))
    code, _, err = run(db_url, "audit", "verify")
    assert code == 1
    assert "BROKEN at entry 3" in err and "altered" in err and "2 entries before it" in err


def test_audit_verify_detects_entries_removed_from_the_end(engine: Engine, db_url: str) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"))
    with writing(engine) as tx:
        tx.conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    code, _, err = run(db_url, "audit", "verify")
    assert code == 1 and "entry 2" in err and "removed" in err


def test_audit_verify_refuses_an_empty_chain_where_the_hub_has_data(engine: Engine,
                                                                     db_url: str) -> None:
    ingest(engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"))
    with writing(engine) as tx:  # the whole chain and its tip wiped: nothing left to walk
        tx.conn.execute(audit_log.delete())
        tx.conn.execute(audit_head.delete())
    code, out, err = run(db_url, "audit", "verify")
    assert code == 1 and "intact" not in out
    assert "EMPTY" in err and "1 returns and 1 refunds" in err and "ACORN_HUB_DATABASE_URL" in err


def test_audit_verify_accepts_an_empty_chain_on_an_empty_hub(engine: Engine, db_url: str) -> None:
    with writing(engine) as tx:  # a fresh hub before the policy seed: nothing to audit yet
        tx.conn.execute(audit_log.delete())
        tx.conn.execute(audit_head.delete())
    code, out, _ = run(db_url, "audit", "verify")
    assert (code, out.strip()) == (0, "audit chain intact: 0 entries")


def test_returns_expect_queues_a_command_for_the_node(engine: Engine, db_url: str) -> None:
    code, out, _ = run(db_url, "returns", "expect", "--store", "s1", "--node", "n1", "--rma",
                       "RMA-1", "--order", "111-222", "--sku", "SKU-9", "--price", "19.99",
                       "--currency", "EUR")
    assert code == 0
    with reading(engine) as conn:
        cmd = conn.execute(select(commands)).one()
        node = conn.execute(select(nodes)).one()
    assert (cmd.command_id, cmd.kind, cmd.seq) == (out.strip(), "return.expected", 1)
    assert cmd.body["items"][0]["unit_price"] == {"amount": "19.99", "currency": "EUR"}
    assert (node.store_id, node.node_id, node.command_seq) == ("s1", "n1", 1)


def test_devices_add_provisions_credentials_that_work_only_for_that_node(
        broker: TestBroker, engine: Engine, db_url: str) -> None:
    admin = broker.admin_creds()
    env = {"ACORN_HUB_MQTT_HOST": admin.host, "ACORN_HUB_MQTT_PORT": str(admin.port),
           "ACORN_HUB_BROKER_ADMIN_USERNAME": admin.username,
           "ACORN_HUB_BROKER_ADMIN_PASSWORD": admin.password}
    code, out, _ = run(db_url, "devices", "add", "store-x", "n7", **env)
    assert code == 0, out
    lines = dict(line.split("=", 1) for line in out.strip().splitlines())
    assert lines["ACORN_EDGE_STORE_ID"] == "store-x" and lines["ACORN_EDGE_NODE_ID"] == "n7"
    assert lines["ACORN_EDGE_MQTT_USERNAME"] == "edge.store-x.n7"
    # the node's client id is its user name (the broker refuses any other)
    probe = Probe(MqttCreds(admin.host, admin.port, lines["ACORN_EDGE_MQTT_USERNAME"],
                            lines["ACORN_EDGE_MQTT_PASSWORD"], lines["ACORN_EDGE_MQTT_USERNAME"]))
    try:
        assert not probe.connect_reason.is_failure
        assert probe.subscribe(node_topic("store-x", "n7", TopicKind.COMMANDS))[0].value < 128
        assert probe.subscribe(node_topic("store-y", "n7", TopicKind.COMMANDS))[0].value >= 128
    finally:
        probe.close()
    with reading(engine) as conn:
        assert conn.execute(select(nodes.c.store_id, nodes.c.node_id)).all() == [("store-x",
                                                                                  "n7")]
    code, _, _ = run(db_url, "devices", "add", "Bad Store", "n1", **env)
    assert code != 0

    code, out, _ = run(db_url, "devices", "add-hub", **env)
    hub_lines = dict(line.split("=", 1) for line in out.strip().splitlines())
    hub = Probe(MqttCreds(admin.host, admin.port, hub_lines["ACORN_HUB_MQTT_USERNAME"],
                          hub_lines["ACORN_HUB_MQTT_PASSWORD"],
                          hub_lines["ACORN_HUB_MQTT_CLIENT_ID"]))
    try:
        assert hub.subscribe("acorn/v1/stores/+/nodes/+/events")[0].value < 128
    finally:
        hub.close()
    code, out, _ = run(db_url, "devices", "disable", "store-x", "n7", **env)
    assert (code, out.strip()) == (0, "edge.store-x.n7 disabled")


def _admin_env(broker: TestBroker) -> dict[str, str]:
    admin = broker.admin_creds()
    return {"ACORN_HUB_MQTT_HOST": admin.host, "ACORN_HUB_MQTT_PORT": str(admin.port),
            "ACORN_HUB_BROKER_ADMIN_USERNAME": admin.username,
            "ACORN_HUB_BROKER_ADMIN_PASSWORD": admin.password}


def _connects(broker: TestBroker, username: str, password: str) -> bool:
    admin = broker.admin_creds()
    probe = Probe(MqttCreds(admin.host, admin.port, username, password, username))
    try:
        return not probe.connect_reason.is_failure
    finally:
        probe.close()


def test_devices_add_takes_the_password_from_a_file_or_a_hidden_prompt_never_an_argument(
        broker: TestBroker, engine: Engine, db_url: str, tmp_path: Path) -> None:
    env = _admin_env(broker)
    code, out, err = run(db_url, "devices", "add", "store-x", "n1", "--password", "pw", **env)
    assert code == 2 and "No such option" in err  # the secret is not an argument any more

    secret = tmp_path / "node.secret"
    secret.write_text("file secret 1\n")
    code, out, _ = run(db_url, "devices", "add", "store-x", "n1", "--password-file", str(secret),
                       **env)
    assert code == 0, out
    assert "ACORN_EDGE_MQTT_PASSWORD=file secret 1" in out
    assert _connects(broker, "edge.store-x.n1", "file secret 1")

    result = CliRunner().invoke(app, ["devices", "add", "store-x", "n2", "--ask-password"],
                                input="typed secret 2\ntyped secret 2\n",
                                env={"ACORN_HUB_DATABASE_URL": db_url, **env})
    assert result.exit_code == 0, result.output
    assert "typed secret 2" not in result.stderr.split("ACORN_EDGE")[0]  # the prompt hides it
    assert _connects(broker, "edge.store-x.n2", "typed secret 2")

    both = CliRunner().invoke(app, ["devices", "add", "store-x", "n3", "--password-file",
                                    str(secret), "--ask-password"],
                              env={"ACORN_HUB_DATABASE_URL": db_url, **env})
    assert both.exit_code == 1 and "not both" in str(both.exception)  # main() prints it


def test_devices_list_shows_nodes_of_the_hub_and_the_broker_with_client_ids(
        broker: TestBroker, engine: Engine, db_url: str) -> None:
    env = _admin_env(broker)
    assert run(db_url, "devices", "add", "store-x", "n7", **env)[0] == 0
    assert run(db_url, "devices", "disable", "store-x", "n7", **env)[0] == 0
    ingest(engine, received("s1", "n1", 1, "R1"))  # a node the hub heard of, not on this broker
    code, out, err = run(db_url, "devices", "list", **env)
    assert code == 0, err
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert rows[0] == ["store", "node", "broker user", "client id", "broker", "hub",
                       "certificate", "expires", "revoked"]
    # password nodes: no certificate (certificate nodes: tests/fleet/test_renewal.py)
    assert ["s1", "n1", "edge.s1.n1", "-", "not on the broker", "offline", "-", "-",
            "active"] in rows
    assert ["store-x", "n7", "edge.store-x.n7", "edge.store-x.n7", "disabled", "offline", "-",
            "-", "active"] in rows

    code, out, err = run(db_url, "devices", "list")  # no broker admin: the hub's side, said so
    assert code == 0 and "ACORN_HUB_BROKER_ADMIN_PASSWORD is not set" in err
    assert "s1\tn1\tedge.s1.n1\t-\tnot asked\toffline" in out


def test_devices_bind_ids_binds_clients_made_before_bindings_and_keeps_passwords(
        broker: TestBroker, engine: Engine, db_url: str) -> None:
    """Promise: upgrading a broker binds every node to its own client id without new passwords."""
    admin = broker.admin_creds()
    env = {"ACORN_HUB_MQTT_HOST": admin.host, "ACORN_HUB_MQTT_PORT": str(admin.port),
           "ACORN_HUB_BROKER_ADMIN_USERNAME": admin.username,
           "ACORN_HUB_BROKER_ADMIN_PASSWORD": admin.password}
    node = broker.node_creds("store-x", "n7")
    with broker.local.admin() as dynsec:  # as a broker provisioned before bindings had it
        dynsec.run([{"command": "modifyClient", "username": node.username, "clientid": ""}])
    code, out, _ = run(db_url, "devices", "bind-ids", **env)
    assert code == 0, out
    assert "edge.store-x.n7 bound to its client id" in out
    assert run(db_url, "devices", "bind-ids", **env)[1].strip() == "0 broker users changed"
    wrong = Probe(node, client_id="probe-elsewhere", expect_refusal=True)
    wrong.close()
    assert wrong.refused
    right = Probe(node)
    right.close()
    assert not right.refused
    with reading(engine) as conn:
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert "device.bound" in actions


def test_errors_are_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "ACORN_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    env.pop("ACORN_HUB_DEBUG", None)
    for args, needle in [
        (["token", "create", "--name", "x", "--role", "wizard"], "unknown role 'wizard'"),
        (["devices", "add", "s1", "n1"], "ACORN_HUB_BROKER_ADMIN_PASSWORD is not set"),
        (["returns", "expect", "--store", "s1", "--node", "n1", "--rma", "R", "--order", "O",
          "--sku", "S", "--price", "1.999"], "3 decimal places"),
    ]:
        done = subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 1, done
        assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [[], ["serve"], ["token"], ["token", "create"], ["audit"],
                                  ["devices"], ["returns", "expect"], ["db"]])
def test_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout
