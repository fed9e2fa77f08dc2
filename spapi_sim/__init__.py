"""ACORN's SP-API simulator: Amazon's Selling Partner API on loopback, for tests and `make run`.

It serves LWA (`/auth/o2/token`), Orders 2026-01-01 and Orders v0 `confirmShipment`, Reports
2021-06-30, Feeds 2021-06-30, Finances v0, Listings Items and Supply Sources with the official
paths, parameters and shapes, Amazon's error bodies and per-caller token-bucket throttling, over
seeded, stateful data of several seller accounts; with a folder of Amazon's model files it also
plays the static sandbox under `/sandbox`.

Public surface:

    create_app(settings) -> FastAPI          composition root (nothing built at import time)
    run(host, port, *, models_dir, rate_factor, seed, accounts, credentials_file, ...)
    SimulatorSettings                        every knob, validated
    seed_accounts(seed, count)               the seeded accounts and their LWA credentials
    SimulatorMarketplace, token_client_class, client_kwargs
                                             point python-amazon-sp-api at a simulator

Errors are described in `errors.py`; module docstrings state each module's rules.
"""

from spapi_sim.accounts import (
    SellerAccount,
    credentials_document,
    seed_accounts,
    write_credentials_file,
)
from spapi_sim.app import create_app
from spapi_sim.client import (
    SimulatorMarketplace,
    client_kwargs,
    sp_api_endpoint,
    token_client_class,
)
from spapi_sim.server import build_settings, run
from spapi_sim.settings import SimulatorSettings

__all__ = [
    "SellerAccount",
    "SimulatorMarketplace",
    "SimulatorSettings",
    "build_settings",
    "client_kwargs",
    "create_app",
    "credentials_document",
    "run",
    "seed_accounts",
    "sp_api_endpoint",
    "token_client_class",
    "write_credentials_file",
]
