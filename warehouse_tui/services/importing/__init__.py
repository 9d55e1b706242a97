"""CSV import of items, bins, users, inbound orders, outbound orders, opening stock and returns (DESIGN §6, §11).

One file is imported whole or not at all: every row is checked, every bad row
is reported with its line number in the file (the header is line 1), and if
any row is bad nothing from the file is imported. `import_file` raises
`ImportFailed`, whose text is the report an operator reads; on success it
returns an `ImportResult` that says what was imported.

How a file goes in, so that the terminals sharing the database keep scanning
meanwhile (DESIGN §9: the write lock is held only while writing):

1. Checking, in a read transaction: on SQLite a deferred one, which never takes
   the write lock (in WAL mode readers and the writer never wait for each
   other); on PostgreSQL one snapshot (repeatable read). The file is parsed and
   checked a chunk of rows at a time. What the rules need from the database for
   a chunk — its items, bins, lots, serials, stocked places, documents, badges
   — is read set-based (one statement per kind and 2,000 keys), and the rows
   are then checked in file order against that and against what the file's
   earlier rows did. Any bad row: nothing is written.
2. Users only: PINs are hashed (scrypt, ~50 ms each, in threads) outside any
   transaction.
3. Writing, in one write transaction, set-based: executemany on SQLite, COPY on
   PostgreSQL. It first checks again, cheaply, what another terminal may have
   changed since checking began, and refuses the file if something the check
   relied on did ("… changed in the database while the file was being checked
   — import the file again"):
   - items, bins, users, inbound, orders: the rows the check read for the
     file's keys (SKUs with their GTINs and owners, bin codes and barcodes,
     badges, document refs with their state) are read again and must be equal;
   - stock: stock changes only through movements, so the places and serials of
     the file must not be in a movement booked since checking began. On SQLite,
     where writers take turns and movement seqs grow in commit order, those are
     the movements above the last seq the check saw: a handful, read in
     milliseconds. On PostgreSQL seqs may commit out of order, so the file's
     places and serials are read again instead (no database-wide write lock to
     keep short there). Items, bins and lots are checked again by the ledger's
     own rules as it books (a tracking rule, an unknown bin or a lot's expiry
     that changed is a refusal).
   Users and inbound orders are written through the ORM: a few rows, and what
   they change reaches the sync through its session hooks (audit events, a
   badge's lock, a terminal's document operations). The other kinds are written
   set-based and, on an upstream, announce what they changed to its change feed.

Opening stock is booked by `services.batch_ledger.BatchLedger` — ledger.post's
rules, set-based, the implementation the sync books pushed movements with — in
chunks, each movement with the outbox entry ledger.post writes for it (on an
upstream: its change-feed entry). A movement the ledger does not book (a quant
that would pass the ledger's ceiling, or what changed meanwhile) refuses the
file; those rows are reported as the ledger words it.

`ImportResult.checking_s` and `writing_s` say how long each step took;
`writing_s` is how long the write lock was held. `on_progress(step, done,
total)` is called as rows are checked ("checking") and written ("writing");
`ImportProgress` draws that as a bar on a terminal.

The file: UTF-8 (a BOM is tolerated), comma-separated, a header row naming the
columns in any order (names are trimmed and case-insensitive). Values are
trimmed. Blank lines, and rows whose every value is empty, are skipped. A file
with a header and no rows imports nothing and says so; it is not an error (a
day with no orders is normal). Broken files -- not UTF-8, UTF-16, NUL bytes,
no header, ragged rows, an unclosed quote -- are errors that name the line.

Decisions where DESIGN §6 is silent:

* Columns. Each kind has the columns of §6; only those that identify a row are
  required in the header: items `sku`; bins `code`; users `badge, pin`;
  inbound and orders `ref, sku, qty`; stock `bin, sku`. An optional column may
  be left out: new rows get its default, existing rows keep their value. A
  column that is present sets the value, and an empty value means the default.
* Values. `qty` is a positive whole number up to 1,000,000,000, never rounded
  ("1.5", "1,000", "0", "-5" are refused). Dates are YYYY-MM-DD only -- the
  YYMMDD of GS1 barcodes is ambiguous in a spreadsheet, so it is refused with a
  hint. `expiry` (items) is yes/no; true/false (what spreadsheets write) is
  accepted too, any case. Enumerations (tracking, kind, role) are
  case-insensitive. Codes (sku, bin, lot, serial, badge, ref ...) are limited
  to the lengths of the schema and hold only characters one can see and type:
  control characters are refused, and so are format characters (zero width
  space, right-to-left override …), line and paragraph separators, spaces
  other than the ASCII one (no-break space …), private-use and unassigned code
  points, each named in the message ("U+200B ZERO WIDTH SPACE"). ASCII spaces
  (and tabs and line breaks) around a value are trimmed.
* items: an existing sku of the same owner is updated (an items master
  refresh is a normal operation). GTINs are added, never removed: stock on the
  shelves still carries the old barcodes. A GTIN already naming another item,
  in the database or earlier in the file, is an error. An item's tracking or
  expiry rule cannot change while it has stock on hand. `owner` empty or absent
  means the default owner (created when new).
* bins: an existing bin code is updated (zone, kind, pick sequence, barcode).
  A code or barcode that is already another bin's code or barcode is an error.
* users: an existing badge is updated (name, role; a non-empty PIN resets the
  PIN, and lifts a lock five wrong PINs put on the badge, audited as a
  supervisor's unlock is); a new badge needs a PIN. Role defaults to operator.
  PINs are never stored or reported in clear. Each created or updated user
  writes an audit event.
* inbound: rows with the same ref form one PO with one line per row. A ref
  already in the database is replaced (header and lines) while nothing has been
  received against it; a PO being received or closed is an error. All rows of
  a ref must agree on the supplier.
* orders: as inbound; an existing order may be replaced only while it is new
  (not yet released to picking). Rows of a ref must agree on channel, ship_to
  and priority (an integer, default 0).
* stock: opening balances are booked by the ledger as `adjust` movements with
  doc_ref `OPENING` (not `receipt`: a receipt belongs to a PO and counts as
  received against it), into the row's bin -- a blocked quarantine bin may hold
  opening stock -- so `check` holds afterwards. Lot-tracked items need a lot;
  items that require an expiry need one, and when such an item is not
  lot-tracked and the lot is empty, the lot is named after the expiry date as
  receiving names it (`receiving.expiry_lot_code`), because the ledger carries
  expiry on lots. Expired lots are accepted: the stock is there and must be on
  the books. Serial items need a serial and a qty of 1 (or empty). A serial
  repeated in the file or already in stock is an error. A bin/item/lot place
  that already holds stock before the import is refused, so loading the same
  file twice cannot double the stock -- correct existing stock with a count.
  Rows of the file may share a place; the ledger adds them up.
* returns (issue 14, importing/returns.py): rows with the same ref form one
  RMA against one order, one line per row (`serial`, `reason` optional). The
  order must have shipped the row's units (per order line, with what came
  back already; a serial must have shipped on it); a ref already known is an
  error.
* Reports list the first 50 problems in file order and count the rest. A
  refused row leaves nothing behind that could skew the checks of the rows
  after it.

The package, by responsibility: `csv_file` reads a file (UTF-8, header,
rows with line numbers); `values` reads and refuses a row's values;
`catalog` reads what rows name, set-based; `importer` is the shape of one
kind's check and write, with one module per kind (`items`, `bins`, `users`,
`documents` for inbound and orders, `stock`); `run` takes a file through the
two transactions; `results` holds the limits, the result, the refusal and
the progress bar.
"""

from __future__ import annotations

from warehouse_tui.services.importing.csv_file import FORMATS, CsvFormat
from warehouse_tui.services.importing.results import (
    MAX_REPORTED,
    OPENING_DOC_REF,
    PROGRESS_MIN_ROWS,
    ImportFailed,
    ImportProgress,
    ImportResult,
    Progress,
    RowError,
)
from warehouse_tui.services.importing.run import IMPORTERS, import_bytes, import_file

__all__ = [
    "FORMATS", "IMPORTERS", "MAX_REPORTED", "OPENING_DOC_REF", "PROGRESS_MIN_ROWS", "CsvFormat", "ImportFailed",
    "ImportProgress", "ImportResult", "Progress", "RowError", "import_bytes", "import_file",
]
