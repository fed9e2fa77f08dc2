"""The ordered broker list shared by the hub's and the edge's settings (``MQTT_BROKERS``).

    "broker-a.example:1883,broker-b.example:1883"   first the preferred one, then the others

Rules:
- each entry is ``host:port`` or ``host`` (then the default port); IPv6 hosts go in brackets
  (``[::1]:1883``); entries are comma separated, blanks around them ignored;
- an empty list means the one broker of the older ``MQTT_HOST``/``MQTT_PORT`` settings, so a
  single-broker install keeps working unchanged; the same address twice is refused;
- pure parsing: a bad entry raises ``ValueError`` naming it (the settings turn that into a clear
  message at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

MAX_BROKERS = 8


@dataclass(frozen=True)
class BrokerAddress:
    """One broker the client may connect to."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _entry(text: str, default_port: int) -> BrokerAddress:
    host, port = text, str(default_port)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"broker {text!r}: expected [host]:port")
        port = rest[1:] or port
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif ":" in text:
        raise ValueError(f"broker {text!r}: put an IPv6 address in brackets, [::1]:1883")
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"broker {text!r}: not a host name")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"broker {text!r}: the port must be a number from 1 to 65535")
    return BrokerAddress(host, int(port))


def parse_brokers(text: str, default_host: str, default_port: int) -> tuple[BrokerAddress, ...]:
    """The ordered broker list of ``text``; empty text gives the one default broker."""
    entries = [part.strip() for part in text.split(",") if part.strip()]
    if not entries:
        return (BrokerAddress(default_host, default_port),)
    if len(entries) > MAX_BROKERS:
        raise ValueError(f"at most {MAX_BROKERS} brokers, not {len(entries)}")
    brokers = tuple(_entry(entry, default_port) for entry in entries)
    if len(set(brokers)) != len(brokers):
        raise ValueError("a broker is named twice in the list")
    return brokers


def _checked(text: str) -> str:
    parse_brokers(text, "127.0.0.1", 1883)  # raises ValueError naming the bad entry
    return text


BrokerList = Annotated[str, AfterValidator(_checked)]
"""The ``MQTT_BROKERS`` setting's type: the text as given, refused at start-up when it does not
parse (both sides' settings use it)."""
