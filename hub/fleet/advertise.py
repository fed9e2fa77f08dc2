"""Announce the hub on the local network as ``_acorn-hub._tcp`` (mDNS), so a technician's
``acorn-edge devices`` on a store mini-PC finds it and prints the settings lines to use.

Rules:
- the app's lifespan owns the announcement (``hub.app``): made when everything else runs,
  withdrawn first on shutdown; it is made in the background (``BackgroundAdvertiser``: the
  name lookup and zeroconf's probing take ~2 s), so the hub serves at once. Addresses that do
  not parse, or none at all, stop the hub at start as before (a configuration error); the
  network refusing the announcement later is a logged warning, and the hub serves unannounced;
- off unless ``ACORN_HUB_ADVERTISE=true`` (a hub in a data centre has no LAN to announce on);
- the service port is the hub API's; the TXT record carries ``mqtt_port`` (and ``mqtt_host``
  when the broker is not on the hub's own address), ``scheme`` (``https`` when the API serves
  TLS), ``path``, ``version`` and, once the fleet CA exists, ``ca``: the first 16 hex digits of
  its fingerprint, so an enrolling node picks the hub of its own fleet;
- addresses: the configured interfaces, else the API's bind address, else every non-loopback
  IPv4 address of the machine;
- the name is made unique on the network: when another hub already announces it, ours becomes
  ``<name>-2`` (then ``-3`` …) instead of failing to start (``name`` says which one we got).
  We first ask for the name from an ephemeral port (``unicast=True``, answered straight to that
  port, ``LOOKUP_MS`` each), then register with zeroconf's own probing for a hub that starts at
  the same moment. The lookup is needed: zeroconf (0.154) probes with "QU" questions whose
  unicast answers go to port 5353, which on a host running two responders reaches only one of
  their sockets, so its probing alone missed a hub on the same machine.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ifaddr
from cryptography import x509
from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

from hub.errors import HubError
from hub.fleet import pki
from hub.settings import Settings

log = logging.getLogger(__name__)

HUB_SERVICE = "_acorn-hub._tcp.local."
CA_PREFIX = 16  # hex digits of the fleet CA's fingerprint in the TXT record
LOOKUP_MS = 500  # how long one name is asked for before it counts as free


@dataclass(frozen=True)
class HubAnnouncement:
    """What to announce."""

    name: str
    http_port: int
    mqtt_port: int
    version: str
    addresses: tuple[str, ...]
    mqtt_host: str | None = None
    scheme: str = "http"
    ca_fingerprint: str | None = None

    def properties(self) -> dict[str, str]:
        """The TXT record."""
        txt = {"mqtt_port": str(self.mqtt_port), "scheme": self.scheme, "path": "/api",
               "version": self.version}
        if self.ca_fingerprint:
            txt["ca"] = self.ca_fingerprint[:CA_PREFIX]
        if self.mqtt_host:
            txt["mqtt_host"] = self.mqtt_host
        return txt


def addresses_for(interfaces: Sequence[str], bind_host: str) -> tuple[str, ...]:
    """The IPv4 addresses to announce (see the module rules)."""
    if interfaces:
        return tuple(interfaces)
    if bind_host not in {"0.0.0.0", "", "::"}:
        return (bind_host,)
    return tuple(str(ip.ip) for adapter in ifaddr.get_adapters() for ip in adapter.ips
                 if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback)


def announcement_for(settings: Settings, version: str) -> HubAnnouncement:
    """What a hub with ``settings`` announces (see the module rules)."""
    return HubAnnouncement(
        name=settings.advertise_name, http_port=settings.http_port,
        mqtt_port=settings.advertise_mqtt_port or settings.mqtt_port, version=version,
        addresses=addresses_for(settings.advertise_interfaces, settings.http_host),
        mqtt_host=settings.advertise_mqtt_host,
        scheme="https" if settings.https_cert_file else "http",
        ca_fingerprint=_fleet_ca_fingerprint(settings.fleet_dir))


def _fleet_ca_fingerprint(folder: Path) -> str | None:
    """The fleet CA's fingerprint, when the CA exists (announced so nodes pick their own hub)."""
    try:
        return pki.fingerprint(x509.load_pem_x509_certificate(
            (folder / pki.CA_CERT_FILE).read_bytes()))
    except (OSError, ValueError):
        return None


def _checked(announcement: HubAnnouncement) -> tuple[list[bytes], list[str] | InterfaceChoice]:
    """The packed addresses and the interfaces to announce on; HubError without an address,
    OSError (ValueError) for one that does not parse."""
    if not announcement.addresses:
        raise HubError("no address to advertise the hub on; set ACORN_HUB_ADVERTISE_INTERFACES")
    addresses = [socket.inet_aton(ip) for ip in announcement.addresses]  # OSError if bad
    interfaces = list(announcement.addresses) if all(
        ipaddress.ip_address(ip).is_loopback for ip in announcement.addresses
    ) else InterfaceChoice.All
    return addresses, interfaces


class Advertiser:
    """A running mDNS announcement (made before the constructor returns); ``close()``
    withdraws it."""

    def __init__(self, announcement: HubAnnouncement) -> None:
        addresses, interfaces = _checked(announcement)
        try:
            name = _free_name(announcement.name, interfaces)
        except OSError as err:
            raise HubError(f"cannot advertise the hub over mDNS: {err}") from err
        self._info = ServiceInfo(
            HUB_SERVICE, f"{name}.{HUB_SERVICE}", port=announcement.http_port,
            properties=announcement.properties(),
            addresses=addresses, server=f"{socket.gethostname().split('.')[0]}.local.")
        self._zeroconf = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        try:
            # two hubs on one network may share a configured name: probe, and take the next
            # free "<name>-N" rather than exit (zeroconf raises NonUniqueNameException otherwise)
            self._zeroconf.register_service(self._info, allow_name_change=True)
        except OSError as err:
            self._zeroconf.close()
            raise HubError(f"cannot advertise the hub over mDNS: {err}") from err
        if self.name != announcement.name:
            log.warning("another hub announces %r on this network: advertising as %r",
                        announcement.name, self.name)
        log.info("advertising the hub as %r on %s", self.name, announcement.addresses)

    @property
    def name(self) -> str:
        """The instance name announced (the configured one, or ``<name>-N`` after a clash)."""
        return self._info.name.removesuffix(f".{HUB_SERVICE}")

    def close(self) -> None:
        """Withdraw the announcement and close the mDNS sockets."""
        self._zeroconf.unregister_service(self._info)
        self._zeroconf.close()


class BackgroundAdvertiser:
    """The announcement made in a thread, so the hub serves meanwhile (see the module rules).

    ``start()`` checks the addresses (raising as ``Advertiser`` does) and returns at once;
    ``close()`` waits for an announcement in progress, then withdraws it.
    """

    def __init__(self, announcement: HubAnnouncement) -> None:
        _checked(announcement)  # a configuration error stops the hub at start, as before
        self._announcement = announcement
        self._advertiser: Advertiser | None = None
        self._thread = threading.Thread(target=self._announce, name="mdns-announce",
                                        daemon=True)

    def start(self) -> BackgroundAdvertiser:
        self._thread.start()
        return self

    def _announce(self) -> None:
        try:
            self._advertiser = Advertiser(self._announcement)
        except Exception as err:
            log.warning("the hub is not advertised over mDNS: %s",
                        err.message if isinstance(err, HubError) else f"{type(err).__name__}: "
                        f"{err}")

    @property
    def name(self) -> str | None:
        """The name announced; None until announced (or when the announcement failed)."""
        return self._advertiser.name if self._advertiser is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the announcement to be made (or to fail); True when it is done."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Wait for the announcement in progress, then withdraw it."""
        if self._thread.ident is not None:
            self._thread.join()
        if self._advertiser is not None:
            self._advertiser.close()
            self._advertiser = None


def _free_name(wanted: str, interfaces: list[str] | InterfaceChoice) -> str:
    """The first of ``wanted``, ``wanted-2``, … that no hub on the network answers for."""
    asker = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only, unicast=True)
    try:
        name, number = wanted, 2
        while asker.get_service_info(HUB_SERVICE, f"{name}.{HUB_SERVICE}",
                                     timeout=LOOKUP_MS) is not None:
            name, number = f"{wanted}-{number}", number + 1
        return name
    finally:
        asker.close()
