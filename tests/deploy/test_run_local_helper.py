"""``make run``'s acorn-hub helper (deploy/scripts/hub_session.py, driven by run_local.HubCli),
for real: commands answered in order, an error as one line and an exit code, a bad request or a
helper that stopped as a clear failure, never a traceback or a hang. Needs no database: each
command here fails or succeeds before opening one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.test_run_local import ROOT, SCRIPT

EXPECT = ["returns", "expect", "--store", "store-berlin-1", "--node", "counter-1", "--rma",
          "RMA-1", "--order", "o-1", "--sku", "SKU-1"]


@pytest.fixture
def run_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """run_local.py as a module, its state in ``tmp_path``; the helper runs this checkout."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    spec = importlib.util.spec_from_file_location("run_local", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("run_local", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    module.configure(tmp_path / "state")
    return module


def test_commands_are_answered_in_order_and_noted(run_local: ModuleType, tmp_path: Path) -> None:
    cli = run_local.HubCli()
    env = run_local.base_env() | {
        "ACORN_HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    try:
        bad_price = cli.submit([*EXPECT, "--price", "lots"], env)
        no_database = cli.submit([*EXPECT, "--price", "1.00"], env, ("rma", "store-berlin-1/RMA-1"))
        helped = cli.submit(["--help"], env)
        # waited for out of order: each still gets its own answer
        assert "Usage: acorn-hub" in cli.wait(helped).stdout
        priced = cli.wait(bad_price)
        assert priced.returncode == 1
        assert priced.stderr.startswith("acorn-hub: error") and "price" in priced.stderr
        assert "Traceback" not in priced.stderr
        missing = cli.wait(no_database)
        assert (missing.returncode, missing.skipped) == (1, False)
        assert "no hub database" in missing.stderr
    finally:
        cli.close()
    assert cli.popen.returncode == 0
    log = cli.log.read_text()
    assert "acorn-hub --help: exit 0" in log
    assert "--price lots: exit 1: acorn-hub: error" in log


def test_a_bad_request_and_a_stopped_helper_are_clear_failures(run_local: ModuleType) -> None:
    cli = run_local.HubCli()
    try:
        assert cli.popen.stdin is not None and cli.popen.stdout is not None
        cli.popen.stdin.write("not json\n")  # the helper's own protocol, beside HubCli
        cli.popen.stdin.flush()
        bad = json.loads(cli.popen.stdout.readline())
        assert bad["code"] == 2 and "bad request to hub_session" in bad["err"]
        os.killpg(cli.popen.pid, signal.SIGKILL)
        cli.popen.wait(timeout=30)
        gone = cli.run(["--help"], run_local.base_env())
        assert gone.returncode == 2 and "helper stopped" in gone.stderr
    finally:
        cli.close()
