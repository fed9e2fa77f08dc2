"""``deploy/install-edge.sh``, the one-line install of a store machine, run for real into a
temporary prefix (no root, systemd, apt or virtualenv here): what it lays down, with which
modes, that a second run changes nothing and keeps the technician's edits, that it explains
itself, and that its systemd unit passes ``systemd-analyze verify``."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "install-edge.sh"
UNIT = ROOT / "deploy" / "systemd" / "acorn-edge.service"


def install(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_help_and_a_bad_option_explain_themselves() -> None:
    helped = install("--help")
    assert helped.returncode == 0 and "--prefix" in helped.stdout and "acorn-store enrol" in \
        helped.stdout
    bad = install("--frobnicate")
    assert bad.returncode != 0 and "unknown option: --frobnicate" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = install("--prefix", "/tmp/x-acorn-unused", "--source", "/nonexistent")
    assert missing.returncode != 0 and "neither an ACORN folder" in missing.stderr


def test_a_prefix_install_lays_down_folders_settings_unit_and_command_and_reruns_cleanly(
        tmp_path: Path) -> None:
    first = install("--prefix", str(tmp_path), "--no-venv")
    assert first.returncode == 0, first.stderr
    data, etc = tmp_path / "var/lib/acorn", tmp_path / "etc/acorn"
    settings = etc / "edge.env"
    unit = tmp_path / "etc/systemd/system/acorn-edge.service"
    tool = tmp_path / "usr/local/bin/acorn-store"
    assert (mode(data), mode(etc), mode(settings), mode(tool)) == (0o750, 0o750, 0o640, 0o755)
    assert 'ACORN_EDGE_DATA_DIR="/var/lib/acorn"' in settings.read_text()
    assert unit.read_bytes() == UNIT.read_bytes()
    assert (tmp_path / "opt/acorn").is_dir()

    settings.write_text(settings.read_text() + 'ACORN_EDGE_PRINTER_URL="tcp://10.0.0.9:9100"\n')
    before = {p: p.stat().st_mtime_ns for p in (settings, unit, tool)}
    again = install("--prefix", str(tmp_path), "--no-venv")
    assert again.returncode == 0, again.stderr
    assert [line for line in again.stdout.splitlines() if not line.endswith(
        "then: sudo acorn-store check")] == []  # nothing to do the second time
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert "tcp://10.0.0.9:9100" in settings.read_text()


def test_the_technicians_command_is_valid_shell_and_explains_its_use(tmp_path: Path) -> None:
    assert install("--prefix", str(tmp_path), "--no-venv").returncode == 0
    tool = tmp_path / "usr/local/bin/acorn-store"
    assert subprocess.run(["sh", "-n", str(tool)], check=False).returncode == 0
    used = subprocess.run([str(tool)], capture_output=True, text=True, check=False)
    assert used.returncode == 2 and "enrol" in used.stderr and "check" in used.stderr
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # the unit names the real venv; point it at a program that exists here, the rest unchanged
    text = UNIT.read_text()
    assert "ExecStart=/opt/acorn/venv/bin/acorn-edge run" in text
    for needed in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/acorn",
                   "User=acorn", "EnvironmentFile=/etc/acorn/edge.env"):
        assert needed in text
    unit = tmp_path / "acorn-edge.service"
    unit.write_text(text.replace("/opt/acorn/venv/bin/acorn-edge", "/bin/true"))
    checked = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                             text=True, timeout=60, check=False,
                             env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def test_an_older_install_has_what_enrolment_wrote_moved_out_of_etc(tmp_path: Path) -> None:
    """Before, ``acorn-store enrol`` wrote its lines into /etc/acorn/edge.env; the agent (under
    ProtectSystem=strict) now writes /var/lib/acorn/edge.env, and a line in /etc would overrule a
    new enrolment: a re-run of the install moves them, keeping the technician's own lines."""
    etc = tmp_path / "etc/acorn"
    etc.mkdir(parents=True)
    (etc / "edge.env").write_text(
        'ACORN_EDGE_DATA_DIR="/var/lib/acorn"\nACORN_EDGE_PRINTER_URL="tcp://10.0.0.9:9100"\n'
        '# written by acorn-edge enrol\nACORN_EDGE_STORE_ID="store-hh"\n'
        'ACORN_EDGE_NODE_ID="counter-1"\nACORN_EDGE_MQTT_TLS_CERT_FILE="/var/lib/acorn/identity/'
        'node.pem"\nACORN_EDGE_STORE_TIMEZONE="Europe/Berlin"\n')
    done = install("--prefix", str(tmp_path), "--no-venv")
    assert done.returncode == 0, done.stderr
    assert "moving what enrolment wrote" in done.stdout
    assert "This machine is enrolled" in done.stdout
    kept = (etc / "edge.env").read_text()
    moved = (tmp_path / "var/lib/acorn/edge.env").read_text()
    assert kept == ('ACORN_EDGE_DATA_DIR="/var/lib/acorn"\n'
                    'ACORN_EDGE_PRINTER_URL="tcp://10.0.0.9:9100"\n')
    for line in ('ACORN_EDGE_STORE_ID="store-hh"', 'ACORN_EDGE_NODE_ID="counter-1"',
                 'ACORN_EDGE_STORE_TIMEZONE="Europe/Berlin"', "MQTT_TLS_CERT_FILE"):
        assert line in moved
    assert mode(tmp_path / "var/lib/acorn/edge.env") == 0o640
    again = install("--prefix", str(tmp_path), "--no-venv")
    assert "moving" not in again.stdout and (etc / "edge.env").read_text() == kept
