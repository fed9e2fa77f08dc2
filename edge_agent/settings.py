"""Settings of one edge agent, from ``ACORN_EDGE_*`` environment variables or a config file.

Rules:
- ``store_id`` and ``node_id`` are required and must be valid protocol ids (they appear in MQTT
  topics and the broker user name); nothing else is required;
- every other setting has a working default for one machine; the broker user name defaults to the
  node's identity ``edge.{store}.{node}``, which is also the MQTT client id;
- precedence: environment variables, then the config file (TOML with top-level keys named like
  the fields, or a dotenv file with ``ACORN_EDGE_*`` lines), then defaults;
- settings are built only by the composition root or the CLI, never at import time.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge_agent.errors import ConfigError
from protocol import check_id, minor_units

ENV_PREFIX = "ACORN_EDGE_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class EdgeSettings(BaseSettings):
    """Everything one edge agent needs to run."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    store_id: str = Field(description="this store's id, e.g. store-berlin-1")
    node_id: str = Field(description="this node's id within the store, e.g. counter-1")
    store_name: str = Field(default="", description="shown on the counter screen")
    store_timezone: str = Field(default="UTC", description="IANA zone for screens and receipts")
    currency: str = Field(default="USD", description="ISO 4217 default currency at the counter")
    data_dir: Path | None = Field(default=None, description="default ./var/edge-{store}-{node}")
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_username: str | None = Field(default=None, description="default edge.{store}.{node}")
    mqtt_password: SecretStr | None = Field(default=None, description="this node's broker password")
    mqtt_keepalive_seconds: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive")
    mqtt_reconnect_max_seconds: int = Field(default=5, ge=1, le=600,
                                            description="reconnect backoff 1 s doubling to this")
    http_host: str = Field(default="127.0.0.1", description="local API / counter page address")
    http_port: int = Field(default=8081, ge=0, le=65535, description="local API / page port")
    outbox_window: int = Field(default=1000, ge=1, le=100_000,
                               description="events in flight beyond the last hub ack")
    resend_after_seconds: float = Field(default=5.0, gt=0, le=3600,
                                        description="resend from the last ack after this silence")
    resend_max_seconds: float = Field(default=30.0, gt=0, le=3600,
                                      description="resend wait doubles up to this without acks")
    status_interval_seconds: float = Field(default=30.0, gt=0, le=86_400,
                                           description="refresh of the retained online status")
    log_level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(default=False, description="one JSON object per log line")

    @field_validator("store_id", "node_id")
    @classmethod
    def _protocol_id(cls, value: str) -> str:
        return check_id(value)

    @field_validator("store_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        minor_units(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init values, then the environment, then a dotenv file, then a TOML file."""
        toml = TomlConfigSettingsSource(settings_cls)
        return init_settings, env_settings, dotenv_settings, toml, file_secret_settings

    @property
    def data_path(self) -> Path:
        """The directory holding this node's database."""
        return self.data_dir or Path("var") / f"edge-{self.store_id}-{self.node_id}"

    @property
    def db_path(self) -> Path:
        """The node's SQLite file."""
        return self.data_path / "edge.db"

    @property
    def broker_username(self) -> str:
        """Broker user name, also the stable MQTT client id."""
        return self.mqtt_username or f"edge.{self.store_id}.{self.node_id}"

    @property
    def http_url(self) -> str:
        """Where the local API and counter page listen."""
        return f"http://{self.http_host}:{self.http_port}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> EdgeSettings:
    """Build settings from env (and a TOML or dotenv file); raise ConfigError with a sentence."""
    try:
        if config_file is None:
            return EdgeSettings(**overrides)
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        if config_file.suffix == ".toml":
            _check_toml(config_file)
            config = SettingsConfigDict(**{**EdgeSettings.model_config, "toml_file": config_file})
            from_file = type("EdgeSettingsFromFile", (EdgeSettings,), {"model_config": config})
            return cast(EdgeSettings, from_file(**overrides))
        return EdgeSettings(_env_file=config_file, **overrides)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err)) from err


def _check_toml(path: Path) -> None:
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def describe_validation_error(err: ValidationError) -> str:
    """One line per bad setting, naming its environment variable."""
    lines = []
    for problem in err.errors(include_url=False):
        name = str(problem["loc"][0]) if problem["loc"] else "?"
        env = ENV_PREFIX + name.upper()
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "is required but not set"
        lines.append(f"setting {name} ({env}) {message}")
    return "; ".join(lines)
