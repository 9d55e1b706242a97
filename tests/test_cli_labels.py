"""`warehouse-tui labels`: label files, ZPL on stdout, and the same ZPL sent to a raw TCP printer."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warehouse_tui.cli", *args], capture_output=True, text=False, timeout=60)


def test_bin_labels_sent_to_a_tcp_printer_are_the_zpl_printed_to_stdout(demo_path):
    # given a printer listening on a real local socket
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def accept_jobs() -> None:
        server.settimeout(30)
        try:
            while True:
                conn, _ = server.accept()
                with conn:
                    while chunk := conn.recv(65536):
                        received.extend(chunk)
        except OSError:
            return

    threading.Thread(target=accept_jobs, daemon=True).start()
    try:
        # when the same labels go to stdout and to the printer
        stdout = run("labels", "bins", "--codes", "A-01-01-1,RCV-01", "--db", str(demo_path))
        sent = run("labels", "bins", "--codes", "A-01-01-1,RCV-01", "--db", str(demo_path), "--printer", f"socket://127.0.0.1:{port}")
        assert stdout.returncode == 0, stdout.stderr
        assert sent.returncode == 0, sent.stderr
        assert b"Sent 2 label(s)" in sent.stdout
        # then the printer got exactly the ZPL
        for _ in range(100):
            if len(received) >= len(stdout.stdout):
                break
            threading.Event().wait(0.05)
        assert bytes(received) == stdout.stdout
        assert stdout.stdout.count(b"^XA") == 2 and b"A-01-01-1" in stdout.stdout
    finally:
        server.close()


def test_an_unreachable_printer_is_a_clear_error(demo_path):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    done = run("labels", "bins", "--codes", "RCV-01", "--db", str(demo_path), "--printer", f"socket://127.0.0.1:{port}")
    assert done.returncode == 1
    assert b"did not take the labels" in done.stderr and b"Traceback" not in done.stderr


def test_unknown_printer_scheme_is_refused(demo_path):
    done = run("labels", "bins", "--codes", "RCV-01", "--db", str(demo_path), "--printer", "pigeon://loft")
    assert done.returncode == 1 and b"Traceback" not in done.stderr


def test_label_files_for_codes_a_file_name_would_merge_are_all_written(demo_path, tmp_path):
    # given pallets whose codes differ only in a character a file name cannot hold
    from warehouse_tui.db.engine import Database
    from warehouse_tui.services import masterdata

    db = Database(demo_path)
    with db.transaction() as session:
        for code in ("LPN>03", "LPN_03", "LPN<03"):
            masterdata.container(session, code)
    db.dispose()
    out = tmp_path / "labels"

    # when every LPN label is written as PNG
    done = run("labels", "lpn", "--format", "png", "--out", str(out), "--db", str(demo_path))

    # then every path printed is its own file, and each reads back as its own code
    assert done.returncode == 0, done.stderr
    printed = done.stdout.decode().split()
    assert len(printed) == len(set(printed)) == len(list(out.iterdir())) >= 3
    import io

    import zxingcpp
    from PIL import Image

    read = {zxingcpp.read_barcodes(Image.open(io.BytesIO(open(path, "rb").read())))[0].text for path in printed}
    assert {"LPN>03", "LPN_03", "LPN<03"} <= read


def test_zpl_is_laid_out_for_the_printers_resolution_from_option_or_config(demo_path, tmp_path):
    sscc = "309501100001234560"
    default = run("labels", "sscc", "--codes", sscc, "--db", str(demo_path))
    by_option = run("labels", "sscc", "--codes", sscc, "--db", str(demo_path), "--dpi", "300")
    config = tmp_path / "warehouse-tui.toml"
    config.write_text("printer_dpi = 600\n")
    by_config = run("labels", "sscc", "--codes", sscc, "--db", str(demo_path), "--config", str(config))
    overridden = run("labels", "sscc", "--codes", sscc, "--db", str(demo_path), "--config", str(config), "--dpi", "203")

    assert b"^PW812" in default.stdout and b"^BY4^" in default.stdout  # 4 dots = 0.50 mm at 203 dpi
    assert b"^PW1200" in by_option.stdout and b"^BY6^" in by_option.stdout  # 6 dots = 0.51 mm at 300 dpi
    assert b"^PW2400" in by_config.stdout and b"^GB12," in by_config.stdout  # 12 dots = 0.51 mm at 600 dpi
    assert overridden.stdout == default.stdout  # the option beats the config file


def test_an_unknown_printer_resolution_in_the_config_is_a_clear_error(demo_path, tmp_path):
    config = tmp_path / "warehouse-tui.toml"
    config.write_text("printer_dpi = 250\n")
    done = run("labels", "bins", "--codes", "RCV-01", "--db", str(demo_path), "--config", str(config))
    assert done.returncode == 1 and b"printer_dpi must be 203, 300, 600" in done.stderr and b"Traceback" not in done.stderr


def test_bin_labels_with_every_printable_ascii_character_read_back_from_the_svg_files(demo_path, tmp_path):
    import csv
    import io

    import resvg_py
    import zxingcpp
    from PIL import Image

    # given bins whose barcodes hold every printable ASCII character between them
    ascii_chars = "".join(chr(c) for c in range(0x20, 0x7F))
    barcodes = {f"ASC-{n}": "B" + ascii_chars[i:i + 12] for n, i in enumerate(range(0, len(ascii_chars), 12))}
    with open(tmp_path / "bins.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["code", "barcode", "zone", "kind", "pick_seq"])
        writer.writerows([code, barcode, "A", "storage", 9000 + n] for n, (code, barcode) in enumerate(barcodes.items()))
    imported = run("import", "bins", str(tmp_path / "bins.csv"), "--db", str(demo_path))
    assert imported.returncode == 0, imported.stderr

    # when their labels are written as SVG
    out = tmp_path / "labels"
    done = run("labels", "bins", "--codes", ",".join(barcodes), "--format", "svg", "--out", str(out), "--db", str(demo_path))

    # then each file, rendered, reads back as its barcode in plain Code 128
    assert done.returncode == 0, done.stderr
    read = []
    for path in done.stdout.decode().split("\n")[:-1]:
        png = resvg_py.svg_to_bytes(svg_path=path, dpi=300, background="#ffffff")
        (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        read.append((found.text, found.symbology_identifier))
    assert read == [(barcode, "]C0") for barcode in barcodes.values()]
