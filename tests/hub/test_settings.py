"""Settings come from ACORN_HUB_* variables; limits are configuration; secrets are required."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.errors import ConfigError
from hub.settings import DEFAULT_LIMITS, load_settings


def test_defaults_are_safe_for_one_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACORN_HUB_DATABASE_URL", "ACORN_HUB_AUTO_APPROVE_LIMITS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./var/hub/hub.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.auto_approve_limits == DEFAULT_LIMITS
    assert settings.sqlite_synchronous == "FULL"


def test_limits_and_everything_else_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACORN_HUB_AUTO_APPROVE_LIMITS", '{"USD":"75.50","JPY":"9000"}')
    monkeypatch.setenv("ACORN_HUB_INGEST_BATCH_SIZE", "200")
    monkeypatch.setenv("ACORN_HUB_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.auto_approve_limits == {"USD": Decimal("75.50"), "JPY": Decimal("9000")}
    assert (settings.ingest_batch_size, settings.log_level) == (200, "DEBUG")


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("ACORN_HUB_AUTO_APPROVE_LIMITS", '{"XYZ":"5"}', "unknown ISO 4217 currency 'XYZ'"),
    ("ACORN_HUB_AUTO_APPROVE_LIMITS", '{"USD":"-1"}', "non-negative"),
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
