"""Settings of one edge agent, from ``ACORN_EDGE_*`` environment variables or a config file.

Rules:
- ``store_id`` and ``node_id`` are required and must be valid protocol ids (they appear in MQTT
  topics and the broker user name); nothing else is required;
- every other setting has a working default for one machine; the broker user name defaults to the
  node's identity ``edge.{store}.{node}``; the MQTT client id is always that identity (the broker
  binds the node's user to it and refuses any other), whatever the user name setting says;
- precedence: environment variables, then the config file (TOML with top-level keys named like
  the fields, or a dotenv file with ``ACORN_EDGE_*`` lines), then defaults;
- the broker login is a certificate (mutual TLS: ``mqtt_tls_ca_file``, ``_cert_file`` and
  ``_key_file``, all three, as ``acorn-edge enrol`` writes them) or a user name and password;
  a certificate is renewed at ``hub_url`` (also written by enrol) after two thirds of its life;
- devices are optional: an empty ``scanner_url`` or ``printer_url`` means none is attached, and
  the counter works without them; URLs are checked here for their form only (the device library
  is loaded when a device is used, not when settings are read);
- settings are built only by the composition root or the CLI, never at import time.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge_agent.errors import ConfigError
from protocol import BrokerAddress, BrokerList, check_id, minor_units, parse_brokers

ENV_PREFIX = "ACORN_EDGE_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Language = Literal["en", "de", "zh", "ja"]
CodePageName = Literal["cp437", "cp850", "cp1252", "cp866", "cp852", "cp858"]
PRINTER_SCHEMES = ("tcp", "serial", "usb", "memory")
MIN_POS_KEY = 24
TERMINATORS = {"": None, "any": None, "cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t",
               "etx": b"\x03"}


class EdgeSettings(BaseSettings):
    """Everything one edge agent needs to run."""

    # the environment wins over ``.env`` in the working directory (README, Configuration);
    # ``--config FILE`` replaces that file
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True,
                                      env_file=".env", env_file_encoding="utf-8")

    store_id: str = Field(description="this store's id, e.g. store-berlin-1")
    node_id: str = Field(description="this node's id within the store, e.g. counter-1")
    store_name: str = Field(default="", description="shown on the counter screen")
    store_timezone: str = Field(default="UTC", description="IANA zone for screens and receipts")
    currency: str = Field(default="USD", description="ISO 4217 default currency at the counter")
    data_dir: Path | None = Field(default=None, description="default ./var/edge-{store}-{node}")
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port")
    mqtt_brokers: BrokerList = Field(default="", description=(
        "independent brokers in order of preference, host:port,host:port: the node goes where "
        "the hub is (docs/operations/broker-ha.md); empty: the one broker MQTT_HOST:MQTT_PORT"))
    hub_wait_seconds: float = Field(default=10.0, gt=0, le=3600, description=(
        "with several brokers: move to the next one when the hub has not been heard on this "
        "one for this long"))
    mqtt_username: str | None = Field(default=None, description="default edge.{store}.{node}")
    mqtt_password: SecretStr | None = Field(default=None, description="this node's broker password")
    mqtt_tls_ca_file: Path | None = Field(default=None, description="fleet CA (PEM): set with "
                                          "the cert and key to connect with mutual TLS")
    mqtt_tls_cert_file: Path | None = Field(default=None, description="this node's broker "
                                            "certificate (PEM, from acorn-edge enrol)")
    mqtt_tls_key_file: Path | None = Field(default=None, description="this node's private key "
                                           "(PEM, 0600, made on this machine by acorn-edge enrol)")
    hub_url: str | None = Field(default=None, description="the hub's URL (http://host:8080), "
                                "where a certificate node renews its certificate; written by "
                                "acorn-edge enrol; unset: no automatic renewal")
    cert_renew_retry_seconds: float = Field(default=30.0, gt=0, le=86_400, description=(
        "first wait before a failed certificate renewal is tried again (doubles each time)"))
    cert_renew_retry_max_seconds: float = Field(default=1800.0, gt=0, le=86_400, description=(
        "longest wait between certificate renewal attempts"))
    mqtt_keepalive_seconds: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive")
    mqtt_reconnect_max_seconds: int = Field(default=5, ge=1, le=600,
                                            description="reconnect backoff 1 s doubling to this")
    http_host: str = Field(default="127.0.0.1", description="local API / counter page address")
    http_port: int = Field(default=8081, ge=0, le=65535, description="local API / page port")
    outbox_window: int = Field(default=1000, ge=1, le=100_000,
                               description="events in flight beyond the last hub ack")
    resend_after_seconds: float = Field(
        default=5.0, gt=0, le=3600,
        description="resend the first unacked event (a probe) after this silence")
    resend_max_seconds: float = Field(default=30.0, gt=0, le=3600,
                                      description="resend wait doubles up to this without acks")
    status_interval_seconds: float = Field(default=30.0, gt=0, le=86_400,
                                           description="refresh of the retained online status")
    integrity_check_seconds: float = Field(
        default=3600.0, ge=0, le=604_800,
        description="how often the store re-checks its database (quick_check, checksums); 0: off")
    stock_snapshot_hours: float = Field(
        default=24.0, ge=0, le=24 * 31,
        description="how often the store sends a snapshot of its stock totals for the hub's "
                    "consistency check (daily by default); 0: only when asked")
    log_level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(default=False, description="one JSON object per log line")
    store_language: Language = Field(default="en", description="receipts and labels: en/de/zh/ja")
    scanner_url: str = Field(default="", description="serial scanner: device path, pty link or "
                             "pyserial URL (loop://); 'stdin'; empty: no scanner")
    scanner_baud: int = Field(default=9600, ge=300, le=921_600, description="serial scanner baud")
    scanner_terminator: str = Field(default="", description="line end: empty (any CR/LF), cr, lf,"
                                    " crlf, tab, etx, or an escape such as \\x03")
    scanner_prefix: str = Field(default="", description="stripped from the start of each scan")
    scanner_suffix: str = Field(default="", description="stripped from the end of each scan")
    printer_url: str = Field(default="", description="receipt printer: tcp://host:9100, "
                             "serial:///dev/ttyUSB0?baudrate=19200, usb://VID:PID, memory://; "
                             "empty: no printer")
    label_printer_url: str = Field(default="", description="item label printer, same forms; "
                                   "empty: labels go to the receipt printer")
    printer_paper: Literal["58mm", "80mm"] = Field(default="80mm", description="paper width")
    printer_code_page: CodePageName = Field(default="cp858", description="single-byte code page")
    printer_kanji: Literal["none", "gb18030", "shift_jis"] = Field(
        default="none", description="the printer's double-byte mode (zh: gb18030, ja: shift_jis)")
    print_retry_seconds: float = Field(default=5.0, gt=0, le=3600,
                                       description="retry and status check of an unready printer")
    print_jobs_keep_days: int = Field(default=30, ge=1, le=3650, description="printed receipts "
                                      "and labels are kept this long for reprints, then deleted")
    pos_api_keys: SecretStr = Field(default=SecretStr(""), description="POS terminals' API keys, "
                                    "comma-separated, each at least 24 characters; sent as "
                                    "'Authorization: Bearer <key>'; empty: none")
    pos_terminal_url: str = Field(default="", description="the POS terminal's address the "
                                  "self-test probes: its health URL (http://host:port/health) "
                                  "or host:port (a TCP connect); empty: not probed")
    allow_unauthenticated_lan: bool = Field(
        default=False, description="before the store config names staff, serve other machines "
        "than this one without sign-in too (otherwise only loopback clients)")
    session_hours: float = Field(default=12.0, gt=0, le=168,
                                 description="how long a staff sign-in at the counter lasts")
    signin_max_failures: int = Field(default=5, ge=1, le=100,
                                     description="wrong PINs for one staff id before a lockout")
    signin_lockout_seconds: float = Field(default=300.0, gt=0, le=86_400,
                                          description="how long a staff id stays locked out")
    clock_offset_limit_seconds: float = Field(default=120.0, gt=0, le=86_400, description=(
        "past this offset to the hub's clock (measured by the self-test) the counter refuses "
        "to record returns until a self-test finds the clock fixed"))
    disk_min_free_mb: int = Field(default=500, ge=0, le=10_000_000, description=(
        "the self-test fails the disk check below this much free space in the data folder"))
    selftest_scan_seconds: float = Field(default=30.0, gt=0, le=600, description=(
        "how long the self-test waits for the test scan it asks for"))
    selftest_at_start: bool = Field(default=True, description=(
        "run the self-test when an enrolled agent (one with a hub_url) starts: no test scan; "
        "the store ready page only before the first report"))
    max_request_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024,
                                   description="largest request body the local API reads (413)")

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

    @field_validator("printer_url", "label_printer_url")
    @classmethod
    def _printer_url(cls, value: str) -> str:
        value = value.strip()
        scheme = value.partition("://")[0]
        if value and ("://" not in value or scheme not in PRINTER_SCHEMES):
            forms = ", ".join(f"{name}://" for name in PRINTER_SCHEMES)
            raise ValueError(f"{value!r} is not a printer URL; use {forms} (or leave it empty)")
        return value

    @field_validator("pos_terminal_url")
    @classmethod
    def _pos_address(cls, value: str) -> str:
        value = value.strip()
        if value:
            pos_target(value)
        return value

    @field_validator("pos_api_keys")
    @classmethod
    def _strong_keys(cls, value: SecretStr) -> SecretStr:
        for index, key in enumerate(split_keys(value.get_secret_value()), start=1):
            if len(key) < MIN_POS_KEY or not key.isprintable() or " " in key:
                raise ValueError(f"POS API key {index} is too weak: use at least {MIN_POS_KEY} "
                                 "printable characters without spaces (e.g. openssl rand -hex 24)")
        return value

    @field_validator("scanner_terminator")
    @classmethod
    def _terminator(cls, value: str) -> str:
        terminator_bytes(value)
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
    def brokers(self) -> tuple[BrokerAddress, ...]:
        """The brokers in order of preference (one: MQTT_HOST:MQTT_PORT)."""
        return parse_brokers(self.mqtt_brokers, self.mqtt_host, self.mqtt_port)

    @model_validator(mode="after")
    def _tls_complete(self) -> EdgeSettings:
        files = (self.mqtt_tls_ca_file, self.mqtt_tls_cert_file, self.mqtt_tls_key_file)
        if any(files) and not all(files):
            raise ValueError("mqtt_tls_ca_file, mqtt_tls_cert_file and mqtt_tls_key_file go "
                             "together: set all three (mutual TLS) or none")
        return self

    @property
    def mqtt_tls(self) -> bool:
        """True when the link logs in with a certificate (mutual TLS) instead of a password."""
        return self.mqtt_tls_cert_file is not None

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
        """Broker user name."""
        return self.mqtt_username or self.mqtt_client_id

    @property
    def mqtt_client_id(self) -> str:
        """The stable MQTT client id, ``edge.{store}.{node}``: the one the broker lets us use."""
        return f"edge.{self.store_id}.{self.node_id}"

    @property
    def http_url(self) -> str:
        """Where the local API and counter page listen."""
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def pos_keys(self) -> tuple[str, ...]:
        """The POS terminals' API keys."""
        return split_keys(self.pos_api_keys.get_secret_value())

    @property
    def scanner_line_end(self) -> bytes | None:
        """The scanner's line terminator as bytes (None: any run of CR/LF)."""
        return terminator_bytes(self.scanner_terminator)


def pos_target(address: str) -> tuple[str, int] | str:
    """A POS address as (host, port) for a TCP probe or the URL for an HTTP one (ValueError)."""
    if "://" in address:
        parts = urlsplit(address)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{address!r} is not a POS health URL (http://host:port/path)")
        return address
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is neither host:port nor an http:// health URL")
    return host.strip("[]"), int(port)


def split_keys(text: str) -> tuple[str, ...]:
    """Comma-separated keys, trimmed, empty ones dropped."""
    return tuple(key.strip() for key in text.split(",") if key.strip())


def terminator_bytes(name: str) -> bytes | None:
    """A terminator name (cr, lf, crlf, tab, etx) or escape (``\\x03``) as bytes; empty: any."""
    key = name.strip().lower()
    if key in TERMINATORS:
        return TERMINATORS[key]
    try:
        value = name.encode("latin-1").decode("unicode_escape").encode("latin-1")
    except (UnicodeError, ValueError):
        value = b""
    if not value or len(value) > 4:
        raise ValueError(f"scanner terminator {name!r} is not one of {', '.join(TERMINATORS)} "
                         "nor a short escape such as \\x03")
    return value


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
