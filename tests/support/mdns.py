"""mDNS helpers for the discovery tests: unique instance names and a decoy ACORN hub.

Rules: a discovery test finds ITS OWN advertisement by a name no other run can have
(``unique``), never "the first hub it sees"; and it proves that by running with ``decoy_hub``
advertised beside its own — another ``_acorn-hub._tcp`` on the same loopback, as a parallel test
run or a real hub on the machine would be, with a port and TXT record no test expects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from hardware.discovery import HUB_TYPE, Advertisement, advertise

LOOPBACK = ("127.0.0.1",)
DECOY_PORT, DECOY_MQTT_PORT = 9, 1  # what no test's own hub uses


def unique(prefix: str) -> str:
    """``prefix`` with a random tag: an instance name no other test run advertises."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


@contextmanager
def decoy_hub(interfaces: Sequence[str] = LOOPBACK) -> Iterator[Advertisement]:
    """Another ACORN hub, advertised on ``interfaces`` until the block ends."""
    with advertise(HUB_TYPE, unique("decoy-hub"), DECOY_PORT, interfaces=list(interfaces),
                   probe=False, properties={"mqtt_port": str(DECOY_MQTT_PORT), "path": "/decoy",
                                            "scheme": "http"}) as decoy:
        yield decoy
