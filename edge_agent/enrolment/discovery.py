"""Finding the hub for enrolment when the technician gave no ``--hub``: mDNS ``_acorn-hub._tcp``.

Rules:
- one browse (``hardware.discovery.browse``) for at most ``timeout`` seconds, on the given
  interfaces (all by default; tests use loopback);
- a hub's URL is ``{scheme}://{address}:{port}`` from its announcement (``scheme`` from its TXT
  record, ``http`` if it says none);
- when a CA fingerprint is known (the code's QR form, ``--ca-fingerprint``), only hubs that
  announce that fleet CA (TXT ``ca``, the fingerprint's first 16 hex digits) are candidates:
  another company's hub, or a test's decoy, on the same network is never picked;
- exactly one candidate is used; none or several is an ``EnrolmentError`` that lists what was
  seen and asks for ``--hub URL`` (never a guess).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge_agent.enrolment.hub_link import EnrolmentError, normal_fingerprint
from hardware.errors import DiscoveryError

if TYPE_CHECKING:
    from hardware.discovery import FoundDevice

CA_PREFIX = 16  # hex digits of the CA fingerprint a hub announces (TXT "ca")


@dataclass(frozen=True)
class SeenHub:
    """A hub that announced itself."""

    name: str
    url: str
    ca: str | None

    def describe(self) -> str:
        """One line for a list shown to the technician."""
        ca = f" (fleet CA {self.ca}…)" if self.ca else ""
        return f"'{self.name}' at {self.url}{ca}"


def seen_hub(device: FoundDevice) -> SeenHub:
    """The announced hub as name, base URL and CA prefix."""
    address = device.addresses[0] if device.addresses else device.server.rstrip(".")
    host = f"[{address}]" if ":" in address else address
    scheme = device.properties.get("scheme", "http")
    return SeenHub(device.name, f"{scheme}://{host}:{device.port}",
                   device.properties.get("ca") or None)


def choose(seen: Sequence[SeenHub], fingerprint: str | None) -> str:
    """The one hub to enrol with (see the module rules), or EnrolmentError."""
    wanted = normal_fingerprint(fingerprint)[:CA_PREFIX] if fingerprint else None
    candidates = [hub for hub in seen if wanted is None or hub.ca == wanted]
    if len(candidates) == 1:
        return candidates[0].url
    listed = "; ".join(hub.describe() for hub in seen)
    if not candidates:
        which = f"with fleet CA {wanted}… " if wanted else ""
        others = f" (seen: {listed})" if seen else ""
        raise EnrolmentError(f"no ACORN hub {which}announces itself on this network{others}: "
                             "say where it is with --hub URL (the service: ACORN_EDGE_HUB_URL)")
    raise EnrolmentError(f"{len(candidates)} ACORN hubs announce themselves on this network: "
                         f"{'; '.join(hub.describe() for hub in candidates)}. Say which with "
                         "--hub URL (the service: ACORN_EDGE_HUB_URL)")


def find_hub(fingerprint: str | None, timeout: float = 3.0,
             interfaces: Sequence[str] | None = None) -> str:
    """Browse for hubs and pick the one to enrol with (EnrolmentError when none or several)."""
    # imported here: an agent that never looks for its hub loads no mDNS library (zeroconf)
    from hardware.discovery import HUB_TYPE, browse

    try:
        found = browse([HUB_TYPE], timeout=timeout, interfaces=interfaces)
    except DiscoveryError as err:
        raise EnrolmentError(f"cannot look for the hub on this network ({err}): say where it "
                             "is with --hub URL") from err
    return choose([seen_hub(device) for device in found], fingerprint)
