"""Label printers: raw TCP 9100 to a real local server, serial over a pty, files; failures are readable OSErrors."""

from __future__ import annotations

import socket

import pytest
from driver_harness import LineServer, PtyDevice, wait_until

from drivers.base import DeviceState
from drivers.printers import (CarrierJob, CarrierLabelRefused, FilePrinter, PrinterUnavailable, SerialPrinter, SocketPrinter,
                              carrier_job, send_carrier_label)
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


# --------------------------------------------------------------------------- carrier labels: ZPL the app did not write

# A carrier's 4x6 label as shipping APIs hand them out, with the printer setup they like to
# carry along: peel-off mode, media, darkness, width, and saving it all for good (^JUS).
CARRIER = (
    b"^XA^MMP^MNY^MTD^PW812^LL1218^PR4^MD10~SD25^LH0,0^PQ1^CI28\r\n"
    b"^FO50,50^A0N,40,40^FDSHIP TO: J. NOVAK^FS\r\n"
    b"^FO50,150^BY3^BCN,200,Y,N,N^FD>;>8420101151^FS\r\n"
    b"^JUS^XZ\r\n"
)
CARRIER_PRINTED = (
    b"^XA^LL1218^PR4^MD10^LH0,0^PQ1^CI28\r\n"
    b"^FO50,50^A0N,40,40^FDSHIP TO: J. NOVAK^FS\r\n"
    b"^FO50,150^BY3^BCN,200,Y,N,N^FD>;>8420101151^FS\r\n"
    b"^XZ\r\n"
)


def test_carrier_label_reaches_a_network_printer_without_its_setup_commands(server):
    printer = SocketPrinter(server.url)

    job = send_carrier_label(printer, CARRIER)

    wait_until(lambda: len(server.received) >= len(CARRIER_PRINTED), what="the carrier label at the server")
    assert bytes(server.received) == CARRIER_PRINTED
    assert job.stripped == ("^MMP", "^MNY", "^MTD", "^PW812", "~SD25", "^JUS")


def test_carrier_label_with_binary_graphics_reaches_a_serial_printer_whole(tmp_path):
    # ^GFB data is raw bytes: a ^ or ~ in it is no command and must pass untouched.
    graphic = bytes([0x5E, 0x4D, 0x4D, 0x50, 0x7E, 0x4A, 0x52, 0xFF])  # "^MMP~JR" and 0xFF as pixels
    label = b"^XA^MMC^FO10,10^GFB,8,8,1," + graphic + b"^FS~JR^XZ"
    device = PtyDevice(tmp_path, "printer")
    try:
        printer = printer_for(f"serial://{device.path}?baud=9600")

        job = send_carrier_label(printer, label)

        expected = b"^XA^FO10,10^GFB,8,8,1," + graphic + b"^FS^XZ"
        assert device.read_output(len(expected)) == expected
        assert job.stripped == ("^MMC", "~JR")
        printer.close()
    finally:
        device.close()


@pytest.mark.parametrize("command", [
    b"^MMP", b"^MMC", b"^MMT", b"^JUS", b"^JUF", b"^JUR", b"~JR", b"^MNY", b"^MNM", b"^MTT", b"~SD20",
    b"^PW600", b"^MFN,N", b"^KP1234", b"^JZN", b"~JSN", b"^LT20", b"^SZ1", b"^MUm", b"~JC", b"^NSp,10.0.0.9",
    b"^mmp",  # ZPL command names are read regardless of case
])
def test_printer_setup_commands_are_stripped(command):
    job = carrier_job(b"^XA" + command + b"^FO10,10^FDx^FS^XZ")
    assert job.data == b"^XA^FO10,10^FDx^FS^XZ" and job.stripped == (command.decode(),)


@pytest.mark.parametrize("command", [b"^LL1218", b"^LH10,10", b"^LS0", b"^LRN", b"^PR4", b"^MD5", b"^BY3", b"^CI28",
                                     b"^PON", b"^PQ2", b"^FWN", b"^CF0,30"])
def test_what_draws_the_label_itself_is_kept(command):
    zpl = b"^XA" + command + b"^FO10,10^FDx^FS^XZ"
    assert carrier_job(zpl) == CarrierJob(zpl, ())


@pytest.mark.parametrize("zpl, problem", [
    (b"^XA^CC!!FO10,10!FDx!FS!XZ", "command characters"),
    (b"~CT+^XA^FDx^FS^XZ", "command characters"),
    (b"^XA^CD;^XZ", "command characters"),
    (b'! U1 setvar "media.printmode" "peel"\r\n^XA^FDx^FS^XZ', "not ZPL"),
    (b'^XA^FDx^FS^XZ\r\n! U1 setvar "media.printmode" "peel"\r\n', "not ZPL"),
    (b'~DGR:LOGO.GRF,2,1,FF\r\n! U1 setvar "media.printmode" "peel"\r\n^XA^XGR:LOGO.GRF^FS^XZ', "Set-Get-Do"),
    (b'{}{"media.printmode":"peel"}', "not ZPL"),
    (b"N\r\nq812\r\nA50,50,0,3,1,1,N,\"EPL\"\r\nP1\r\n", "not ZPL"),
    (b"~JR^JUS", "no label"),
])
def test_carrier_jobs_that_cannot_be_read_safely_are_refused_and_nothing_is_sent(server, zpl, problem):
    printer = SocketPrinter(server.url)

    with pytest.raises(CarrierLabelRefused, match=problem):
        send_carrier_label(printer, zpl)

    assert server.accepted == 0 and not server.received
