"""Label printers: raw TCP 9100 to a real local server, serial over a pty, files; failures are readable OSErrors."""

from __future__ import annotations

import socket

import pytest
from driver_harness import LineServer, PtyDevice, wait_until

from drivers.base import DeviceState
from drivers.printers import FilePrinter, PrinterUnavailable, SerialPrinter, SocketPrinter
from drivers.registry import printer_for

ZPL = "^XA^CI28^FO50,50^A0N,40,40^FDA-01-02-1 Åland ½^FS^FO50,120^BCN,100,Y,N,N^FD>;0950110153000317^FS^XZ"


def _free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def server():
    srv = LineServer()
    yield srv
    srv.stop()


def test_network_printer_receives_exactly_the_zpl_sent(server):
    printer = SocketPrinter(server.url)

    printer.send_zpl(ZPL)

    wait_until(lambda: bytes(server.received) == ZPL.encode("utf-8"), what="the job at the server")
    assert printer.state is DeviceState.CONNECTED


def test_network_printer_sends_each_job_whole_and_in_order(server):
    printer = printer_for(server.url)
    graphic = bytes(range(256)) * 400  # a ~100 kB binary job (a ~DG graphic)
    jobs = [b"^XA^FDjob1^FS^XZ", graphic, b"^XA^FDjob3^FS^XZ"]

    for job in jobs:
        printer.send(job)

    wait_until(lambda: len(server.received) == sum(map(len, jobs)), what="all jobs")
    assert bytes(server.received) == b"".join(jobs)
    assert server.accepted == 3  # one connection per job


def test_unreachable_network_printer_raises_a_readable_error_and_says_so():
    printer = SocketPrinter(f"socket://127.0.0.1:{_free_port()}?timeout=2")

    with pytest.raises(PrinterUnavailable, match=r"cannot be reached \(connection refused\) — check it is on"):
        printer.send_zpl(ZPL)

    assert printer.state is DeviceState.DISCONNECTED
    assert isinstance(PrinterUnavailable("x"), OSError)


def test_network_printer_url_defaults_to_the_raw_port():
    assert SocketPrinter("socket://zebra-dock-1").port == 9100


def test_serial_printer_writes_the_job_and_reopens_after_a_replug(tmp_path):
    device = PtyDevice(tmp_path, "printer")
    try:
        printer = printer_for(f"serial://{device.path}?baud=9600")
        assert isinstance(printer, SerialPrinter)

        printer.send_zpl(ZPL)
        assert device.read_output(len(ZPL.encode())) == ZPL.encode()

        device.unplug()
        with pytest.raises(PrinterUnavailable, match="check its cable"):
            printer.send(b"^XA^XZ")
        assert printer.state is DeviceState.DISCONNECTED

        device.replug()
        printer.send(b"^XA^FDback^FS^XZ")
        assert device.read_output(16) == b"^XA^FDback^FS^XZ"
        assert printer.state is DeviceState.CONNECTED
        printer.close()
    finally:
        device.close()


def test_file_printer_writes_each_job_to_its_own_file_in_order(tmp_path):
    folder = tmp_path / "labels" / "dock"
    printer = printer_for(f"file://{folder}")

    printer.send_zpl(ZPL)
    first = printer.last_path
    printer.send(b"^XA^FDsecond^FS^XZ")

    files = sorted(folder.iterdir())
    assert files == sorted([first, printer.last_path])
    assert [f.read_bytes() for f in files] == [ZPL.encode(), b"^XA^FDsecond^FS^XZ"]
    assert all(f.suffix == ".zpl" for f in files)


def test_file_printer_that_cannot_write_raises_a_readable_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the folder should be")
    printer = FilePrinter(f"file://{blocker}/labels")

    with pytest.raises(PrinterUnavailable, match="Cannot write the label"):
        printer.send_zpl(ZPL)
    assert printer.state is DeviceState.ERROR


@pytest.mark.parametrize(("url", "problem"), [
    ("pigeon://loft", "No printer driver for 'pigeon'"),
    ("file://relative/dir", "needs a directory"),
    ("socket://zebra:9100?colour=red", "colour"),
    ("serial:///dev/ttyUSB0?baud=slow", "baud"),
    ("file:///tmp/labels?ext=../x", "ext"),
])
def test_a_bad_printer_url_is_refused_naming_the_problem(url, problem):
    with pytest.raises(ValueError, match=problem):
        printer_for(url)
