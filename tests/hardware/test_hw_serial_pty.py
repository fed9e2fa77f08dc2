"""A serial scanner on a real socat pty pair: scans arrive; unplug and replug reconnect."""

from __future__ import annotations

from hardware.codes import Gtin, ReturnCode, parse_scan
from hardware.scanner import Backoff, ScannerState
from hardware.scanner_serial import SerialScannerConfig, serial_scanner
from tests.hardware.conftest import Recorder, SocatPair

FAST = Backoff(initial=0.02, maximum=0.1)


def test_pty_lines_become_typed_scans_and_replug_reconnects(
    socat_pair: SocatPair, recorder: Recorder
) -> None:
    config = SerialScannerConfig(port=str(socat_pair.scanner), baudrate=9600, prefix="]E0")
    supervisor = serial_scanner(config, recorder.on_scan, recorder.on_status, backoff=FAST)
    with supervisor:
        connected = recorder.wait_state(ScannerState.CONNECTED)
        socat_pair.write(b"]E04006381333931\r\n")
        socat_pair.write(b"RT-000C1SE\r")
        assert recorder.wait_scans(2) == ["4006381333931", "RT-000C1SE"]
        assert isinstance(parse_scan(recorder.scans[0]), Gtin)
        assert isinstance(parse_scan(recorder.scans[1]), ReturnCode)

        socat_pair.kill()  # unplug
        gone = recorder.wait_state(ScannerState.DISCONNECTED, after=connected)
        assert str(socat_pair.scanner) in (recorder.statuses[gone].last_error or "")

        socat_pair.start()  # replug, same link names
        recorder.wait_state(ScannerState.CONNECTED, after=gone)
        socat_pair.write(b"X001ABCDEF\n")
        assert recorder.wait_scans(3)[2] == "X001ABCDEF"
    assert supervisor.status.state is ScannerState.STOPPED
