"""A fresh store machine, installed by ``deploy/install-edge.sh`` and started by its systemd unit,
pairs by itself: the unit starts with no identity, the agent shows a pairing code, a technician
approves it, and the same process goes on as the counter, connected over mutual TLS; restarted,
it runs from what it wrote. All of it under the unit's own sandbox rules.

This machine has no systemd (PID 1 is not systemd, so ``systemctl`` cannot run a unit) and must
not be changed by a test, so the "machine" is a private mount namespace: overlays on ``/etc``,
``/var``, ``/opt``, ``/usr/local`` and ``/root`` (their changes land in the test's folder), where
the real install script runs as root (its user, groups, folders, settings file, unit and
``acorn-store``; only the system packages and the virtualenv are skipped, and ``systemctl`` is a
stand-in that records its calls). The installed unit file is then carried out by ``run_unit``
below, which does what systemd does for the directives the unit uses: ``ConditionPathExists=``,
``EnvironmentFile=``, ``StateDirectory=`` and its mode, ``WorkingDirectory=``, ``User=``/
``Group=``/``SupplementaryGroups=``, ``UMask=``, ``PrivateTmp=``, ``ProtectSystem=strict`` with
``ReadWritePaths=`` (the whole file tree read-only but those), ``ExecStart=``. The unit's other
hardening (capabilities, system calls, namespaces) is not emulated; ``systemd-analyze verify``
checks its form in tests/deploy.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_agent.cli import first_run
from edge_agent.cli.enrol import next_step
from hub.access.permissions import Role
from hub.storage.engine import make_engine
from tests.fleet.conftest import Fleet
from tests.fleet.https_hub import HttpsHub, https_hub  # noqa: F401  (fixture)
from tests.fleet.test_codes import audited, bearer
from tests.fleet.test_https_enrol import code_for
from tests.fleet.test_journey import plain_env, run
from tests.support.http_calls import http_post
from tests.support.procs import BIN, Proc, answer_of, free_port, health_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
OVERLAID = {"etc": "/etc", "var": "/var", "opt": "/opt", "usrlocal": "/usr/local", "root": "/root"}
UNIT = "/etc/systemd/system/acorn-edge.service"

needs_namespaces = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setpriv") is None,
    reason="needs root, unshare and setpriv for a private mount namespace")


# -- the unit runner (runs inside the namespace, as root, then becomes the service) ------------

def unit_directives(text: str, wanted: str = "[Service]") -> dict[str, list[str]]:
    """One section's directives of a unit file, each name with its values in order."""
    found: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == wanted and "=" in line:
            name, value = line.split("=", 1)
            found.setdefault(name.strip(), []).append(value.strip())
    return found


def environment_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as systemd's EnvironmentFile= reads them (quotes removed)."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def run_unit(unit_path: str) -> None:
    """Start the unit's ExecStart as systemd would (see the module docstring); never returns."""
    text = Path(unit_path).read_text(encoding="utf-8")
    for needed in unit_directives(text, "[Unit]").get("ConditionPathExists", []):
        if Path(needed.lstrip("!")).exists() == needed.startswith("!"):
            sys.exit(f"condition failed: ConditionPathExists={needed}: the unit is not started")
    unit = unit_directives(text)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    for name in unit.get("EnvironmentFile", []):
        optional = name.startswith("-")
        path = Path(name.lstrip("-"))
        if path.exists() or not optional:
            env |= environment_file(path)
    user = pwd.getpwnam(unit["User"][-1])
    state = [Path("/var/lib") / name for name in unit.get("StateDirectory", [])]
    for folder in state:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(int(unit.get("StateDirectoryMode", ["0755"])[-1], 8))
    if unit.get("ProtectSystem", ["no"])[-1] == "strict":
        _mount("--bind", "/", "/")
        _mount("-o", "remount,bind,ro", "/")
        writable = [Path(p) for line in unit.get("ReadWritePaths", []) for p in line.split()]
        for folder in {*writable, *state}:
            _mount("--bind", str(folder), str(folder))
            _mount("-o", "remount,bind,rw", str(folder))
    if unit.get("PrivateTmp", ["no"])[-1] == "yes":
        _private_tmp()
    groups = [g for line in unit.get("SupplementaryGroups", []) for g in line.split()]
    os.chdir(unit.get("WorkingDirectory", ["/"])[-1])
    os.umask(int(unit.get("UMask", ["0022"])[-1], 8))
    argv = shlex.split(unit["ExecStart"][-1])
    become = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
              f"--groups={','.join([unit['Group'][-1], *groups])}", "--"]
    os.execvpe("setpriv", [*become, *argv], env)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _private_tmp() -> None:
    """An empty /tmp of the service's own, as systemd's PrivateTmp. The stand-in venv runs this
    checkout's code: when the checkout (or its venv) lies under /tmp, it is bound into the new
    /tmp at the same path, so the service still finds it (a real install lives in /opt)."""
    tmp = Path("/tmp")
    needed = sorted({Path(p).resolve() for p in (ROOT, sys.prefix)})
    kept = [p for p in needed if p.is_relative_to(tmp)
            and not any(p != q and p.is_relative_to(q) for q in needed)]
    _mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", "/mnt")  # built aside, then moved in
    for path in kept:
        inside = Path("/mnt") / path.relative_to(tmp)
        inside.mkdir(parents=True)
        _mount("--bind", str(path), str(inside))
    _mount("--rbind", "/mnt", "/tmp")


# -- the test -------------------------------------------------------------------------------

def machine_script(tmp: Path, then: str) -> str:
    """Shell lines that make the namespace's overlays (state kept in ``tmp``), then ``then``."""
    lines = ["set -e"]
    for name, target in OVERLAID.items():
        upper, work = tmp / name / "upper", tmp / name / "work"
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        lines.append(f"mount -t overlay overlay -o lowerdir={target},upperdir={upper},"
                     f"workdir={work} {target}")
    # the test's Python lives under /root (0700): let the service user reach it, here only
    lines += ["chmod 711 /root", then]
    return "\n".join(lines)


def in_machine(tmp: Path, then: str) -> list[str]:
    """The argv running ``then`` as root in a fresh namespace over the machine's overlays."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            machine_script(tmp, then)]


def install_lines(tmp: Path, settings: dict[str, str]) -> str:
    """The venv stand-in, a recording ``systemctl``, the real install script, the settings a
    technician adds to /etc/acorn/edge.env."""
    standin = tmp / "standin"
    standin.mkdir(parents=True, exist_ok=True)
    systemctl = standin / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$*" >> {tmp}/systemctl.calls\n')
    systemctl.chmod(0o755)
    edge = (f"#!/bin/sh\nPYTHONPATH={ROOT} PYTHONUNBUFFERED=1 exec {BIN}/acorn-edge " + '"$@"\n')
    added = "".join(f"{k}={v}\n" for k, v in settings.items())
    return "\n".join([
        "mkdir -p /opt/acorn/venv/bin",
        f"printf '%s' {shlex.quote(edge)} > /opt/acorn/venv/bin/acorn-edge",
        "chmod 755 /opt/acorn/venv/bin/acorn-edge",
        f"PATH={standin}:$PATH bash {ROOT}/deploy/install-edge.sh --no-packages --no-venv",
        f"grep -q HTTP_PORT /etc/acorn/edge.env || printf '%s' {shlex.quote(added)} "
        ">> /etc/acorn/edge.env",
    ])


def unit_service(tmp: Path, port: int, name: str, install: str = "") -> Proc:
    """The machine's acorn-edge.service, run by ``run_unit`` (after ``install`` lines)."""
    run = f"exec {sys.executable} {Path(__file__).resolve()} {UNIT}"
    argv = in_machine(tmp, f"{install}\n{run}" if install else run)
    return Proc(name, argv, {**plain_env(), "PYTHONPATH": str(ROOT)}, port, tmp / f"{name}.log")


def snapshot(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` with its modification time."""
    return {str(p.relative_to(folder)): p.lstat().st_mtime_ns for p in folder.rglob("*")}


@needs_namespaces
def test_a_fresh_install_pairs_under_its_unit_and_runs_on_after_a_restart(
    https_hub: HttpsHub, fleet: Fleet, tmp_path: Path,  # noqa: F811
) -> None:
    machine, port = tmp_path / "machine", free_port()
    settings = {"ACORN_EDGE_HUB_URL": https_hub.url,
                "ACORN_EDGE_HUB_CA_FINGERPRINT": https_hub.fingerprint,
                "ACORN_EDGE_HTTP_PORT": str(port)}
    engine = make_engine(https_hub.proc.env["ACORN_HUB_DATABASE_URL"])
    edge = unit_service(machine, port, "unit-first", install_lines(machine, settings))
    data = machine / "var" / "upper" / "lib" / "acorn"
    try:
        edge.start(wait=False)
        setup = wait_for(lambda: _running(edge) and _setup(edge.url), 90,
                         "the setup page of the fresh install")
        code = setup["code"]
        assert "enable acorn-edge.service" in (machine / "systemctl.calls").read_text()
        shown = run([str(BIN / "acorn-edge"), "pairing-code"],
                    plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port)}).stdout
        assert f"pairing code: {code}" in shown
        etc_before = snapshot(machine / "etc" / "upper")
        verify = ssl.create_default_context(cafile=str(https_hub.ca_file))
        approved = http_post(f"{https_hub.url}/api/fleet/pairings/approve",
                             json={"code": code, "store_id": "store-t"},
                             headers=bearer(engine, Role.TECHNICIAN), verify=verify, timeout=30)
        assert approved.status_code == 200, approved.text
        health = wait_for(lambda: (h := health_of(edge)) and h.get("broker_connected") and h,
                          60, "the paired service connected over mutual TLS")
        assert (health["store_id"], health["node_id"]) == ("store-t", "counter-1")
        assert edge.popen is not None and edge.popen.poll() is None  # the same process runs on
        assert snapshot(machine / "etc" / "upper") == etc_before  # nothing written to /etc
        assert "Read-only file system" not in edge.log_tail(100_000)
    finally:
        stopped = edge.stop()
    assert stopped == 0, edge.log_tail()  # SIGTERM (systemctl stop): a clean exit
    written = (data / "edge.env").read_text()
    assert 'ACORN_EDGE_STORE_ID="store-t"' in written and "PASSWORD" not in written
    key = data / "identity" / "node.key"
    owner = _machine_user(machine, key.stat().st_uid)
    assert owner == "acorn" and key.stat().st_mode & 0o077 == 0
    assert "pairing code: " + code in edge.log_tail(100_000)  # in the journal too

    # the service restarted (a reboot, Restart=): it runs from what it wrote, no pairing
    again = unit_service(machine, port, "unit-again")
    try:
        again.start(wait=False)
        health = wait_for(lambda: (h := health_of(again)) and h.get("broker_connected") and h,
                          60, "the restarted service connected")
        assert health["store_id"] == "store-t"
        assert "pairing" not in again.log_tail(100_000)
    finally:
        again.stop()
        engine.dispose()
    assert len(audited(engine, "device.enrolled")) == 1

    # the technician's command sees what the service sees (as root, run as the acorn user)
    said = run(in_machine(machine, "/usr/local/bin/acorn-store status"), plain_env()).stdout
    assert "database /var/lib/acorn/edge.db (agent not running)" in said, said


@needs_namespaces
def test_acorn_store_enrol_writes_where_the_unit_reads_and_says_what_comes_next(
    https_hub: HttpsHub, fleet: Fleet, tmp_path: Path,  # noqa: F811
) -> None:
    machine, port = tmp_path / "machine", free_port()
    install = install_lines(machine, {"ACORN_EDGE_HTTP_PORT": str(port)})
    enrol = (f"PATH={machine / 'standin'}:$PATH /usr/local/bin/acorn-store enrol "
             f"{code_for(https_hub)} --hub {https_hub.url} "
             f"--ca-fingerprint {https_hub.fingerprint}")
    said = run(in_machine(machine, f"{install}\n{enrol}"), plain_env()).stdout
    assert "next: acorn-store starts the acorn-edge.service now" in said, said
    assert "acorn-edge started" in said and "next: acorn-edge run" not in said
    calls = (machine / "systemctl.calls").read_text().splitlines()
    assert calls[-3:] == ["stop acorn-edge.service", "enable acorn-edge.service",
                          "restart acorn-edge.service"]  # the pairing service gave way first
    written = (machine / "var" / "upper" / "lib" / "acorn" / "edge.env").read_text()
    assert 'ACORN_EDGE_STORE_ID="store-t"' in written
    assert "STORE_ID" not in (machine / "etc" / "upper" / "acorn" / "edge.env").read_text()

    service = unit_service(machine, port, "unit-enrolled")  # what systemctl restart starts
    try:
        service.start(wait=False)
        health = wait_for(lambda: _running(service) and (h := health_of(service))
                          and h.get("broker_connected") and h, 60, "the enrolled service")
        assert health["store_id"] == "store-t"
    finally:
        service.stop()


def test_the_units_settings_file_not_written_yet_means_pair_into_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("ACORN_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACORN_EDGE_DATA_DIR", str(tmp_path))
    assert first_run.needs_pairing(tmp_path / "edge.env") is not None  # fresh: pair into it
    assert first_run.needs_pairing(tmp_path / "no-folder" / "edge.env") is None  # a typo
    (tmp_path / "edge.env").write_text('ACORN_EDGE_STORE_ID="store-1"\n')
    assert first_run.needs_pairing(tmp_path / "edge.env") is None  # written: run from it


def test_run_keeps_trying_to_pair_while_the_hub_is_away_and_pair_gives_up(
        tmp_path: Path) -> None:
    port, away = free_port(), free_port()  # nothing listens on ``away``
    env = plain_env() | {"ACORN_EDGE_HTTP_PORT": str(port), "ACORN_EDGE_DATA_DIR": str(tmp_path),
                         "ACORN_EDGE_HUB_URL": f"http://127.0.0.1:{away}",
                         "ACORN_EDGE_HUB_INSECURE_HTTP": "true"}
    given_up = run([str(BIN / "acorn-edge"), "pair", "--hub", f"http://127.0.0.1:{away}",
                    "--insecure-http", "--data-dir", str(tmp_path)], env, cwd=tmp_path, ok=False)
    assert given_up.returncode == 1 and "pairing failed: cannot reach the hub" in given_up.stderr
    assert "Traceback" not in given_up.stderr
    edge = Proc("edge-no-hub", [str(BIN / "acorn-edge"), "run", "--config",
                                str(tmp_path / "edge.env")], env, port, tmp_path / "edge.log")
    try:
        edge.start(wait=False)
        # "starting" is shown until the first attempt has failed; wait for that answer
        shown = wait_for(lambda: _running(edge) and (s := _setup_state(edge.url))
                         and s.get("state") != "starting" and s, 30, "the setup page")
        assert shown["state"] == "failed" and "cannot reach the hub" in shown["message"]
        assert "trying again in 5 s" in shown["message"] and shown["code"] is None
        wait_for(lambda: _running(edge) and "trying again in 10 s" in edge.log_tail(), 30,
                 "a second attempt, after a longer wait")
    finally:
        stopped = edge.stop()
    assert stopped == 0, edge.log_tail()  # systemctl stop while pairing: a clean stop
    assert "stopped before this machine was paired" in edge.log_tail()
    assert not (tmp_path / "edge.env").exists()  # nothing written


def _setup_state(url: str) -> dict[str, Any] | None:
    return answer_of(f"{url}/api/setup")


@pytest.mark.parametrize(("launcher", "unit_exists", "settings", "expected"), [
    ("acorn-store", True, "/var/lib/acorn/edge.env", "acorn-store starts the acorn-edge.service"),
    ("", True, "/var/lib/acorn/edge.env", "sudo systemctl restart acorn-edge.service"),
    ("", True, ".env", "enrol with `sudo acorn-store enrol CODE` instead"),
    ("", False, ".env", "acorn-edge run"),
    ("", False, "/srv/edge.env", "acorn-edge run --config /srv/edge.env"),
])
def test_the_next_step_names_how_the_agent_is_run_here(
        launcher: str, unit_exists: bool, settings: str, expected: str, tmp_path: Path) -> None:
    unit = tmp_path / "acorn-edge.service"
    if unit_exists:
        unit.write_text("[Unit]\n")
    said = next_step(Path(settings), {"ACORN_EDGE_LAUNCHER": launcher} if launcher else {}, unit)
    assert said.startswith(expected) if expected == "acorn-edge run" else expected in said
    if expected == "acorn-edge run":
        assert said == expected


def _running(proc: Proc) -> bool:
    """True while the service runs; its log in the failure once it has stopped."""
    assert proc.popen is not None and proc.popen.poll() is None, proc.log_tail()
    return True


def _setup(url: str) -> dict[str, Any] | None:
    data = answer_of(f"{url}/api/setup") or {}
    return data if data.get("code") else None


def _machine_user(machine: Path, uid: int) -> str:
    """The name of ``uid`` in the machine's /etc/passwd (the install script's user)."""
    for line in (machine / "etc" / "upper" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[2] == str(uid):
            return fields[0]
    return f"uid {uid}"


if __name__ == "__main__":  # python test_install_systemd.py UNIT_FILE
    run_unit(sys.argv[1])
