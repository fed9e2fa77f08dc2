"""One running edge agent: its store, counter actions, metrics, MQTT link and devices, wired.

Rules: one agent per data directory (an exclusive lock, released by the kernel even on SIGKILL);
built only by ``Agent.open`` (from the composition root or a test), never at import time;
``start`` starts the link, the printers, the scanner and, for a certificate login with a
``hub_url``, the certificate's renewal (``edge_agent.enrolment.Renewer``, which makes the link
reconnect with each renewed certificate); ``stop`` stops them (devices first) and
closes the store; without a link (``connect=False``) the agent still records returns, which
simply wait in the outbox; without devices configured it loads no device library at all.
What changes reaches the live event bus from whoever makes the change, at once: the counter's
writes (``return``), the link's commands, config, acks and connection (``edge_agent.sync.changes``),
the devices (``scan``, ``printer``, ``scanner``); nothing polls the store for changes.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from io import TextIOWrapper
from pathlib import Path

from edge_agent.devices.print_queue import Printing
from edge_agent.devices.scanner import Devices
from edge_agent.enrolment import Renewer
from edge_agent.errors import ConfigError, StoreError
from edge_agent.events import EventBus
from edge_agent.metrics import Metrics
from edge_agent.pos.returns import Pos
from edge_agent.returns import views
from edge_agent.returns.counter import Counter
from edge_agent.returns.models import Health, HealthProblem
from edge_agent.selftest.runner import SelfTest
from edge_agent.settings import EdgeSettings
from edge_agent.staff.sessions import Staff
from edge_agent.staff.store_config import effective, signin_required
from edge_agent.staff.store_config import language as store_language
from edge_agent.staff.store_config import version as config_version
from edge_agent.stock.ledger import Ledger
from edge_agent.stock.snapshot import signer_for
from edge_agent.storage import idempotency, integrity
from edge_agent.storage.store import Store, Tx
from edge_agent.sync import changes
from edge_agent.sync.link import Link
from protocol import __version__ as protocol_version
from protocol import utc_now

log = logging.getLogger(__name__)


def agent_version() -> str:
    """The installed ACORN version, or a marker when running from an uninstalled tree."""
    try:
        return version("acorn")
    except PackageNotFoundError:
        return "0+unknown"


def _claim(data_dir: Path) -> TextIOWrapper:
    """Hold an exclusive lock on the data directory (two agents on one outbox would both send)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(data_dir / "agent.lock", "w")  # noqa: SIM115 - held for the agent's life
    except OSError as err:
        raise StoreError(f"cannot use the data directory {data_dir}: {err}") from err
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(f"another edge agent is already running on {data_dir}") from None
    return handle


class Agent:
    """The parts of one edge agent and their lifecycle."""

    def __init__(self, settings: EdgeSettings, store: Store, connect: bool = True,
                 lock: TextIOWrapper | None = None) -> None:
        self._lock = lock
        self.settings = settings
        self.store = store
        self.version = agent_version()
        self.metrics = Metrics()
        self.events = EventBus()
        self.link = (Link(settings, store, self.metrics, self.version, listener=self._on_link)
                     if connect else None)
        # a certificate node signs its stock snapshots with its own key (a password node has none)
        signer = signer_for(settings.mqtt_tls_key_file)
        if self.link is not None:
            self.link.signer = signer
        self.renewer = (Renewer(settings, self._renewed)
                        if self.link is not None and settings.mqtt_tls and settings.hub_url
                        else None)
        self.printing = Printing(settings, store, self.events)
        self.counter = Counter(store, settings.store_id, settings.node_id, on_write=self._written,
                               in_tx=self._in_tx, language=settings.store_language,
                               language_in=lambda tx: store_language(tx, settings))
        self.devices = Devices(settings, self.counter, self.events)
        self.selftest = SelfTest(settings, store, self.link, self.printing, self.devices,
                                 self.events)
        if self.link is not None:
            self.link.peripherals = self._peripherals
            self.link.selftest = self.selftest.status_fields
        self.pos = Pos(store, self.counter)
        self.stock = Ledger(store, settings.store_id, settings.node_id,
                            on_write=self._stock_written, signer=signer)
        self.staff = Staff(store, settings)
        self.started_at = utc_now()
        self.metrics.watch(lambda: self.counter.figures().pending,
                           lambda: self.counter.figures().last_acked_seq)
        self._checking = threading.Event()
        self._checker = threading.Thread(target=self._check_loop, name="edge-integrity",
                                         daemon=True)
        self._snapshots = threading.Thread(target=self._snapshot_loop,
                                           name="edge-stock-snapshot", daemon=True)

    @classmethod
    def open(cls, settings: EdgeSettings, connect: bool = True) -> Agent:
        """Claim the data directory, open the store (creating and migrating it), build the agent."""
        lock = _claim(settings.data_path)
        try:
            store = integrity.open_checked(settings.db_path, settings.store_id, settings.node_id)
        except BaseException:
            lock.close()
            raise
        return cls(settings, store, connect=connect, lock=lock)

    def _in_tx(self, tx: Tx, kind: str, return_id: str) -> None:
        # Last in the action's transaction: its receipt, then its idempotency key with the
        # answer the route gives (the return as it stands at this commit). Its goods move in
        # the stock ledger first (received -> QC hold, disposed -> where the disposition says).
        self.stock.on_return(tx, kind, return_id)
        self.printing.on_record(tx, kind, return_id)
        view = views.return_view(tx, return_id, store_language(tx, self.settings))
        idempotency.seal(tx, view.model_dump_json())

    def _written(self, kind: str, return_id: str) -> None:
        self.metrics.counted(kind)
        if self.link is not None:
            self.link.notify()
        self.printing.wake()
        self.events.publish("return", {"return_id": return_id, "action": kind})

    def _stock_written(self, kind: str, sku: str) -> None:
        self.metrics.counted(kind)
        if self.link is not None:
            self.link.notify()
        self.events.publish("stock", {"sku": sku, "action": kind})

    def _renewed(self) -> None:
        """The renewer's callback: a new certificate is on disk; the link takes it up."""
        if self.link is not None:
            self.link.reconnect()

    def _on_link(self, change: changes.Change) -> None:
        """The link's listener (its worker thread): the change as a live event, if it shows."""
        with self.store.read() as tx:
            event = changes.live_event(tx, change)
        if event is not None:
            self.events.publish(*event)

    def start(self) -> None:
        """Start the MQTT link (if any), the printers and the scanner."""
        self.events.publish("broker", {"connected": False})  # until the link says it is up
        if self.link is not None:
            self.link.start()
        if self.renewer is not None:
            self.renewer.start()
        self.printing.start()
        self.devices.start()
        if self.settings.integrity_check_seconds > 0:
            self._checker.start()
        if self.settings.stock_snapshot_hours > 0:
            self._snapshots.start()
        if self.settings.selftest_at_start and self.settings.hub_url:
            self.selftest.start()  # an enrolled node: it has a hub to measure its clock against

    def _check_loop(self) -> None:
        """The periodic integrity check (quick_check and checksums), on the reading connection."""
        while not self._checking.wait(self.settings.integrity_check_seconds):
            try:
                integrity.check_now(self.store)
            except Exception:  # the check must never stop the agent
                log.exception("the periodic integrity check failed to run")

    def _snapshot_loop(self) -> None:
        """The daily snapshot of the stock totals (a timer: the hub asks by command otherwise).

        The due time is read from the snapshots taken, so a restart neither skips nor repeats one.
        """
        every = timedelta(hours=self.settings.stock_snapshot_hours)
        wait = 0.0
        while not self._checking.wait(wait):
            try:
                due = self.stock.snapshot_if_due(self.started_at, every)
                wait = min(max((due - utc_now()).total_seconds(), 1.0), 3600.0)
            except Exception:  # the schedule must never stop the agent
                log.exception("the scheduled stock snapshot failed")
                wait = 60.0

    def stop(self) -> None:
        """Stop the devices and the link, end the event streams, close the store."""
        self._checking.set()
        self.selftest.stop()
        if self.renewer is not None:
            self.renewer.stop()
        if self._checker.is_alive():
            self._checker.join(5)
        if self._snapshots.is_alive():
            self._snapshots.join(5)
        self.devices.stop()
        self.printing.stop()
        self.events.close()
        if self.link is not None:
            self.link.stop()
        self.store.close()
        if self._lock is not None:
            self._lock.close()

    def _peripherals(self) -> tuple[str | None, str | None]:
        """The receipt printer's and the scanner's state, as the node's status reports them."""
        return self.printing.report().status, self.devices.scanner_view().state

    def language(self) -> str:
        """The store's language in force (the hub's store config over ``STORE_LANGUAGE``)."""
        return self.counter.current_language()

    @property
    def link_up(self) -> bool:
        """True while the MQTT link to the hub is connected."""
        return bool(self.link and self.link.connected)

    def health(self) -> Health:
        """Identity, connection, outbox figures and the store config in force."""
        figures = self.counter.figures()
        with self.store.read() as tx:
            held, required = config_version(tx), signin_required(tx)
            s = effective(tx, self.settings)  # the store config's time zone, if it sets one
        if "quarantined" in self.store.problems and not integrity.pending_quarantines(self.store):
            self.store.resolve("quarantined")  # `acorn-edge recover` ran meanwhile
        problems = [HealthProblem(code=p.code, message=p.message, action=p.action)
                    for p in list(self.store.problems.values())]
        if self.link is not None and (refusal := self.link.refusal) is not None:
            problems.append(HealthProblem(
                code="broker_refused",
                message=f"the broker at {self.link.broker} refuses this node's connection: "
                        f"{refusal}; returns are kept here and sent once it accepts the node",
                action="check the node's broker identity: its MQTT username, password or "
                       "certificate and client id must be the ones the hub issued for this "
                       f"store and node (client id {self.settings.mqtt_client_id}); if HQ "
                       "revoked or replaced them, enrol the machine again with a new link from "
                       "HQ (acorn-store enrol)"))
        return Health(
            status="degraded" if problems else "ok", problems=problems,
            store_id=s.store_id, node_id=s.node_id, store_name=s.store_name or s.store_id,
            store_timezone=s.store_timezone, currency=s.currency,
            broker_connected=self.link_up, config_version=held, signin_required=required,
            subscribed=bool(self.link and self.link.subscribed),
            broker=str(self.link.broker) if self.link is not None else None,
            outbox_pending=figures.pending, last_acked_seq=figures.last_acked_seq,
            next_seq=figures.next_seq, version=self.version,
            protocol_version=f"v{protocol_version}", started_at=self.started_at, now=utc_now())
