"""The `warehouse-tui` command (DESIGN §6)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from warehouse_tui.config import Settings, load_settings
from warehouse_tui.errors import WarehouseError

IMPORT_KINDS = ("items", "bins", "users", "inbound", "orders", "stock", "returns", "pickfaces")
EXPORT_KINDS = ("stock", "serials", "ledger", "shipments", "exceptions", "counts", "returns", "confirmations")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL or SQLite file path (env WAREHOUSE_DB)")
    parser.add_argument("--config", help="TOML config file")
    parser.add_argument("--terminal", help="this terminal's name (env WAREHOUSE_TERMINAL)")
    parser.add_argument("--upstream", help="upstream SQLAlchemy URL (env WAREHOUSE_UPSTREAM; keep passwords in the env or config)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warehouse-tui", description="The floor app of a warehouse.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("run", help="the terminal app (the default command)")
    _common(p)
    p.add_argument("--scanner", help="scanner URL: keyboard, sim://, serial://… (env WAREHOUSE_SCANNER)")

    p = sub.add_parser("replay", help="drive the real app headless from a script (exit 0 ok, 1 expect failed, 2 bad script)")
    _common(p)
    p.add_argument("script")
    p.add_argument("--size", default="80x24", help="terminal size, e.g. 40x16")
    p.add_argument("--screens", help="directory for snapshot SVGs (default ./screens)")
    p.add_argument("--trace", action="store_true", help="print each event as it completes")

    p = sub.add_parser("serve", help="the same app in a browser (textual-serve); every session starts at login")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--public-url", help="the URL browsers reach the server at, when behind a proxy")

    p = sub.add_parser("demo", help="build a demo warehouse and open it")
    _common(p)
    p.add_argument("--scanner", help="scanner URL (default keyboard)")
    p.add_argument("--no-open", action="store_true", help="build and print what was made, do not open the app")
    p.add_argument("--large", action="store_true", help="the benchmark size of DESIGN §9 (100k items, 50k bins, 1M quants)")
    p.add_argument("--items", type=int, help="number of items (with --large)")
    p.add_argument("--bins", type=int, help="number of bins (with --large)")
    p.add_argument("--quants", type=int, help="number of quants (with --large)")
    p.add_argument("--force", action="store_true", help="replace an existing database file")

    p = sub.add_parser("db", help="database migrations")
    _common(p)
    p.add_argument("action", choices=("upgrade", "current"))

    p = sub.add_parser("import", help="import a CSV file (one transaction; nothing imported if any row is bad)")
    _common(p)
    p.add_argument("kind", choices=IMPORT_KINDS)
    p.add_argument("file")

    p = sub.add_parser("export", help="export to stdout")
    _common(p)
    p.add_argument("kind", choices=EXPORT_KINDS)
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--owner", help="stock, shipments, ledger, confirmations: one client's (owner code) only")
    p.add_argument("--since", help="confirmations: cartons shipped at or after this UTC time (2026-12-01 or 2026-12-01T08:00Z)")
    p.add_argument("--unsent", action="store_true", help="confirmations: only those not yet marked sent")
    p.add_argument("--mark-sent", action="store_true", help="confirmations: mark the rows written as sent")

    p = sub.add_parser("confirm", help="post unsent shipment confirmations as JSON to the OMS (retries; marked sent on 2xx)")
    _common(p)
    p.add_argument("--url", required=True, help="the OMS webhook, http:// or https://")
    p.add_argument("--owner", help="one client's confirmations only")
    p.add_argument("--attempts", type=int, default=5, help="tries per confirmation (default 5)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for an answer (default 10)")
    p.add_argument("--backoff", type=float, default=1.0, help="seconds before the first retry, doubling (default 1)")

    # The kinds are the modules of services/reports (found when the command runs, not on every start).
    p = sub.add_parser("report", help="reports: activity, productivity, accuracy, dock-to-stock, expiry (warehouse_tui/services/reports/)")
    _common(p)
    p.add_argument("kind", help="activity, productivity, accuracy, dock-to-stock or expiry (a module of services/reports)")
    p.add_argument("--owner", help="one client (owner code); default every client")
    p.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (default today)")
    p.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default --from)")
    p.add_argument("--format", choices=("csv", "json", "html"), default="csv")

    p = sub.add_parser("wave", help="release new orders into pick lists (reserves their stock)")
    _common(p)
    p.add_argument("--orders", help="REF,REF,… (default: every new order, highest priority first)")
    p.add_argument("--max-orders", type=int)

    p = sub.add_parser("replenish", help="replenishment tasks for every pick face at or below its min")
    _common(p)
    p.add_argument("--zone", help="only the faces of this zone")

    p = sub.add_parser("count", help="cycle counts")
    count_sub = p.add_subparsers(dest="action", required=True)
    c = count_sub.add_parser("create", help="create count tasks for bins or a zone")
    _common(c)
    target = c.add_mutually_exclusive_group(required=True)
    target.add_argument("--bins", help="bin codes, comma-separated (A-01-01-1,A-01-01-2)")
    target.add_argument("--zone", help="every bin of this zone")
    c.add_argument("--blind", action="store_true", help="counters see no book quantities")

    p = sub.add_parser("users", help="operators' badges")
    users_sub = p.add_subparsers(dest="action", required=True)
    u = users_sub.add_parser("unlock", help="clear a badge's lock after 5 wrong PINs (audited)")
    _common(u)
    u.add_argument("badge")

    p = sub.add_parser("scanner", help="show what a scanner sends (test URL) or list serial ports (ports)")
    _common(p)
    p.add_argument("action", choices=("test", "ports"))
    p.add_argument("url", nargs="?", help="scanner URL (default: the configured scanner)")

    p = sub.add_parser("labels", help="label files for bins, items, LPNs or SSCCs (ZPL, SVG or PNG)")
    _common(p)
    p.add_argument("kind", choices=("bins", "items", "lpn", "sscc"))
    p.add_argument("--format", choices=("zpl", "svg", "png"), default="zpl")
    p.add_argument("--codes", help="comma-separated bin codes, SKUs, LPNs or SSCCs (default: all of the kind)")
    p.add_argument("--count", type=int, default=0, help="sscc: how many new SSCCs to issue")
    p.add_argument("--out", help="directory for the label files (default: label_dir, else the user data dir); "
                                 "zpl without --out goes to stdout")
    p.add_argument("--printer", help="printer URL: socket://host:9100, serial://…, file:///dir")
    p.add_argument("--dpi", type=int, choices=(203, 300, 600),
                   help="the label printer's resolution, for ZPL (default: printer_dpi, 203)")

    p = sub.add_parser("sync", help="push and pull once with the upstream (--watch to keep going)")
    _common(p)
    p.add_argument("--watch", action="store_true", help="keep syncing every --interval seconds until Ctrl+C")
    p.add_argument("--interval", type=float, default=5.0)

    p = sub.add_parser("upstream", help="create or upgrade the upstream database (idempotent)")
    _common(p)
    p.add_argument("action", choices=("init",))
    p.add_argument("url", nargs="?", help="default: --upstream / WAREHOUSE_UPSTREAM / config")

    p = sub.add_parser("check", help="verify the ledger invariants; exit 1 with a report when one is broken")
    _common(p)

    p = sub.add_parser("bench", help="performance figures as JSON (DESIGN §9)")
    _common(p)
    p.add_argument("--quants", type=int, default=1_000_000, help="quants in the large dataset (default 1M)")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--bins", type=int, default=50_000)
    p.add_argument("--samples", type=int, default=500, help="timed transactions per measurement")
    p.add_argument("--workdir", help="where to build (or reuse) the datasets")
    p.add_argument("--serials", type=int, default=10_000, help="serial receipts through the full app (0 = skip)")
    p.add_argument("--pg", default=os.environ.get("WAREHOUSE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                   help="PostgreSQL server for the sync figures (scratch databases are made and dropped); 'none' skips them")
    p.add_argument("--sync-movements", type=int, default=20_000, help="movements pushed for the push figure")
    p.add_argument("--sync-items", type=int, default=100_000, help="items pulled for the pull figure")
    p.add_argument("--sync-terminals", type=int, default=50, help="terminals syncing at once for the load figure (0 skips it)")
    p.add_argument("--import-rows", type=int, help="stock rows and order lines imported for the import figures (default: quants/10; 0 skips)")
    p.add_argument("--only", choices=("floor",), help="measure one figure only: floor (one floor view refresh at --quants)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), db=getattr(args, "db", None), terminal=getattr(args, "terminal", None),
                         upstream=getattr(args, "upstream", None))


def _open(args: argparse.Namespace, *, migrate: bool = True):
    """A database for a command that may make a new one (import, db upgrade, sync)."""
    from warehouse_tui.db.engine import Database

    return Database(_settings(args).resolved_db(), migrate=migrate)


def _open_existing(args: argparse.Namespace):
    """A database for a command that writes to a warehouse but never makes one (wave, count create, new SSCCs)."""
    from warehouse_tui.db.engine import Database

    return Database(_settings(args).resolved_db(), create=False)


def _open_for_reading(args: argparse.Namespace, *, migrate: bool = True):
    """A database for a read command: never created, migrated nor written, and never waiting for a writer."""
    from warehouse_tui.db.engine import Database

    return Database(_settings(args).resolved_db(), read_only=True, migrate=migrate)


def cmd_db(args: argparse.Namespace) -> int:
    from warehouse_tui.db.migrate import current_revision, head_revision

    db = _open(args) if args.action == "upgrade" else _open_for_reading(args, migrate=False)
    current = current_revision(db.engine)
    print(f"{db.url}: revision {current or '(empty)'}; head {head_revision()}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from warehouse_tui.services.check import run_checks

    db = _open_for_reading(args)
    with db.reading() as session:
        report = run_checks(session)
    print(report.render())
    return 0 if report.ok else 1


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from warehouse_tui.services.importing import ImportProgress, import_file
    from warehouse_tui.services.ledger import Actor

    settings = _settings(args)
    db = _open(args)
    # A bar (and the timings) only where someone watches: logs and pipes get the one result line.
    watched = sys.stderr.isatty()
    bar = ImportProgress(sys.stderr, Path(args.file).name) if watched else None
    try:
        result = import_file(db, args.kind, args.file, Actor(None, settings.resolved_terminal()), on_progress=bar,
                             any_carriers=settings.any_carriers)
    finally:
        if bar is not None:
            bar.close()
    print(result)
    if watched and result.rows:
        print(f"checked in {result.checking_s:.1f} s (no write lock); written in {result.writing_s:.1f} s "
              f"(the write lock was held that long)", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse_tui.services.exporting import export

    if args.kind != "confirmations" and (args.since or args.unsent or args.mark_sent):
        raise WarehouseError("--since, --unsent and --mark-sent are for export confirmations")
    if args.kind == "confirmations":
        return _export_confirmations(args)
    db = _open_for_reading(args)
    try:
        with db.reading() as session:
            export(session, args.kind, args.format, sys.stdout, owner=args.owner)
        sys.stdout.flush()
    except BrokenPipeError:
        # `export … | head`: the reader left; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _export_confirmations(args: argparse.Namespace) -> int:
    from warehouse_tui.services import confirmations

    since = confirmations.parse_since(args.since)
    # Marking writes (only the rows written are marked, in the transaction that read them); otherwise a read.
    db = _open_existing(args) if args.mark_sent else _open_for_reading(args)
    with db.transaction() if args.mark_sent else db.reading() as session:
        rows = confirmations.pending(session, since=since, unsent=args.unsent, owner=args.owner)
        confirmations.write(rows, args.format, sys.stdout)
        sys.stdout.flush()
        if args.mark_sent:
            marked = confirmations.mark_sent(session, [c.confirmation_id for c in rows])
            print(f"marked {marked} confirmation(s) sent", file=sys.stderr)
    return 0


def cmd_confirm(args: argparse.Namespace) -> int:
    from warehouse_tui.services import confirmations

    result = confirmations.post(_open_existing(args), args.url, owner=args.owner, attempts=args.attempts,
                                backoff_s=args.backoff, timeout_s=args.timeout)
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    from warehouse_tui.services import reports

    opts = reports.options(args.owner, args.date_from, args.date_to)
    with _open_for_reading(args).reading() as session:
        reports.run(session, args.kind, opts, args.format, sys.stdout)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from warehouse_tui.demo import build_demo, build_large, holds_warehouse

    settings = _settings(args)
    if getattr(args, "scanner", None):
        settings.scanner = args.scanner
    if args.large:
        summary = build_large(settings.resolved_db(), items=args.items or 100_000, bins=args.bins or 50_000,
                              quants=args.quants or 1_000_000, force=args.force)
        print(summary)
    elif args.force or not holds_warehouse(settings.resolved_db()):
        print(build_demo(settings.resolved_db(), force=args.force))
    else:
        print(f"Opening the existing demo database {settings.resolved_db()} (--force rebuilds it)")
    if args.no_open:
        return 0
    return _run_app(settings)


def _log_to_file() -> None:
    """The app owns the terminal, so its log (bugs behind "Internal error" flashes) goes to a file."""
    import logging
    from logging.handlers import RotatingFileHandler

    from warehouse_tui.config import data_dir

    path = data_dir() / "warehouse-tui.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("warehouse_tui").addHandler(handler)
    logging.getLogger("warehouse_tui").setLevel(logging.INFO)


def _open_terminal_database(settings: Settings):
    """The app's database, migrated to head on start (DESIGN §6).

    A terminal's first start makes it: at the default place in the data dir, or
    anywhere when an upstream is configured (the first sync fills it). A path
    given by --db, WAREHOUSE_DB or the config that does not exist, with nothing
    to fill it, is a typo: refused, nothing created.
    """
    from warehouse_tui.config import default_db_path
    from warehouse_tui.db.engine import Database, sqlite_path, to_url

    db = settings.resolved_db()
    path = sqlite_path(to_url(db))
    first_start = path is None or path.expanduser().resolve() == default_db_path().resolve() or bool(settings.upstream)
    return Database(db, create=first_start)


def _run_app(settings: Settings) -> int:
    from warehouse_tui.app import WarehouseApp

    db = _open_terminal_database(settings)
    _log_to_file()
    WarehouseApp(db, settings).run()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if getattr(args, "scanner", None):
        settings.scanner = args.scanner
    return _run_app(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import os
    import shlex

    from textual_serve.server import Server

    settings = _settings(args)
    # Each browser session runs its own app process, which starts at the login
    # screen. Settings travel in the environment, so no URL (nor its password)
    # shows in a process list or the server's log.
    os.environ["WAREHOUSE_DB"] = settings.resolved_db()
    os.environ["WAREHOUSE_TERMINAL"] = settings.resolved_terminal()
    os.environ["WAREHOUSE_SCANNER"] = "keyboard"
    command = shlex.join([sys.executable, "-m", "warehouse_tui.cli", "run"] + (["--config", args.config] if args.config else []))
    Server(command, host=args.host, port=args.port, title="warehouse-tui", public_url=args.public_url).serve()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from warehouse_tui.replay import ScriptError, parse_size, replay

    try:
        size = parse_size(args.size)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args)
    db = _open_terminal_database(settings)  # the app as `run` starts it
    return replay(Path(args.script), db=db, settings=settings, size=size,
                  screens=Path(args.screens) if args.screens else None, trace=args.trace)


def cmd_wave(args: argparse.Namespace) -> int:
    from warehouse_tui.services.ledger import Actor
    from warehouse_tui.services.waves import release_from_cli

    settings = _settings(args)
    refs = args.orders.split(",") if args.orders is not None else None
    print(release_from_cli(_open_existing(args), refs, args.max_orders, Actor(None, settings.resolved_terminal())))
    return 0


def cmd_replenish(args: argparse.Namespace) -> int:
    from warehouse_tui.services.ledger import Actor
    from warehouse_tui.services.replenishment import replenish_from_cli

    settings = _settings(args)
    print(replenish_from_cli(_open_existing(args), args.zone, Actor(None, settings.resolved_terminal())))
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    from warehouse_tui.services.count_tasks import create_from_cli
    from warehouse_tui.services.ledger import Actor

    settings = _settings(args)
    bins = args.bins.split(",") if args.bins else None
    print(create_from_cli(_open_existing(args), bins, args.zone, args.blind, Actor(None, settings.resolved_terminal())))
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from warehouse_tui.services.auth import unlock_from_cli
    from warehouse_tui.services.ledger import Actor

    settings = _settings(args)
    try:
        who = getpass.getuser()
    except Exception:  # no login name in this environment: the audit still says it came from the command line
        who = "?"
    reason = f"warehouse-tui users unlock (system user {who})"
    print(unlock_from_cli(_open_existing(args), args.badge, Actor(None, settings.resolved_terminal()), reason))
    return 0


def cmd_scanner(args: argparse.Namespace) -> int:
    from warehouse_tui.scanner_check import list_ports, run_scanner_test

    if args.action == "ports":
        return list_ports(sys.stdout)
    from warehouse_tui.db.engine import Database

    settings = _settings(args)
    # A configured database only (else nothing is known), read as it stands.
    db = Database(settings.db, read_only=True) if settings.db else None
    return run_scanner_test(args.url or settings.scanner, db, sys.stdout, gs_substitute=settings.gs_substitute)


def cmd_labels(args: argparse.Namespace) -> int:
    from pathlib import Path

    from warehouse_tui.labels import label_directory, labels_for, write_labels
    from warehouse_tui.services.packing import label_codes

    if args.printer and args.format != "zpl":
        raise WarehouseError("Printers take ZPL — use --format zpl with --printer")
    settings = _settings(args)
    dpi = args.dpi if args.dpi is not None else settings.printer_dpi
    labels_for(args.kind, [], args.format, dpi=dpi)  # a bad kind, format or dpi is refused before any SSCC is issued
    codes = [c.strip() for c in args.codes.split(",") if c.strip()] if args.codes else None
    issues = args.kind == "sscc" and args.count > 0
    db = _open_existing(args) if issues else _open_for_reading(args)
    # New SSCCs are committed before a label shows them: a printed SSCC is never issued twice.
    # Labels for what exists are a read: no write lock, so they print while an import runs.
    with db.transaction() if issues else db.reading() as session:
        printable = label_codes(session, args.kind, codes, count=args.count, company_prefix=settings.gs1_company_prefix)
    labels = labels_for(args.kind, printable, args.format, dpi=dpi)
    if args.printer:
        from drivers.registry import printer_for

        try:
            printer = printer_for(args.printer)
        except ValueError as exc:
            raise WarehouseError(str(exc)) from exc
        try:
            for label in labels:
                printer.send(label.data)
        except OSError as exc:
            raise WarehouseError(f"Printer {args.printer} did not take the labels: {exc}") from exc
        finally:
            printer.close()
        print(f"Sent {len(labels)} label(s) to {args.printer}")
        return 0
    if args.format == "zpl" and not args.out:
        sys.stdout.write("".join(label.data.decode("utf-8") for label in labels))
        return 0
    directory = Path(args.out) if args.out else label_directory(settings.label_dir)
    for path in write_labels(labels, directory):  # one file per code: none written over another
        print(path)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from warehouse_tui.sync import sync_command

    settings = _settings(args)
    return sync_command(_open(args), settings.upstream or "", settings.resolved_terminal(), watch=args.watch, interval=args.interval,
                        company_prefixes=(settings.gs1_company_prefix,))


def cmd_upstream(args: argparse.Namespace) -> int:
    from warehouse_tui.sync import init_upstream

    print(init_upstream(args.url or _settings(args).upstream or ""))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from warehouse_tui.bench.command import run_bench

    return run_bench(args)


COMMANDS = {
    "run": cmd_run,
    "replay": cmd_replay,
    "serve": cmd_serve,
    "db": cmd_db,
    "check": cmd_check,
    "wave": cmd_wave,
    "replenish": cmd_replenish,
    "count": cmd_count,
    "users": cmd_users,
    "scanner": cmd_scanner,
    "labels": cmd_labels,
    "sync": cmd_sync,
    "upstream": cmd_upstream,
    "import": cmd_import,
    "export": cmd_export,
    "confirm": cmd_confirm,
    "report": cmd_report,
    "demo": cmd_demo,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "run")  # `warehouse-tui` alone opens the app
    args = parser.parse_args(argv)
    from warehouse_tui.sync import install as install_sync

    install_sync()  # every database a command opens gets the sync hooks of its role
    try:
        return COMMANDS[args.command](args)
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        # A broken environment (disk full, read-only, not a database, server down): one line, no traceback.
        from warehouse_tui.db.failures import explain

        message = explain(exc, _db_named(args))
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1


def _db_named(args: argparse.Namespace) -> str | None:
    """The database the command was about, for an error message (None when the settings themselves fail)."""
    try:
        return _settings(args).resolved_db()
    except Exception:  # the failure being reported may be the settings' own
        return getattr(args, "db", None)


if __name__ == "__main__":
    sys.exit(main())
