"""Settings files: both processes read ``.env`` in their working directory (README,
Configuration), the environment winning; ``make run``'s ``var/dev/hub.env`` is read alike by
``set -a; . file`` (bash) and by systemd's ``EnvironmentFile=``, JSON values included.

Through the real ``acorn-hub`` / ``acorn-edge`` programs, started in a directory holding only
the ``.env`` file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.procs import BIN

ROOT = Path(__file__).resolve().parents[1]


def _env_without_acorn() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACORN_")}
    return env | {"PYTHONPATH": str(ROOT)}


def _run(program: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / program), *args], cwd=cwd, env=_env_without_acorn(),
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_hub_reads_dot_env_in_its_working_directory(tmp_path: Path) -> None:
    db = tmp_path / "from-dot-env.db"
    (tmp_path / ".env").write_text(f"ACORN_HUB_DATABASE_URL='sqlite:///{db}'\n")
    done = _run("acorn-hub", tmp_path, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert db.is_file()
    verified = _run("acorn-hub", tmp_path, "audit", "verify")
    assert verified.returncode == 0 and "audit chain intact" in verified.stdout, verified.stderr


def test_the_environment_wins_over_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ACORN_HUB_DATABASE_URL='sqlite:///{tmp_path}/no.db'\n")
    db = tmp_path / "from-env.db"
    env = _env_without_acorn() | {"ACORN_HUB_DATABASE_URL": f"sqlite:///{db}"}
    done = subprocess.run([str(BIN / "acorn-hub"), "db", "upgrade"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert db.is_file() and not (tmp_path / "no.db").exists()


def test_the_edge_reads_dot_env_in_its_working_directory(tmp_path: Path) -> None:
    without = _run("acorn-edge", tmp_path, "status")
    assert without.returncode != 0 and "STORE_ID" in without.stderr
    data = tmp_path / "edge-data"
    (tmp_path / ".env").write_text("ACORN_EDGE_STORE_ID='store-x'\nACORN_EDGE_NODE_ID='n-1'\n"
                                   f"ACORN_EDGE_DATA_DIR='{data}'\nACORN_EDGE_HTTP_PORT='9'\n")
    done = _run("acorn-edge", tmp_path, "status")
    # the identity and the data directory came from .env: it looked for the agent's file there
    assert f"no database at {data / 'edge.db'}" in done.stderr, done.stderr


def _run_local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_local", ROOT / "deploy/scripts/run_local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("run_local", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


AWKWARD = {
    "ACORN_HUB_AMAZON_STORE_MAP": json.dumps({"A1PA6795UKMFR9": "store-berlin-1", "x": [1, 2]}),
    "ACORN_HUB_ADVERTISE_INTERFACES": '["127.0.0.1"]',
    "ACORN_HUB_MQTT_PASSWORD": "it's $HOME `id` \\n \"quoted\" & ; | < > * ?",
    "ACORN_HUB_DATABASE_URL": "sqlite:////var/dev/hub.db",
    "ACORN_HUB_EMPTY": "",
}


def test_hub_env_is_sourced_by_bash_with_every_value_intact(tmp_path: Path) -> None:
    path = tmp_path / "hub.env"
    _run_local().write_env_file(path, AWKWARD)
    assert path.stat().st_mode & 0o777 == 0o600
    script = f"set -a; . '{path}'; set +a; exec python3 -c 'import json, os; " \
             "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith(\"ACORN_\")}))'"
    done = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout) == AWKWARD


def test_a_line_break_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        _run_local().write_env_file(tmp_path / "hub.env", {"ACORN_HUB_X": "a\nb"})
