"""Settings of the Amazon integration, from ``ACORN_HUB_AMAZON_*`` environment variables.

Accounts themselves live in the database (``acorn-hub amazon accounts add``); their secrets come
from ``ACORN_HUB_AMAZON_<NAME>_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_REFRESH_TOKEN`` (falling back
to ``ACORN_HUB_AMAZON_CLIENT_ID`` / ``_CLIENT_SECRET`` for the one LWA app most setups use) or
from the secrets file named here (see ``hub.amazon.secrets``). The buyer-hash key is configured
here too, under its older names ``ACORN_HUB_CUSTOMER_KEY_SECRET`` / ``_FILE`` (rules:
``hub.amazon.buyer_secret``). Nothing is read at import time; ``acorn-hub`` builds these once per
command (``serve`` hands them to ``create_app``), never per request.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError
from hub.settings import ENV_FILE

JOBS = ("orders", "returns", "fba-returns", "refund-events", "settlements", "refunds")


class AmazonSettings(BaseSettings):
    """Everything the Amazon integration can be configured with."""

    model_config = SettingsConfigDict(env_prefix="ACORN_HUB_AMAZON_", extra="ignore",
                                      validate_by_name=True, env_file=ENV_FILE,
                                      env_file_encoding="utf-8")

    secrets_file: Path | None = Field(
        None,
        description=(
            "YAML or JSON file with the accounts' LWA secrets; must be readable by its owner only"
        ),
    )
    rate_factor: float = Field(
        1.0,
        gt=0,
        le=100_000,
        description=(
            "multiplies every documented rate (not the burst): match a simulator's --rate-factor"
        ),
    )
    backfill_days: int = Field(30, ge=1, le=730, description="how far back a first sync reads")
    returns_overlap_days: int = Field(
        3,
        ge=0,
        le=60,
        description=(
            "returns reports re-read this many days before the cursor (returns change after filing)"
        ),
    )
    posted_lag_seconds: float = Field(
        150.0,
        ge=0,
        description=(
            "Finances: PostedBefore this far in the past (Amazon wants more than two minutes)"
        ),
    )
    report_poll_seconds: float = Field(2.0, gt=0, description="between getReport/getFeed polls")
    report_timeout_seconds: float = Field(1800.0, gt=0, description="give up on a report after")
    max_retries: int = Field(8, ge=0, le=50, description="429 retries before a call fails")
    http_timeout_seconds: float = Field(60.0, gt=0)
    feed_lease_seconds: float = Field(
        300.0,
        gt=0,
        description=(
            "a refund feed intent older than this whose process left no feed id is reconciled"
        ),
    )
    feed_clock_skew_seconds: float = Field(
        120.0,
        ge=0,
        description=("when reconciling, feeds created this long before the intent still count"),
    )
    listings_feed_threshold: int = Field(
        50,
        ge=0,
        le=25_000,
        description=(
            "more queued quantity changes than this for one marketplace go as one "
            "JSON_LISTINGS_FEED instead of one patchListingsItem each"
        ),
    )
    listings_product_type: str = Field(
        "PRODUCT",
        min_length=1,
        description="productType sent with quantity patches (Amazon's generic PRODUCT)",
    )
    listings_from_allocation: bool = Field(
        True,
        description=(
            "the listings job first queues the active allocation rules' offers over the hub's "
            "stock view (changed quantities only); off: it sends only what was queued otherwise"
        ),
    )
    store_map: dict[str, str] = Field(
        default_factory=dict,
        description=("Amazon drop-off store id -> ACORN store id, where they differ (JSON)"),
    )
    scheduler_enabled: bool = Field(True, description="run the jobs on intervals in `serve`")
    interval_orders: float = Field(900.0, gt=0, description="seconds between orders syncs")
    interval_returns: float = Field(3600.0, gt=0)
    interval_fba_returns: float = Field(21600.0, gt=0)
    interval_refund_events: float = Field(1800.0, gt=0)
    interval_settlements: float = Field(21600.0, gt=0)
    interval_refunds: float = Field(300.0, gt=0, description="submit refunds, follow feeds")
    interval_shipments: float = Field(60.0, gt=0,
                                      description="confirm shipped packages to Amazon")
    interval_listings: float = Field(
        300.0, gt=0, description="send queued Amazon quantity changes, follow listings feeds"
    )
    interval_supply_sources: float = Field(
        3600.0, gt=0, description="publish stores as Amazon supply sources (US multi-location); "
        "the listings job also publishes before it sends per-source quantities"
    )
    interval_vat_reports: float = Field(
        86400.0, gt=0, description="look for closed months whose EU VAT reports (VAT "
        "Transactions, VAT Calculation) are not fetched yet; each month is fetched once, from "
        "the 3rd of the next month"
    )
    customer_key_secret: SecretStr = Field(
        SecretStr(""),
        validation_alias="ACORN_HUB_CUSTOMER_KEY_SECRET",
        description=(
            "key of the keyed hash (HMAC-SHA256) that recognises an Amazon buyer across orders "
            "from Amazon's anonymised buyer email, at least 16 characters; unset: one is "
            "generated on first use into CUSTOMER_KEY_FILE and reused. Changing it makes every "
            "buyer new"
        ),
    )
    customer_key_file: Path | None = Field(
        None,
        validation_alias="ACORN_HUB_CUSTOMER_KEY_FILE",
        description=(
            "where the generated customer key secret is kept (mode 0600); default: "
            "customer-key.secret beside the SQLite database, else beside the Amazon secrets "
            "file, else in ./var/hub"
        ),
    )

    def interval(self, job: str) -> float:
        """Seconds between runs of ``job`` in the scheduler."""
        return float(getattr(self, "interval_" + job.replace("-", "_")))


def load_amazon_settings(**overrides: object) -> AmazonSettings:
    """Settings from the environment, with explicit overrides; errors become ConfigError."""
    try:
        return AmazonSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        name = env_name(str(first["loc"][0])) if first["loc"] else "settings"
        raise ConfigError(f"{name}: {str(first['msg']).removeprefix('Value error, ')}") from err


def env_name(field: str) -> str:
    """The environment variable of a field (or of its alias)."""
    upper = field.upper()
    return upper if upper.startswith("ACORN_") else "ACORN_HUB_AMAZON_" + upper
