"""`warehouse-tui bench`: the performance figures of DESIGN §9, printed as one JSON object.

Each figure is measured beside the same work done by the bare database (raw
SQL through the driver, in the same run) and reported with the ratio. Figures
so far:

- ``import``: ``warehouse-tui import items|bins|stock|orders`` of generated files
  (``--import-rows`` stock rows and order lines, a fifth as many items, half as
  many bins) into a fresh database, each in a child process, beside the same
  rows written by raw SQL in one transaction (nothing checked) into a copy of
  the database as it stood; with how long each import checked (no write lock)
  and wrote (the write lock held), and its peak RSS. Then the stock file again
  with a terminal scanning beside it (durable one-row write transactions back
  to back, as a scan makes): how many scans committed while the file was
  checked and the longest any scan waited, against the write phase.
- ``ledger_receipt``: one ledger transaction, a receipt of one unit through
  ``ledger.post`` in one ``Database.transaction()`` ending in a durable commit
  (WAL, synchronous=FULL, BEGIN IMMEDIATE), against the bare sqlite3
  transaction making the same writes (select the quant by key, update or
  insert it, insert the movement, insert the outbox entry). Measured at 10k
  quants and at ``--quants`` (1M by default); ``growth_p95`` is the ratio of
  the two p95s (1.0 = flat).

Each sample receives into a different quant picked at random over the whole
dataset (never a serial item, never a blocked bin), so the figure is not that
of one hot row; ledger and bare samples alternate, so drift in the machine
(page cache, WAL checkpoints) hits both alike. The ledger path loads its item,
bin and lot by id inside the timed transaction, as a service does; the bare
path knows the names for the payload beforehand.

The datasets are built with ``build_large`` in a child process (so their
build does not count in ``peak_rss_mb``) and kept in the work directory, keyed
by their size in the file name; a later run reuses them. Each run adds its
receipts to them, always into existing quants, so their quant count stays.
Timings are never asserted by tests (DESIGN §9); this command reports them.

The package: `command` (the `warehouse-tui bench` command: runs the figures,
prints the JSON), `report` (percentiles, progress on stderr, the budgets),
`datasets` (the cached large warehouses), `ledger_receipt`, `csv_import`,
`full_app` (the real app headless, each figure in its own process:
``python -m warehouse_tui.bench.full_app``) and `sync_figures` (push, empty
sync and pull against PostgreSQL). Nothing is imported here, so a child
process starts with only what its figure needs.
"""
