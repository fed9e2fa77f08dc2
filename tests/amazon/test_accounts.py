"""Accounts through the CLI and the API; secrets from env or file, never shown, never logged."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from hub.access.permissions import Role
from hub.access.tokens import create_token
from hub.amazon.accounts import list_accounts
from hub.amazon.secrets import Credentials, SecretSource, env_name
from hub.amazon.settings import AmazonSettings
from hub.app import create_app
from hub.cli.main import app
from hub.errors import ConfigError, InputError
from hub.storage.engine import reading
from hub.storage.tables.amazon import amazon_orders
from tests.amazon.conftest import Sim
from tests.amazon.helpers import add_accounts, count, sync, write_secrets
from tests.hub.conftest import hub_settings, start_hub
from tests.support.server import serving


def _cli(
    db_url: str, settings: AmazonSettings, *args: str
) -> tuple[int, str, BaseException | None]:
    env = {
        "ACORN_HUB_DATABASE_URL": db_url,
        "COLUMNS": "200",
        "ACORN_HUB_AMAZON_SECRETS_FILE": str(settings.secrets_file),
    }
    result = CliRunner().invoke(app, ["amazon", *args], env=env)
    return result.exit_code, result.stdout + result.stderr, result.exception


def test_cli_adds_and_lists_accounts_without_secrets(
    tmp_path: Path, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    made = CliRunner().invoke(app, ["db", "upgrade"], env={"ACORN_HUB_DATABASE_URL": db_url})
    assert made.exit_code == 0  # the hub's database first: no other command creates it
    seller = sim.sellers[1]
    write_secrets(amazon_settings.secrets_file, {"eu-main": seller})  # type: ignore[arg-type]
    code, out, _ = _cli(
        db_url,
        amazon_settings,
        "accounts",
        "add",
        "eu-main",
        "--seller-id",
        seller.seller_id,
        "--region",
        "EU",
        "--marketplace",
        "DE,FR",
        "--marketplace",
        "UK",
        "--endpoint",
        sim.url,
    )
    assert code == 0 and "account eu-main added (EU: DE, FR, UK)" in out
    code, out, _ = _cli(
        db_url,
        amazon_settings,
        "accounts",
        "add",
        "jp",
        "--seller-id",
        "A1B2C3D4E5F6G7",
        "--region",
        "FE",
        "--marketplace",
        "JP",
    )
    assert code == 0 and env_name("jp", "REFRESH_TOKEN") in out  # its secrets are missing
    code, out, _ = _cli(db_url, amazon_settings, "accounts", "list")
    assert code == 0 and "eu-main" in out and "found" in out and "missing" in out
    assert seller.refresh_token not in out and seller.client_secret not in out
    _, _, refused = _cli(
        db_url,
        amazon_settings,
        "accounts",
        "add",
        "x",
        "--seller-id",
        "A1B2C3D4E5F6G8",
        "--region",
        "NA",
        "--marketplace",
        "DE",
    )
    assert isinstance(refused, InputError) and refused.field == "marketplaces"


def test_api_lists_accounts_and_status_never_secrets(
    db_url: str, sim: Sim, amazon_settings: AmazonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACORN_HUB_AMAZON_SECRETS_FILE", str(amazon_settings.secrets_file))
    for running in start_hub(hub_settings(db_url)):
        accounts = add_accounts(running.engine, sim, amazon_settings, {"na": (0, ("US", "CA"))})
        sync(running.engine, amazon_settings, accounts, ["orders"])
        token = create_token(running.engine, "viewer-1", Role.VIEWER)
        answer = running.client.get(
            "/api/amazon/accounts", headers={"Authorization": f"Bearer {token}"}
        )
        assert running.client.get("/api/amazon/accounts").status_code == 401
    assert answer.status_code == 200
    (account,) = answer.json()
    assert account["marketplaces"] == ["US", "CA"] and account["status"] == "ok"
    assert account["credentials_configured"] is True and account["last_ok_at"]
    seller = sim.sellers[0]
    assert seller.refresh_token not in answer.text and seller.client_secret not in answer.text


def test_secrets_never_reach_the_logs(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    sync(lite, amazon_settings, accounts, ["orders", "returns"])
    seller = sim.sellers[0]
    assert caplog.records
    assert seller.refresh_token not in caplog.text and seller.client_secret not in caplog.text


def _file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_environment_wins_over_the_file_and_one_app_serves_all(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "accounts:\n  eu: {client_id: from-file, client_secret: s, refresh_token: file-token}\n",
    )
    environ = {
        env_name("eu", "REFRESH_TOKEN"): "env-token",
        "ACORN_HUB_AMAZON_CLIENT_ID": "app",
        "ACORN_HUB_AMAZON_CLIENT_SECRET": "app-s",
        env_name("na", "REFRESH_TOKEN"): "na-token",
    }
    source = SecretSource(environ, path)
    assert source.credentials("eu", "S1") == Credentials("from-file", "s", "env-token")
    assert source.credentials("na", "S2") == Credentials("app", "app-s", "na-token")
    assert "env-token" not in repr(source.credentials("eu", "S1"))


def test_the_simulators_credentials_file_is_matched_by_seller_id(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        '{"accounts": [{"seller_id": "S9", "lwa_app_id": "id", '
        '"lwa_client_secret": "sec", "refresh_token": "tok"}]}',
    )
    assert SecretSource({}, path).credentials("whatever", "S9").refresh_token == "tok"


@pytest.mark.parametrize(
    ("text", "mode", "says"),
    [
        ("accounts: {}", 0o644, "accessible to others"),
        ("- [", 0o600, "not YAML"),
        ("accounts: {}", 0o600, "ACORN_HUB_AMAZON_EU_MAIN_REFRESH_TOKEN"),
    ],
)
def test_bad_or_missing_secrets_say_why(tmp_path: Path, text: str, mode: int, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        SecretSource({}, _file(tmp_path, text, mode)).credentials("eu-main", "S1")


def test_scheduler_runs_every_job_and_never_two_of_one_at_once(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.amazon.sync import runner as sync_module
    from hub.amazon.sync.scheduler import Scheduler

    running, most = [0], [0]
    lock = threading.Lock()

    def slow_orders(ctx: object) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.5)  # much longer than the interval
        with lock:
            running[0] -= 1

    monkeypatch.setitem(sync_module.JOBS, "orders", slow_orders)
    add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    settings = amazon_settings.model_copy(
        update={
            f"interval_{job.replace('-', '_')}": 0.05
            for job in sync_module.JOBS  # every job the scheduler runs, new ones too
        }
    )
    scheduler = Scheduler(lite, settings, first_delay=0, tick=0.05).start()
    try:
        _wait(lambda: min(scheduler.runs.values()) >= 2)
    finally:
        scheduler.stop()  # a scheduler left running keeps calling Amazon in later tests
    assert set(scheduler.runs) == set(sync_module.JOBS) and most[0] == 1


def test_the_apps_lifespan_runs_the_scheduler_on_its_engine_with_the_settings_it_was_given(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One composition root: ``create_app`` starts the Amazon jobs (their first run a few seconds
    after the start) and stops them with the app. Only the settings handed to it know where the
    secrets are: a scheduler that read the environment again would find none."""
    monkeypatch.delenv("ACORN_HUB_AMAZON_SECRETS_FILE", raising=False)
    add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    url = lite.url.render_as_string(hide_password=False)
    app = create_app(hub_settings(url), amazon_settings)
    assert amazon_settings.scheduler_enabled
    with serving(app):
        _wait(lambda: count(lite, amazon_orders) > 0, timeout=60)
    with reading(lite) as conn:
        (account,) = list_accounts(conn)
    assert account.status.value == "ok" and account.last_error is None


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
