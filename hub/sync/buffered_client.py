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
- ``_packet_read``: a packet whose bytes are all in the buffer is framed in one step (command,
  remaining length, body) and handed to paho's ``_packet_handle``; a packet that is not (the
  first of each block, one split between blocks, a remaining length of more than four bytes)
  goes paho's byte-by-byte way, which also words the errors. paho's per-packet state (three or
  more small reads, a dict updated per byte) was a fifth of the hub's network thread (py-spy,
  1,000 nodes at 1,200 ev/s: the thread spent 0.18 ms of CPU a message, decoding 0.05);
- ``_handle_publish``: an MQTT 5 PUBLISH at QoS 0 or 1 without properties (what the nodes
  send) becomes an ``MQTTMessage`` in one pass, without paho's ``Properties`` object
  (``properties`` is None: there are none) and the copies its decoding makes; one with
  properties, at QoS 2, with paho's logging on, or under MQTT 3 goes paho's way. It then goes
  on exactly as paho's: ``on_message``, and the PUBACK unless acks are manual.
- ``_handle_on_message``: a message goes to ``on_message`` without paho's topic matcher when
  no per-topic callback was ever added (the hub adds none). The matcher looks for per-topic
  callbacks with a recursive closure that refers to itself: a reference cycle (a function, its
  cells, a tuple and a list) for every message, which only the cyclic collector frees. At
  5,000 messages a second that was a young-generation collection of ~20,000 objects every
  0.7 s, 8-16 ms each in whichever thread allocated next, mostly the ingest writer;
- ``one_wake``: packets queued by this thread inside it (PUBACKs, publishes) wake the network
  loop once, at the end, instead of once each. paho writes one byte to its wake-up socket per
  queued packet, from the calling thread: a system call that lets go of the GIL, and a wake-up
  of the network thread, for each of a batch's ~1,000 PUBACKs and ~650 acks (py-spy: 7 % of
  the writer's time in that ``send``). Other threads' packets still wake the loop at once.
  Nothing inside may wait for the broker: its packets are sent only after the block.
- inside ``one_wake``, this thread's PUBACKs and its ``publish_quick`` messages (QoS 0: the
  hub's retained acks) are not queued one by one: their bytes are gathered and queued as ONE
  write at the end of the block, in the order they were made. paho queues each packet as a
  record the network thread writes with a ``send`` of its own, and its QoS 0 ``publish`` makes
  a message id, an ``MQTTMessageInfo`` (with its lock) and a log call for each; a batch of 600
  events from 500 nodes made about 1,000 of them (``tests/hub/test_buffered_client.py`` holds
  the bytes to paho's own). The gathered bytes are for the connection the block began on: if
  it changed meanwhile they are dropped, never written to the new one (the broker sends the
  unacked messages again, and a new connection publishes every ack again).
These are overrides of paho's private methods (``paho-mqtt>=2,<3`` in pyproject.toml);
tests/hub/test_buffered_client.py runs them against the real broker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes

READ_CHUNK = 64 * 1024
WAKE = b"0"  # what paho writes to its wake-up socket
MQTT_ERR_SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS
PUBACK, PUBLISH = PacketTypes.PUBACK << 4, PacketTypes.PUBLISH << 4
_PUBACK_HEAD = bytes([PUBACK, 2])  # a PUBACK with success and no properties: 2 bytes of mid
_PUBLISH_QOS0 = {False: bytes([PUBLISH]), True: bytes([PUBLISH | 1])}  # by retain


def _remaining_length(length: int) -> bytes:
    """MQTT's variable-length integer (1 to 4 bytes, 7 bits each, least significant first)."""
    if length > 268_435_455:
        raise ValueError("an MQTT packet holds at most 268,435,455 bytes")
    out = bytearray()
    while True:
        length, byte = length >> 7, length & 127
        out.append(byte | 128 if length else byte)
        if not length:
            return bytes(out)


class _Held(threading.local):
    """Per thread: inside ``one_wake`` (``on``), whether a wake is due, the bytes gathered and
    the socket they are for."""

    on = False
    due = False
    sock: Any = None

    def __init__(self) -> None:
        self.out: list[bytes] = []


class _Noted:
    """Stands in for the wake-up socket inside ``one_wake``: notes the wake, sends nothing."""

    def __init__(self, held: _Held) -> None:
        self._held = held

    def send(self, _data: bytes) -> int:
        self._held.due = True
        return 1


def _in_packet(command: int, length: int, body: bytes | bytearray) -> Any:
    """paho's record of the packet being read, as it is once the whole packet is in."""
    return {"command": command, "have_remaining": 1 if command else 0, "remaining_count": [],
            "remaining_mult": 1, "remaining_length": length, "packet": body,
            "to_process": 0, "pos": 0}


class BufferedClient(mqtt.Client):
    """A paho ``Client`` whose reads come from a block buffer (see the module's rules)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._block = b""
        self._at = 0
        self._held = _Held()
        self._noted = _Noted(self._held)
        self.framed = 0  # packets framed from the buffer in one step (``_packet_read``)
        self._filtered = False  # a per-topic callback was added (``message_callback_add``)
        super().__init__(*args, **kwargs)

    def message_callback_add(self, sub: str, callback: Any) -> None:
        """paho's; from then on every message goes through paho's topic matcher."""
        self._filtered = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """``on_message`` as paho calls it, without its topic matcher while no per-topic
        callback was added (see the module's rules)."""
        if self._filtered:
            super()._handle_on_message(message)
            return
        on_message = self.on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

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
        """Packets this thread queues inside wake the network loop once, at the end; its
        PUBACKs and quick publishes go out as one write then (see the module's rules)."""
        held = self._held
        held.on, held.due, held.out, held.sock = True, False, [], self._sock
        try:
            yield
        finally:
            held.on = False
            out, held.out, sock, held.sock = held.out, [], held.sock, None
            if out and sock is not None and self._sock is sock:
                self._packet_queue(PUBACK, b"".join(out), 0, 1)  # wakes the loop (once)
            elif held.due:
                wake = self.__dict__.get("_wake_socket")
                if wake is not None:
                    # paho's own send ignores a full pipe; a closed one: the loop is gone
                    with suppress(BlockingIOError, OSError):
                        wake.send(WAKE)

    def _send_puback(self, mid: int) -> MQTTErrorCode:
        """paho's PUBACK (``ack`` with manual acks); gathered inside ``one_wake``."""
        if not self._held.on:
            return super()._send_puback(mid)
        self._held.out.append(_PUBACK_HEAD + mid.to_bytes(2, "big"))
        return MQTT_ERR_SUCCESS

    def publish_quick(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Publish at QoS 0; inside ``one_wake`` as gathered bytes (the same bytes paho's
        ``publish`` sends), elsewhere through paho. False when not connected."""
        if not self._held.on:
            return self.publish(topic, payload, qos=0, retain=retain).rc == MQTT_ERR_SUCCESS
        if self._sock is None:
            return False
        name = topic.encode()
        if not name or b"+" in name or b"#" in name or len(name) > 65535:
            raise ValueError(f"cannot publish to {topic!r}")
        props = b"\x00" if self._protocol == MQTTProtocolVersion.MQTTv5 else b""
        length = 2 + len(name) + len(props) + len(payload)
        self._held.out.append(b"".join((
            _PUBLISH_QOS0[retain], _remaining_length(length), len(name).to_bytes(2, "big"), name,
            props, payload)))
        return True

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

    def _packet_read(self) -> MQTTErrorCode:
        """Frame a packet that is wholly in the buffer here; anything else as paho does."""
        block, at = self._block, self._at
        if self._in_packet["command"] != 0 or at >= len(block):
            return super()._packet_read()
        length, shift, pos = 0, 0, at + 1
        while True:  # the remaining length: 1-4 bytes of 7 bits, least significant first
            if pos >= len(block) or shift > 21:
                return super()._packet_read()  # not all here, or malformed: paho's way
            byte = block[pos]
            pos += 1
            length |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                break
        end = pos + length
        if end > len(block):
            return super()._packet_read()
        self._at = end
        self._in_packet = _in_packet(block[at], length, block[pos:end])
        self.framed += 1
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = _in_packet(0, 0, bytearray())  # as paho leaves it after a packet
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _handle_publish(self) -> MQTTErrorCode:
        """A QoS 0/1 MQTT 5 PUBLISH without properties in one pass; any other as paho does."""
        header, packet = self._in_packet["command"], self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        if (self._protocol != MQTTProtocolVersion.MQTTv5 or qos > 1 or len(packet) < 3
                or self.on_log is not None or self._logger is not None):
            return super()._handle_publish()
        topic_end = 2 + int.from_bytes(packet[:2], "big")
        pos = topic_end + (2 if qos else 0)
        if pos >= len(packet) or packet[pos] != 0:  # no property length byte, or properties
            return super()._handle_publish()
        message = mqtt.MQTTMessage(int.from_bytes(packet[topic_end:pos], "big") if qos else 0,
                                   bytes(packet[2:topic_end]))
        message.dup, message.qos, message.retain = bool(header & 0x08), qos, bool(header & 0x01)
        message.payload = bytes(packet[pos + 1:])
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        if qos == 0 or self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(message.mid)

    def _sock_close(self) -> None:
        self._block, self._at = b"", 0
        super()._sock_close()

    @property
    def buffered(self) -> int:
        """Bytes read from the socket and not yet parsed (0 whenever ``loop_read`` returns)."""
        return len(self._block) - self._at
