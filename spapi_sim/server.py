"""`run(...)`: serve a simulator with uvicorn until interrupted (the CLI's entry point).

`acorn-spapi-sim --port 8100 [--models DIR] [--rate-factor F] [--seed N]` maps
onto `run(host, port, models_dir=DIR, rate_factor=F, seed=N)`.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import uvicorn

from spapi_sim.accounts import write_credentials_file
from spapi_sim.app import create_app
from spapi_sim.settings import SimulatorSettings

log = logging.getLogger(__name__)


def build_settings(*, seed: int = 1, accounts: int = 3, rate_factor: float | Decimal = 1,
                   models_dir: Path | None = None, public_url: str | None = None,
                   **overrides: object) -> SimulatorSettings:
    """Settings from CLI-style values; `overrides` are further SimulatorSettings fields."""
    return SimulatorSettings(seed=seed, accounts=accounts,
                             rate_factor=Decimal(str(rate_factor)), models_dir=models_dir,
                             public_url=public_url, **overrides)  # type: ignore[arg-type]


def run(host: str = "127.0.0.1", port: int = 8100, *, models_dir: Path | None = None,
        store_models_dir: Path | None = None, rate_factor: float | Decimal = 1, seed: int = 1,
        accounts: int = 3,
        public_url: str | None = None, credentials_file: Path | None = None,
        log_level: str = "info") -> None:
    """Serve the simulator on `host:port` until interrupted.

    `credentials_file`, when given, receives the seeded accounts' LWA credentials as JSON
    (mode 0600) before the server starts, for the hub to read.
    """
    settings = build_settings(seed=seed, accounts=accounts, rate_factor=rate_factor,
                              models_dir=models_dir, public_url=public_url,
                              store_models_dir=store_models_dir)
    app = create_app(settings)
    if credentials_file is not None:
        write_credentials_file(credentials_file, settings.seed,
                               app.state.simulator.accounts.values())
        log.info("wrote %d seeded accounts to %s", settings.accounts, credentials_file)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
