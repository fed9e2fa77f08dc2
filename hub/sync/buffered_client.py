"""paho's MQTT client, reading its socket a block at a time (the hub's intake of many messages).

paho 2.x reads each packet with several ``recv`` calls on the socket (one byte of command, one
per byte of remaining length, then the rest) and, per ``select`` wake-up, usually one packet:
with a thousand nodes sending small events that is about six system calls and one ``select``
per message, on the hub's network thread, under the GIL the ingest writer needs too (measured
with py-spy in a 1,000-node storm: the network thread was 0.13 ms of CPU per event, a quarter of
the hub's).

Rules:
- ``_sock_recv`` serves paho's small reads from one buffer filled by a single ``recv`` of up to
  ``READ_CHUNK`` bytes; paho's own packet state machine is unchanged (a packet split between
  two blocks is completed by the next read, as with a short ``recv``);
- ``loop_read`` goes on reading packets while the buffer holds bytes, so nothing waits in it
  for a ``select`` that would not wake (the socket has no more to say);
- the buffer is dropped with the socket (``_sock_close``, which paho calls on every disconnect
  and before every reconnect): no byte of one connection is ever read on the next;
- errors are paho's: an empty read is a lost connection, ``BlockingIOError`` means "later".
- ``one_wake``: packets queued by this thread inside it (PUBACKs, publishes) wake the network
  loop once, at the end, instead of once each. paho writes one byte to its wake-up socket per
  queued packet, from the calling thread: a system call that lets go of the GIL, and a wake-up
  of the network thread, for each of a batch's ~1,000 PUBACKs and ~650 acks (py-spy: 7 % of
  the writer's time in that ``send``). Other threads' packets still wake the loop at once.
  Nothing inside may wait for the broker: its packets are sent only after the block.
These are overrides of paho's private methods (``paho-mqtt>=2,<3`` in pyproject.toml);
tests/hub/test_buffered_client.py runs them against the real broker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

READ_CHUNK = 64 * 1024
WAKE = b"0"  # what paho writes to its wake-up socket


class _Noted:
    """Stands in for the wake-up socket inside ``one_wake``: notes the wake, sends nothing."""

    def __init__(self, held: threading.local) -> None:
        self._held = held

    def send(self, _data: bytes) -> int:
        self._held.due = True
        return 1


class BufferedClient(mqtt.Client):
    """A paho ``Client`` whose reads come from a block buffer (see the module's rules)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._block = b""
        self._at = 0
        self._held = threading.local()
        self._noted = _Noted(self._held)
        super().__init__(*args, **kwargs)

    @property
    def _sockpairW(self) -> Any:
        """paho's wake-up socket, or a stand-in for a thread inside ``one_wake``."""
        sock = self.__dict__.get("_wake_socket")
        if sock is not None and getattr(self._held, "on", False):
            return self._noted
        return sock

    @_sockpairW.setter
    def _sockpairW(self, sock: Any) -> None:
        self.__dict__["_wake_socket"] = sock

    @contextmanager
    def one_wake(self) -> Iterator[None]:
        """Packets this thread queues inside wake the network loop once, at the end."""
        self._held.on, self._held.due = True, False
        try:
            yield
        finally:
            self._held.on = False
            sock = self.__dict__.get("_wake_socket")
            if self._held.due and sock is not None:
                # paho's own send ignores a full pipe; a closed one: the loop is gone
                with suppress(BlockingIOError, OSError):
                    sock.send(WAKE)

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._at >= len(self._block):
            data = super()._sock_recv(READ_CHUNK)  # raises as paho expects; b"": closed
            if not data:
                return data
            self._block, self._at = data, 0
        start = self._at
        self._at = min(start + bufsize, len(self._block))
        return self._block[start:self._at]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read packets until the buffer is empty (or the connection is gone)."""
        while True:
            rc = super().loop_read(max_packets)
            if (rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None
                    or self._at >= len(self._block)):
                return rc

    def _sock_close(self) -> None:
        self._block, self._at = b"", 0
        super()._sock_close()

    @property
    def buffered(self) -> int:
        """Bytes read from the socket and not yet parsed (0 whenever ``loop_read`` returns)."""
        return len(self._block) - self._at
