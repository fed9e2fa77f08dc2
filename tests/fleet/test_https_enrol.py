"""Enrolment over HTTPS pinned to the fleet CA, and finding the hub over mDNS, against a real
``acorn-hub serve --https`` that announces itself on loopback.

- a wrong fingerprint is refused before the code is sent (the same code then enrols);
- the right one enrols without the system's trust store;
- a plain http:// hub needs --insecure-http;
- zeroconf: the real hub's announcement (next to a decoy of another fleet) is found and chosen by
  its CA; with no hub of that CA the technician is told to give --hub; several are listed.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography import x509

from edge_agent.enrolment import EnrolmentError, find_hub, renew
from edge_agent.enrolment.discovery import SeenHub, choose
from edge_agent.settings import load_settings
from tests.fleet.https_hub import HttpsHub, https_hub  # noqa: F401  (fixture)
from tests.fleet.test_journey import plain_env, run
from tests.support.mdns import decoy_hub
from tests.support.procs import BIN

LOOPBACK = ["127.0.0.1"]


def code_for(hub: HttpsHub) -> str:
    out = run([str(BIN / "acorn-hub"), "devices", "enrol", "store-t", "--hub-url", hub.url,
               "--no-qr"], hub.proc.env).stdout
    assert f"acorn-edge enrol --hub {hub.url} --store store-t" in out  # no --insecure-http
    return out.split("enrolment code for store store-t: ")[1].split()[0]


def test_a_wrong_pin_is_refused_before_the_code_is_sent_and_the_right_one_enrols(
    https_hub: HttpsHub, tmp_path: Path,  # noqa: F811
) -> None:
    machine = tmp_path / "store-pc"
    machine.mkdir()
    code = code_for(https_hub)
    edge = [str(BIN / "acorn-edge"), "enrol", "--hub", https_hub.url]
    wrong = run([*edge, "--ca-fingerprint", secrets.token_hex(32), code], plain_env(),
                cwd=machine, ok=False)
    assert "not the hub the code is for; nothing was sent" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    unpinned = run([*edge, code], plain_env(), cwd=machine, ok=False)
    assert "--ca-fingerprint" in unpinned.stderr
    plain = run([str(BIN / "acorn-edge"), "enrol", "--hub",
                 https_hub.url.replace("https:", "http:"), code], plain_env(), cwd=machine,
                ok=False)
    assert "--insecure-http" in plain.stderr
    assert not (machine / "var").exists() and not (machine / ".env").exists()

    # the same code still works: nothing reached the hub
    done = run([*edge, "--ca-fingerprint", https_hub.fingerprint.upper(), code], plain_env(),
               cwd=machine)
    assert "enrolled as store store-t node counter-1" in done.stdout
    settings = (machine / ".env").read_text()
    assert f'ACORN_EDGE_HUB_URL="{https_hub.url}"' in settings
    # renewal goes to the same https hub, verified by the CA file the node keeps
    node = load_settings(machine / ".env")
    assert node.mqtt_tls_cert_file is not None
    before = x509.load_pem_x509_certificate(node.mqtt_tls_cert_file.read_bytes())
    renewed = renew(node)
    assert renewed.serial_number != before.serial_number


def test_zeroconf_finds_the_one_hub_of_the_fleet_and_says_when_there_is_none(
    https_hub: HttpsHub,  # noqa: F811
) -> None:
    with decoy_hub():  # another hub on the same network, of no fleet of ours
        assert find_hub(https_hub.fingerprint, timeout=3, interfaces=LOOPBACK) == https_hub.url
        with pytest.raises(EnrolmentError, match=r"no ACORN hub with fleet CA .* --hub URL"):
            find_hub(secrets.token_hex(32), timeout=2, interfaces=LOOPBACK)


def test_several_candidates_are_listed_and_none_is_guessed() -> None:
    ours = "ab" * 32
    seen = [SeenHub("hub-a", "https://10.0.0.1:8080", ours[:16]),
            SeenHub("hub-b", "https://10.0.0.2:8080", ours[:16]),
            SeenHub("other", "https://10.0.0.3:8080", "cd" * 8)]
    with pytest.raises(EnrolmentError) as several:
        choose(seen, ours)
    assert "2 ACORN hubs" in str(several.value) and "10.0.0.2" in str(several.value)
    assert "10.0.0.3" not in str(several.value) and "--hub URL" in str(several.value)
    assert choose(seen, "cd" * 32) == "https://10.0.0.3:8080"  # the one of that fleet
    assert choose(seen[2:], None) == "https://10.0.0.3:8080"
    with pytest.raises(EnrolmentError, match="no ACORN hub announces itself"):
        choose([], None)
