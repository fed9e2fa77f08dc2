"""Settings: env prefix, config files, defaults, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.errors import ConfigError
from edge_agent.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STORE_ID", "NODE_ID", "HTTP_PORT", "STORE_TIMEZONE", "CURRENCY"):
        monkeypatch.delenv(f"ACORN_EDGE_{name}", raising=False)


def test_from_env_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACORN_EDGE_STORE_ID", "store-a")
    monkeypatch.setenv("ACORN_EDGE_NODE_ID", "counter-1")
    monkeypatch.setenv("ACORN_EDGE_MQTT_PASSWORD", "s3cret")
    settings = load_settings()
    assert settings.db_path == Path("var/edge-store-a-counter-1/edge.db")
    assert settings.broker_username == "edge.store-a.counter-1"
    assert (settings.store_timezone, settings.currency, settings.http_port) == ("UTC", "USD", 8081)
    assert (settings.outbox_window, settings.resend_after_seconds) == (1000, 5.0)
    assert "s3cret" not in repr(settings)


def test_missing_ids_are_named_with_their_env_vars() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "ACORN_EDGE_STORE_ID" in str(caught.value)
    assert "ACORN_EDGE_NODE_ID" in str(caught.value)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("store_id", "Store A", "store_id"),
    ("store_timezone", "Mars/Olympus", "IANA"),
    ("currency", "XXX", "currency"),
    ("http_port", "70000", "http_port"),
])
def test_bad_values_are_refused_with_a_sentence(field: str, value: str, words: str) -> None:
    values = {"store_id": "store-a", "node_id": "counter-1", field: value}
    with pytest.raises(ConfigError, match=words):
        load_settings(None, **values)


def test_toml_file_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('store_id = "store-a"\nnode_id = "counter-1"\nhttp_port = 9000\n'
                      'store_timezone = "Europe/Berlin"\n')
    monkeypatch.setenv("ACORN_EDGE_HTTP_PORT", "9100")
    settings = load_settings(config)
    assert (settings.store_id, settings.store_timezone, settings.http_port) == \
        ("store-a", "Europe/Berlin", 9100)


def test_dotenv_file(tmp_path: Path) -> None:
    config = tmp_path / "edge.env"
    config.write_text("ACORN_EDGE_STORE_ID=store-b\nACORN_EDGE_NODE_ID=n2\nOTHER=ignored\n")
    assert load_settings(config).store_id == "store-b"


def test_bad_or_missing_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("store_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
