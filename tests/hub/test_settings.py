"""Settings come from ACORN_HUB_* variables; desk limits are configuration; secrets required."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.errors import ConfigError
from hub.settings import load_settings


def test_defaults_are_safe_for_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACORN_HUB_DATABASE_URL", "ACORN_HUB_DESK_BULK_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./var/hub/hub.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert (settings.desk_bulk_limit, settings.desk_target_hours) == (Decimal("5000"), 24.0)
    assert (settings.session_hours, settings.session_cookie_secure) == (12.0, False)
    assert settings.sqlite_synchronous == "FULL"


def test_limits_and_everything_else_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACORN_HUB_DESK_BULK_LIMIT", "2500.50")
    monkeypatch.setenv("ACORN_HUB_INGEST_BATCH_SIZE", "200")
    monkeypatch.setenv("ACORN_HUB_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.desk_bulk_limit == Decimal("2500.50")
    assert (settings.ingest_batch_size, settings.log_level) == (200, "DEBUG")


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("ACORN_HUB_DESK_BULK_LIMIT", "-1", "greater than or equal to 0"),
    ("ACORN_HUB_DESK_BULK_LIMIT", "lots", "ACORN_HUB_DESK_BULK_LIMIT"),
    ("ACORN_HUB_HTTP_PORT", "99999", "ACORN_HUB_HTTP_PORT"),
    ("ACORN_HUB_SQLITE_SYNCHRONOUS", "OFF", "ACORN_HUB_SQLITE_SYNCHRONOUS"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                      needle: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=needle) as caught:
        load_settings()
    assert name in str(caught.value)


def test_secrets_have_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACORN_HUB_MQTT_PASSWORD", raising=False)
    monkeypatch.delenv("ACORN_HUB_BROKER_ADMIN_PASSWORD", raising=False)
    settings = load_settings()
    with pytest.raises(ConfigError, match="ACORN_HUB_MQTT_PASSWORD"):
        settings.require_mqtt_secret()
    with pytest.raises(ConfigError, match="ACORN_HUB_BROKER_ADMIN_PASSWORD"):
        settings.require_admin_secret()
    load_settings(mqtt_enabled=False).require_mqtt_secret()  # the API alone needs none
