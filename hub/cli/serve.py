"""Run the app under uvicorn in the foreground until SIGTERM or Ctrl-C, then exit 0.

Only the server lives here: everything the hub runs beside the API (MQTT, the Amazon scheduler,
the mDNS announcement) belongs to the app's lifespan (``hub.app``), started and stopped with it.

uvicorn catches SIGINT/SIGTERM, shuts down gracefully (our lifespan drains the ingest, acks and
disconnects), and then re-raises the signal it caught so the default action would kill the
process with that signal. We install quiet handlers first, so that re-raise lands on them and the
process ends with status 0 after a clean shutdown.

HTTPS: with ``ACORN_HUB_HTTPS_CERT_FILE`` and ``ACORN_HUB_HTTPS_KEY_FILE`` (both, or neither) the
API is served over TLS only; enrolling nodes verify that certificate against the fleet CA they
pinned (``acorn-hub fleet server-cert`` makes it).
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


def tls_options(settings: Settings) -> tuple[str | None, str | None]:
    """The HTTPS certificate and key files (None, None: plain HTTP); HubError if half set or a
    file is missing."""
    cert, key = settings.https_cert_file, settings.https_key_file
    if cert is None and key is None:
        return None, None
    if cert is None or key is None:
        raise HubError("ACORN_HUB_HTTPS_CERT_FILE and ACORN_HUB_HTTPS_KEY_FILE go together: "
                       "set both (acorn-hub fleet server-cert prints them) or neither")
    for path in (cert, key):
        if not path.is_file():
            raise HubError(f"{path} does not exist: make it with acorn-hub fleet server-cert")
    return str(cert), str(key)


def run(app: FastAPI, settings: Settings) -> None:
    """Serve ``app`` on the configured host and port; return after a clean shutdown."""
    cert, key = tls_options(settings)
    config = uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                            log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5, log_level=settings.log_level.lower(),
                            ssl_certfile=cert, ssl_keyfile=key)
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

