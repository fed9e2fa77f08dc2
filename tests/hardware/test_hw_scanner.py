"""The scanner supervisor over in-memory, loop:// and text-stream sources; line framing."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
import serial

from hardware.errors import ScannerError, ScannerUnavailable
from hardware.scanner import (
    Backoff,
    LineSource,
    MemoryLineSource,
    ScannerState,
    ScannerSupervisor,
)
from hardware.scanner_serial import (
    LineFramer,
    SerialLinePort,
    SerialScannerConfig,
    clean_line,
    open_serial_port,
)
from hardware.scanner_stdin import StreamLinePort, stdin_scanner
from tests.hardware.conftest import Recorder

FAST = Backoff(initial=0.01, maximum=0.05)


@pytest.fixture
def memory() -> MemoryLineSource:
    return MemoryLineSource()


@pytest.fixture
def supervised(memory: MemoryLineSource, recorder: Recorder) -> Iterator[ScannerSupervisor]:
    supervisor = ScannerSupervisor(
        memory.open, recorder.on_scan, recorder.on_status, name="mem", backoff=FAST
    )
    with supervisor:
        yield supervisor


def test_memory_scans_reach_the_callback_in_order(
    memory: MemoryLineSource, recorder: Recorder, supervised: ScannerSupervisor
) -> None:
    for line in ("4006381333931", "RT-000C1SE", "X001ABCDEF"):
        memory.push(line)
    assert recorder.wait_scans(3) == ["4006381333931", "RT-000C1SE", "X001ABCDEF"]
    assert supervised.status.state is ScannerState.CONNECTED
    states = [status.state for status in recorder.statuses]
    assert states[:2] == [ScannerState.STARTING, ScannerState.CONNECTED]


def test_unplug_and_replug_publish_status_and_resume(
    memory: MemoryLineSource, recorder: Recorder, supervised: ScannerSupervisor
) -> None:
    connected = recorder.wait_state(ScannerState.CONNECTED)
    memory.unplug()
    gone = recorder.wait_state(ScannerState.DISCONNECTED, after=connected)
    assert recorder.statuses[gone].last_error == "memory: unplugged"
    memory.replug()
    recorder.wait_state(ScannerState.CONNECTED, after=gone)
    memory.push("after replug")
    assert recorder.wait_scans(1) == ["after replug"]
    assert supervised.status.last_error is None


def test_failing_callback_is_logged_and_reading_goes_on(
    memory: MemoryLineSource, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def on_scan(line: str) -> None:
        if line == "boom":
            raise RuntimeError("handler bug")
        recorder.on_scan(line)

    with caplog.at_level(logging.ERROR), ScannerSupervisor(memory.open, on_scan, backoff=FAST):
        memory.push("boom")
        memory.push("next")
        assert recorder.wait_scans(1) == ["next"]
    assert "scan callback failed for 'boom'" in caplog.text


def test_open_errors_become_status_not_exceptions(recorder: Recorder) -> None:
    attempts: list[int] = []

    def opener() -> LineSource:
        attempts.append(1)
        raise ScannerError("permission denied on /dev/ttyACM0")

    with ScannerSupervisor(opener, recorder.on_scan, recorder.on_status, backoff=FAST) as sup:
        index = recorder.wait_state(ScannerState.ERROR)
        assert recorder.statuses[index].last_error == "permission denied on /dev/ttyACM0"
    assert sup.status.state is ScannerState.STOPPED
    states = [s.state for s in recorder.statuses]
    assert states.count(ScannerState.ERROR) == 1, "an unchanged error is published once"


def test_unexpected_source_error_is_reported_as_error(recorder: Recorder) -> None:
    class Broken:
        def read_line(self, timeout: float) -> str | None:
            raise KeyError("bug")

        def close(self) -> None:
            pass

    with ScannerSupervisor(Broken, recorder.on_scan, recorder.on_status, backoff=FAST):
        index = recorder.wait_state(ScannerState.ERROR)
    assert recorder.statuses[index].last_error == "KeyError: 'bug'"


def test_stop_is_idempotent_and_restart_works(memory: MemoryLineSource, recorder: Recorder) -> None:
    supervisor = ScannerSupervisor(memory.open, recorder.on_scan, recorder.on_status)
    supervisor.stop()
    supervisor.start()
    supervisor.start()
    supervisor.stop()
    supervisor.stop()
    with supervisor:
        memory.push("again")
        assert recorder.wait_scans(1) == ["again"]
    assert supervisor.status.state is ScannerState.STOPPED


def test_backoff_doubles_up_to_its_maximum() -> None:
    backoff = Backoff(initial=0.2, maximum=1.0)
    assert [backoff.delay(n) for n in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.delay(10_000) == 1.0


@pytest.mark.parametrize(
    ("terminator", "chunks", "lines"),
    [
        (None, [b"123\r", b"456\n", b"789\r\n"], [b"123", b"456", b"789"]),
        (None, [b"12", b"3\r\n\r\n45", b"6\r"], [b"123", b"456"]),
        (b"\x03", [b"\x02ab\x03", b"\x02cd"], [b"\x02ab"]),
        (None, [b"a\x1db\r"], [b"a\x1db"]),
    ],
)
def test_line_framer(terminator: bytes | None, chunks: list[bytes], lines: list[bytes]) -> None:
    framer = LineFramer(terminator)
    assert [line for chunk in chunks for line in framer.feed(chunk)] == lines


def test_line_framer_delivers_an_overlong_line_instead_of_growing_forever() -> None:
    framer = LineFramer(max_line=8)
    assert framer.feed(b"0123456789") == [b"0123456789"]
    assert framer.feed(b"ok\r") == [b"ok"]


def test_clean_line_strips_prefix_suffix_and_replaces_bad_bytes() -> None:
    config = SerialScannerConfig(port="loop://", prefix="STX", suffix="#")
    assert clean_line(b"STX4006381333931#", config) == "4006381333931"
    assert clean_line(b"\xff12", config) == "\ufffd12"


def test_serial_port_over_pyserial_loop_url() -> None:
    config = SerialScannerConfig(port="loop://", suffix="!")
    port = serial.serial_for_url("loop://", timeout=config.read_timeout)
    source = SerialLinePort(port, config)
    try:
        port.write(b"4006381333931!\r\nRT-000C1SE!\r")
        assert source.read_line(1.0) == "4006381333931"
        assert source.read_line(1.0) == "RT-000C1SE"
        assert source.read_line(0.1) is None
    finally:
        source.close()


def test_open_serial_port_maps_errors(tmp_path: os.PathLike[str]) -> None:
    with pytest.raises(ScannerUnavailable, match="no such port"):
        open_serial_port(SerialScannerConfig(port=f"{tmp_path}/missing"))
    with pytest.raises(ScannerError, match="cannot open"):
        open_serial_port(SerialScannerConfig(port=str(tmp_path)))  # a directory
    with pytest.raises(ScannerError, match="bad serial settings"):
        open_serial_port(SerialScannerConfig(port="loop://", baudrate=-5))
    open_serial_port(SerialScannerConfig(port="loop://")).close()


def test_stream_source_without_file_descriptor() -> None:
    source = StreamLinePort(io.StringIO("4006381333931\n\nRT-000C1SE\r\n"), name="test")
    assert [source.read_line(0.1), source.read_line(0.1)] == ["4006381333931", "RT-000C1SE"]
    with pytest.raises(ScannerUnavailable, match="test: stream ended"):
        source.read_line(0.1)


def test_stdin_scanner_over_a_pipe(recorder: Recorder) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream:
        supervisor = stdin_scanner(recorder.on_scan, recorder.on_status, stream=stream)
        with supervisor:
            os.write(write_fd, b"96385074\nX001ABCDEF\n")
            assert recorder.wait_scans(2) == ["96385074", "X001ABCDEF"]
            os.close(write_fd)
            index = recorder.wait_state(ScannerState.DISCONNECTED)
            assert recorder.statuses[index].last_error == "stdin: stream ended"
