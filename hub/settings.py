"""Hub settings, read from ``ACORN_HUB_*`` environment variables (and nothing at import time).

Every setting has a safe default for one machine except the secrets: the MQTT password and the
broker admin password have none, and ``serve`` refuses to start without the MQTT password while
MQTT is enabled. Refund amount tiers are not settings: they live in the versioned policy
document (``hub.policy.store``); the desk's bulk-approval limit is an amount in the policy's base
currency, written as text: ``ACORN_HUB_DESK_BULK_LIMIT=5000``.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError
from protocol import BrokerAddress, BrokerList, parse_brokers
from protocol.limits import MAX_BATCH_EVENTS

ENV_FILE = ".env"  # read from the working directory when it exists; the environment wins


class Settings(BaseSettings):
    """Everything the hub process can be configured with."""

    # the environment wins over ``.env`` in the working directory (README, Configuration)
    model_config = SettingsConfigDict(env_prefix="ACORN_HUB_", extra="ignore", env_file=ENV_FILE,
                                      env_file_encoding="utf-8")

    database_url: str = Field("sqlite:///./var/hub/hub.db", description=(
        "SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db"))
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field("FULL", description=(
        "SQLite fsync policy; FULL survives power loss after an ack, NORMAL may lose the last "
        "acked batches"))
    mqtt_enabled: bool = Field(True, description="run the MQTT ingest and command publisher")
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(1883, ge=1, le=65535)
    mqtt_username: str = "acorn-hub"
    mqtt_password: SecretStr = SecretStr("")
    mqtt_client_id: str = Field("acorn-hub", description="fixed: the broker keeps our session")
    mqtt_keepalive: int = Field(30, ge=5, le=3600)
    mqtt_brokers: BrokerList = Field("", description=(
        "independent brokers in order of preference, host:port,host:port; the hub connects to "
        "the first that answers and on its loss to the next (docs/operations/broker-ha.md); "
        "empty: the one broker MQTT_HOST:MQTT_PORT"))
    hub_presence_seconds: float = Field(3.0, gt=0, le=3600, description=(
        "with several brokers, how often the hub refreshes its presence for the nodes"))
    broker_reconcile_seconds: float = Field(30.0, gt=0, le=86_400, description=(
        "with several brokers, how often the hub looks for a broker that came back and gives it "
        "the identities recorded in the hub's database"))
    broker_admin_username: str = "acorn-admin"
    broker_admin_password: SecretStr = SecretStr("")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    max_request_bytes: int = Field(1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024, description=(
        "largest HTTP request body the API reads (413 above it, refused before reading); the "
        "biggest legitimate one is a policy document of at most 200 kB"))
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description=(
        "a desk login lasts this long, then the user signs in again"))
    session_cookie_secure: bool = Field(False, description=(
        "mark the session cookie Secure (set true when the hub is served over HTTPS)"))
    login_max_failures: int = Field(5, ge=1, le=1000, description=(
        "failed desk sign-ins for one username within LOGIN_WINDOW_SECONDS that lock it"))
    login_window_seconds: int = Field(900, ge=1, le=7 * 86400, description=(
        "how long failed sign-ins are counted from the first one"))
    login_lockout_seconds: int = Field(900, ge=1, le=7 * 86400, description=(
        "how long a username stays locked (even the right password is refused) unless unlocked"))
    login_max_failures_per_client: int = Field(30, ge=1, le=100000, description=(
        "failed sign-ins from one client address within the window, whatever the usernames, "
        "after which that address is refused for the window"))
    desk_target_hours: float = Field(24.0, gt=0, description=(
        "a refund waiting longer than this is late on the desk (amber from half of it)"))
    desk_bulk_limit: Decimal = Field(Decimal("5000"), ge=0, allow_inf_nan=False, description=(
        "largest total one bulk approval may move, in the policy's base currency, for users "
        "without a limit of their own"))
    config_publish_seconds: float = Field(5.0, gt=0, description=(
        "how often the hub looks for store config (PINs, offline limit) to publish"))
    ingest_batch_size: int = Field(1000, ge=1, le=20000, description=(
        "the most events one ingest transaction commits (a burst is cut sooner, see "
        "ingest_batch_ms): 1,000 halves the per-batch work of 500 in a storm, 0.23 -> 0.21 ms "
        "of hub CPU an event (python -m bench capacity)"))
    ingest_batch_ms: int = Field(20, ge=0, le=5000)
    ingest_event_batch: int = Field(MAX_BATCH_EVENTS, ge=1, le=MAX_BATCH_EVENTS, description=(
        "the most events a node may send in one message (an event.batch, told to the nodes in "
        "their store config): a node draining a backlog sends one message where it would send "
        "dozens; 1: one event per message"))
    ingest_supervise_seconds: float = Field(1.0, gt=0, description=(
        "how often the hub checks that its ingest thread runs (and restarts it if it died)"))
    command_resend_seconds: float = Field(30.0, gt=0)
    command_poll_seconds: float = Field(1.0, gt=0, description="how often to look for new commands")
    hub_workers: int = Field(1, ge=1, le=64, description=(
        "how many hub processes share the MQTT ingest (README, Several hub workers); above 1 "
        "each worker needs its own MQTT user and client id and PostgreSQL, takes the events of "
        "the stores its partitions hold (advisory locks) with a session that ends when it "
        "disconnects, and statuses through the shared group; 1: one hub, as before"))
    leader_poll_seconds: float = Field(2.0, gt=0, le=60, description=(
        "with several workers: how often a worker tries to become the one that runs the "
        "schedulers, and checks its share of the stores' partitions (a dead worker's lock and "
        "stores are taken over within about this long)"))
    advertise: bool = Field(False, description="announce the hub over mDNS as _acorn-hub._tcp")
    advertise_name: str = Field("ACORN hub", min_length=1, max_length=60)
    advertise_interfaces: list[str] = Field(default_factory=list, description=(
        "IPv4 addresses to announce on (JSON list); empty: the API's bind address or all"))
    advertise_mqtt_host: str | None = Field(None, description=(
        "broker address stores should use, when it is not the hub's own address"))
    advertise_mqtt_port: int | None = Field(None, ge=1, le=65535, description=(
        "broker port stores should use (default: MQTT_PORT)"))
    fleet_dir: Path = Field(Path("var/hub/fleet"), description=(
        "the fleet CA (fleet-ca.key, 0600, and fleet-ca.pem), created on first use"))
    fleet_cert_days: float = Field(7.0, gt=0, le=90, description=(
        "lifetime of a node's broker certificate (short: the broker admits any certificate the "
        "fleet CA signed until it expires); nodes renew after two thirds of it"))
    fleet_renew_grace_days: float = Field(7.0, ge=0, le=90, description=(
        "how long after its expiry a node's current certificate may still be renewed (a store "
        "machine that was off comes back by itself); later it must enrol again"))
    fleet_mqtts_host: str | None = Field(None, description=(
        "the broker's mutual-TLS listener as stores reach it (default: MQTT_HOST)"))
    fleet_mqtts_port: int = Field(8883, ge=1, le=65535, description=(
        "the broker's mutual-TLS listener port, told to nodes at enrolment"))
    enrol_code_minutes: int = Field(30, ge=1, le=60, description=(
        "how long an enrolment code stays valid (at most 60 minutes)"))
    enrol_max_failures_per_client: int = Field(10, ge=1, le=100000, description=(
        "refused enrolment codes from one address within ENROL_WINDOW_SECONDS before that "
        "address is refused unchecked until the window ends"))
    enrol_max_failures: int = Field(100, ge=1, le=1000000, description=(
        "refused enrolment codes from all addresses together within the window before every "
        "enrolment is refused unchecked until the window ends"))
    enrol_window_seconds: int = Field(900, ge=1, le=86400, description=(
        "the window refused enrolment codes are counted in"))
    https_cert_file: Path | None = Field(None, description=(
        "serve the API over HTTPS with this certificate (PEM; `acorn-hub fleet server-cert` "
        "makes one signed by the fleet CA, which enrolling nodes pin); with HTTPS_KEY_FILE"))
    https_key_file: Path | None = Field(None, description="the HTTPS certificate's key (PEM)")
    buyer_max_requests_per_client: int = Field(10, ge=1, le=100000, description=(
        "requests one address may send to the buyer's return page API (/api/buyer) within "
        "BUYER_WINDOW_SECONDS; more are answered 429 until the window ends"))
    buyer_max_requests: int = Field(1000, ge=1, le=10000000, description=(
        "requests of all addresses together to the buyer's return page API within the window"))
    buyer_window_seconds: int = Field(900, ge=1, le=86400, description=(
        "the window requests to the buyer's return page API are counted in"))
    pair_code_minutes: int = Field(15, ge=1, le=60, description=(
        "how long a pairing code a new node shows stays valid (at most 60 minutes)"))
    pair_max_requests_per_client: int = Field(10, ge=1, le=100000, description=(
        "pairing codes one address may ask for within ENROL_WINDOW_SECONDS"))
    fleet_offline_alert_seconds: float = Field(300.0, gt=0, description=(
        "the fleet page alerts when a node has been offline (or unheard of) longer than this"))
    fleet_unsent_alert_seconds: float = Field(900.0, gt=0, description=(
        "the fleet page alerts when a node's oldest unsent event is older than this"))
    fleet_cert_alert_days: float = Field(2.0, ge=0, le=90, description=(
        "the fleet page alerts when a node's certificate expires within this many days (nodes "
        "renew after two thirds of FLEET_CERT_DAYS: one that nears its expiry did not)"))
    fleet_clock_alert_seconds: float = Field(120.0, gt=0, le=86400, description=(
        "the fleet page alerts when a node's last self-test found its clock further than this "
        "from the hub's (the counter's own limit is the edge's CLOCK_OFFSET_LIMIT_SECONDS)"))
    fleet_disk_alert_mb: float = Field(1000.0, ge=0, description=(
        "the fleet page alerts when a node's last self-test found less free disk than this "
        "(megabytes) in its data folder"))
    stock_check_threshold: int = Field(0, ge=0, le=1_000_000, description=(
        "the consistency check alerts when a store's snapshot differs from the hub's figure of "
        "a SKU and state by more than this many units (0: any difference alerts)"))
    stock_check_store_thresholds: dict[str, int] = Field(default_factory=dict, description=(
        "per-store overrides of STOCK_CHECK_THRESHOLD, as JSON: {\"store-berlin-1\": 2}"))
    fx_fetch_url: str | None = Field(None, description=(
        "ECB reference rates to fetch on a schedule (e.g. ECB's eurofxref-daily.xml); unset: no "
        "fetch, the bundled history and `acorn-hub fx import` only"))
    fx_fetch_hours: float = Field(6.0, gt=0, description="hours between two fetches of the rates")
    archive_dir: Path = Field(Path("var/hub/archive"), description=(
        "where closed months are archived (write-once files and their manifests)"))
    archive_close_days: int | None = Field(None, ge=0, le=366, description=(
        "close each month automatically this many days after its end (its archive written by "
        "the hub process); unset: months are closed by hand only (`acorn-hub archive close`)"))
    archive_check_hours: float = Field(1.0, gt=0, description=(
        "how often the hub looks for a month due to be closed (with ARCHIVE_CLOSE_DAYS)"))
    evidence_dir: Path = Field(Path("var/hub/evidence"), description=(
        "where evidence (counter photos, documents, buyer messages) is kept, content-addressed"))
    evidence_max_bytes: int = Field(1_000_000, ge=1024, le=64 * 1024 * 1024, description=(
        "largest evidence file accepted (413 above it); keep it below MAX_REQUEST_BYTES"))
    evidence_types: list[str] = Field(default_factory=lambda: [
        "image/jpeg", "image/png", "image/webp", "application/pdf", "text/plain"], description=(
        "media types accepted as evidence (JSON list), checked against the file's first bytes"))
    evidence_retention_days: int = Field(3653, ge=1, le=36500, description=(
        "how long evidence is kept after it was recorded (then purged, audited)"))
    evidence_purge_hours: float = Field(24.0, gt=0, description=(
        "how often the hub purges evidence past its retention"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    @field_validator("advertise_interfaces")
    @classmethod
    def _ipv4_addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.IPv4Address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IPv4 address") from None
        return value

    @property
    def brokers(self) -> tuple[BrokerAddress, ...]:
        """The brokers in order of preference (one: MQTT_HOST:MQTT_PORT)."""
        return parse_brokers(self.mqtt_brokers, self.mqtt_host, self.mqtt_port)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("hub_workers")
    @classmethod
    def _workers_need_postgres(cls, value: int, info: ValidationInfo) -> int:
        url = str(info.data.get("database_url", ""))
        if value > 1 and not url.startswith("postgresql"):
            raise ValueError(
                f"{value} workers need PostgreSQL (ACORN_HUB_DATABASE_URL="
                "postgresql+psycopg://...): on SQLite only one hub process may write, so run "
                "one worker (1)")
        return value

    @property
    def shared_ingest(self) -> bool:
        """True when this process is one of several workers sharing the ingest."""
        return self.hub_workers > 1

    def require_mqtt_secret(self) -> None:
        """Refuse to run the MQTT side without a password (the broker allows no anonymous)."""
        if self.mqtt_enabled and not self.mqtt_password.get_secret_value():
            raise ConfigError("ACORN_HUB_MQTT_PASSWORD is not set (or set ACORN_HUB_MQTT_ENABLED="
                              "false to run the API alone)")

    def require_admin_secret(self) -> None:
        """Refuse broker administration without the admin password."""
        if not self.broker_admin_password.get_secret_value():
            raise ConfigError("ACORN_HUB_BROKER_ADMIN_PASSWORD is not set")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides; errors become ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        name = "ACORN_HUB_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from err
