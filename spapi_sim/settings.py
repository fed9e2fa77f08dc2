"""Settings of one simulator instance, validated at construction.

Defaults behave like Amazon (report steps of tens of seconds, refunds posting a minute after the
feed, the two-minute rule on upper time bounds); tests and benchmarks shrink the delays and raise
`rate_factor`. Everything seeded derives from `seed` and `anchor`, so equal settings give equal
data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Stores a customer may choose for a return drop-off, by marketplace code. The hub's own store
# ids go here in a real deployment; these defaults only give the seeded data something to name.
DEFAULT_DROP_OFF_STORES: tuple[tuple[str, str], ...] = (
    ("US", "store-us-nyc-01"),
    ("US", "store-us-bos-02"),
    ("CA", "store-ca-tor-01"),
    ("DE", "store-de-ber-01"),
    ("FR", "store-fr-par-01"),
    ("UK", "store-uk-lon-01"),
    ("JP", "store-jp-tyo-01"),
)


def start_of_today() -> datetime:
    """Midnight UTC today: the default end of the seeded history."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """How one simulator instance behaves and what it seeds."""

    seed: int = 1
    accounts: int = 3
    rate_factor: Decimal = Decimal(1)
    models_dir: Path | None = None
    # Amazon's Listings Items / Supply Sources models with `feeds-schemas/` inside: sandbox
    # examples are answered, patch bodies and listings feeds validated against them.
    store_models_dir: Path | None = None
    public_url: str | None = None
    anchor: datetime = field(default_factory=start_of_today)
    history_days: int = 120
    orders_per_day: int = 3
    # Unshipped merchant-fulfilled orders placed in the day before `anchor`, per marketplace,
    # on top of the history: every marketplace then has orders to pick and confirm.
    open_orders: int = 2
    job_step_seconds: float = 20.0
    job_step_polls: int = 3
    refund_delay_seconds: float = 60.0
    settlement_delay_seconds: float = 300.0
    # Amazon's "at least two minutes before the request" rule for createdBefore,
    # lastUpdatedBefore and PostedBefore, and their default.
    lag_seconds: float = 120.0
    gzip_min_bytes: int = 65_536
    url_ttl_seconds: int = 300
    token_ttl_seconds: int = 3600
    revoked_sellers: frozenset[str] = frozenset()
    drop_off_stores: tuple[tuple[str, str], ...] = DEFAULT_DROP_OFF_STORES

    def __post_init__(self) -> None:
        _require(self.accounts >= 1, "accounts must be at least 1")
        _require(self.rate_factor > 0, "rate_factor must be positive")
        _require(self.anchor.tzinfo is not None, "anchor must be timezone-aware (UTC)")
        _require(1 <= self.history_days <= 730, "history_days must be within 1..730")
        _require(0 <= self.orders_per_day <= 500, "orders_per_day must be within 0..500")
        _require(0 <= self.open_orders <= 100, "open_orders must be within 0..100")
        _require(self.job_step_seconds > 0, "job_step_seconds must be positive")
        _require(self.job_step_polls >= 1, "job_step_polls must be at least 1")
        _require(min(self.refund_delay_seconds, self.settlement_delay_seconds,
                     self.lag_seconds) >= 0, "delays must not be negative")
        _require(self.url_ttl_seconds > 0 and self.token_ttl_seconds > 0, "TTLs must be positive")
        _require(self.gzip_min_bytes >= 0, "gzip_min_bytes must not be negative")

    @property
    def history_start(self) -> datetime:
        """The earliest moment of seeded history."""
        return self.anchor - timedelta(days=self.history_days)

    def stores_for(self, marketplace_code: str) -> tuple[str, ...]:
        """Drop-off stores configured for a marketplace."""
        return tuple(store for code, store in self.drop_off_stores if code == marketplace_code)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
