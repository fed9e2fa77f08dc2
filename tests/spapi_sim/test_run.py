"""`run(...)`, the CLI's entry point, serves a simulator and hands out its credentials."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from spapi_sim import seed_accounts
from tests.support.http_calls import http_get, http_post
from tests.support.ports import free_port


def test_run_serves_and_writes_the_credentials_file(tmp_path: Path) -> None:
    port, credentials = free_port(), tmp_path / "sim-accounts.json"
    code = (f"from pathlib import Path; from spapi_sim import run; "
            f"run('127.0.0.1', {port}, seed=4, accounts=2, rate_factor=50, "
            f"credentials_file=Path({str(credentials)!r}), log_level='warning')")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                health = http_get(f"{base}/_sim/health").json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.1)
        assert health["seed"] == 4
        written = json.loads(credentials.read_text())["accounts"]
        expected = seed_accounts(4, 2)
        assert [a["refresh_token"] for a in written] == [a.refresh_token for a in expected]
        form = {"grant_type": "refresh_token", "client_id": written[1]["lwa_app_id"],
                "client_secret": written[1]["lwa_client_secret"],
                "refresh_token": written[1]["refresh_token"]}
        assert http_post(f"{base}/auth/o2/token", data=form).status_code == 200
        listed = http_get(f"{base}/_sim/accounts").text
        assert written[0]["refresh_token"] not in listed
        assert written[0]["lwa_client_secret"] not in listed
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
