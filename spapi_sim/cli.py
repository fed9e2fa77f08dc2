"""``acorn-spapi-sim``: run the SP-API simulator (tests, ``make run``, trying ACORN without Amazon).

A program of its own: the hub talks to it only over HTTP, through python-amazon-sp-api.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help=__doc__.splitlines()[0] if __doc__ else None)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port")] = 8100,
    host: Annotated[str, typer.Option(help="interface")] = "127.0.0.1",
    rate_factor: Annotated[float, typer.Option(help="multiply every documented rate")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed of the generated sellers and data")] = 1,
    accounts: Annotated[int, typer.Option(help="seeded seller accounts")] = 3,
    models: Annotated[
        Path | None,
        typer.Option(help="Amazon's model files: also play the static sandbox under /sandbox"),
    ] = None,
    store_models: Annotated[
        Path | None,
        typer.Option(help="Amazon's Listings Items / Supply Sources models with feeds-schemas/: "
                          "validate patches and listings feeds, play their sandbox"),
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option(help="write the seeded accounts' LWA credentials here (mode 0600)"),
    ] = None,
) -> None:
    """Serve Amazon's Selling Partner API on loopback until Ctrl-C or SIGTERM."""
    from spapi_sim import run

    run(
        host,
        port,
        models_dir=models,
        store_models_dir=store_models,
        rate_factor=rate_factor,
        seed=seed,
        accounts=accounts,
        credentials_file=credentials_file,
        log_level="warning",
    )


def main() -> None:
    """Entry point of ``acorn-spapi-sim``."""
    app()
