"""Run the app under uvicorn in the foreground until SIGTERM or Ctrl-C, then exit 0.

Only the server lives here: everything the hub runs beside the API (MQTT, the Amazon scheduler,
the mDNS announcement) belongs to the app's lifespan (``hub.app``), started and stopped with it.

uvicorn catches SIGINT/SIGTERM, shuts down gracefully (our lifespan drains the ingest, acks and
disconnects), and then re-raises the signal it caught so the default action would kill the
process with that signal. We install quiet handlers first, so that re-raise lands on them and the
process ends with status 0 after a clean shutdown.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI

from hub.errors import HubError
from hub.settings import Settings

log = logging.getLogger(__name__)


def _quiet(signum: int, _frame: FrameType | None) -> None:
    log.debug("signal %d after shutdown ignored", signum)


def run(app: FastAPI, settings: Settings) -> None:
    """Serve ``app`` on the configured host and port; return after a clean shutdown."""
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                            log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5, log_level=settings.log_level.lower())
    server = uvicorn.Server(config)
    previous = {sig: signal.signal(sig, _quiet) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise HubError(f"the hub did not start on {settings.http_host}:{settings.http_port} "
                       "(see the log above)")

