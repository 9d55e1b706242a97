"""The demo warehouse (`warehouse-tui demo`): built through the services, so the ledger's rules hold on it."""

from __future__ import annotations

import datetime as dt
import random
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from warehouse_tui import clock
from warehouse_tui.db.engine import Database, redact, sqlite_path
from warehouse_tui.db.models import (
    Bin,
    BinKind,
    ContainerKind,
    InboundLine,
    InboundOrder,
    Item,
    ItemCode,
    Lot,
    Movement,
    Operator,
    OutboundLine,
    OutboundOrder,
    PickFace,
    Quant,
    SerialUnit,
    utcnow,
)
from warehouse_tui.demo.catalogue import (
    BLOCKED_BIN,
    CLIENT_OWNER,
    CUSTOMERS,
    DEMO_ITEMS,
    GS1_PREFIX,
    LOGINS,
    OPENING_REF,
    ORDERS,
    SEED,
    SERIAL_PREFIX,
    SETUP_TERMINAL,
    SUPERVISOR_BADGE,
    ZONES,
    DemoItem,
    L,
    N,
    S,
    gtin13,
    gtin14,
    logins_text,
)
from warehouse_tui.demo.returns import DEMO_RETURN_ORDER, DEMO_RETURN_SSCC, DEMO_RMA, add_demo_returns
from warehouse_tui.demo.files import building_path, make_room, put_in_place, remove_sqlite_file
from warehouse_tui.scan.gtin import gs1_check_digit, make_sscc
from warehouse_tui.services import masterdata as md
from warehouse_tui.services.auth import hash_pin
from warehouse_tui.services.check import run_checks
from warehouse_tui.services.ledger import Actor, post


def _add_operators(session) -> dict[str, Operator]:
    ops = {}
    for badge, pin, role, name in LOGINS:
        op = Operator(badge=badge, name=name, role=role, pin_hash=hash_pin(pin))
        session.add(op)
        ops[badge] = op
    session.flush()
    return ops



def _demo_gtin(item: DemoItem, ref: int) -> str:
    payload = GS1_PREFIX[item.owner] + f"{ref:05d}"
    if item.uom == "CS":  # a case: GTIN-14 with packaging indicator 1
        return gtin14("1" + payload)
    return gtin13(payload)


def _demo_bins(session) -> dict[str, Bin]:
    bins: dict[str, Bin] = {}
    for code, kind, zone in (("RCV-01", BinKind.RECEIVING, "DOCK"), ("RCV-02", BinKind.RECEIVING, "DOCK"),
                             ("STAGE-01", BinKind.STAGING, "DOCK")):
        bins[code] = md.add_bin(session, code, zone=zone, kind=kind.value)
    seq = 0
    for zone, (aisles, bays, levels) in ZONES.items():
        for aisle in range(1, aisles + 1):
            # Serpentine: odd aisles walk up the bays, even aisles back down.
            bay_order = range(1, bays + 1) if aisle % 2 else range(bays, 0, -1)
            for bay in bay_order:
                for level in range(1, levels + 1):
                    seq += 10
                    code = f"{zone}-{aisle:02d}-{bay:02d}-{level}"
                    kind = BinKind.PICK if level == 1 else BinKind.STORAGE
                    bins[code] = md.add_bin(session, code, zone=zone, kind=kind.value, pick_seq=seq,
                                            blocked=code == BLOCKED_BIN)
    bins["PACK-01"] = md.add_bin(session, "PACK-01", zone="PACK", kind=BinKind.PACK.value, pick_seq=seq + 10)
    bins["SHIP-01"] = md.add_bin(session, "SHIP-01", zone="SHIP", kind=BinKind.SHIPPING.value, pick_seq=seq + 20)
    return bins


def _lot_code(item: DemoItem, expiry: dt.date | None, n: int, rng: random.Random) -> str:
    """A supplier-style lot code: OA8045A for a dated lot, PA40715 for a batch without expiry.

    A dated lot's code is the same whatever day the demo is built (a number made from the SKU,
    not from the expiry), so documentation and tests can name it; its expiry is relative to the day.
    """
    if item.tracking != L:
        return expiry.isoformat()  # expiry-dated items without lots: one lot per date, as receiving names them
    stem = "".join(ch for ch in item.sku if ch.isalpha())[:2]
    if expiry is None:
        return f"{stem}{rng.randint(10_000, 99_999)}"
    return f"{stem}{zlib.crc32(item.sku.encode()) % 9000 + 1000}{'ABCDEFG'[n]}"


def build_demo(db: str | Path, force: bool = False, *, today: dt.date | None = None) -> str:
    """Build the demo warehouse of the module docstring; returns a printable summary.

    Refuses (NotAllowed) to overwrite a database that already holds a warehouse;
    with `force` a SQLite file is replaced — by a new file built beside it and
    renamed into place once complete, so a failed build leaves the old one as it
    was (a server database is never replaced).
    """
    today = today or clock.today()
    started = time.perf_counter()
    url = make_room(db, force)
    path = sqlite_path(url)
    target = db if path is None else building_path(path)
    if path is not None:
        remove_sqlite_file(target)  # a build that died earlier
    rng = random.Random(SEED)
    try:
        database = Database(target)
        try:
            with database.transaction() as s:
                summary = _fill_demo(s, rng, today)
            with database.reading() as s:
                report = run_checks(s)
                counts = {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
                    ("bins", Bin), ("items", Item), ("codes", ItemCode), ("lots", Lot), ("quants", Quant),
                    ("movements", Movement), ("serials", SerialUnit), ("inbound", InboundOrder),
                    ("inbound_lines", InboundLine), ("outbound", OutboundOrder), ("outbound_lines", OutboundLine))}
                units = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)))
                counts["serials"] = s.scalar(select(func.count()).select_from(SerialUnit).where(SerialUnit.status == "in_stock"))
        finally:
            database.dispose()
        if path is not None:
            put_in_place(target, path)
    except BaseException:
        if path is not None:
            remove_sqlite_file(target)
        raise
    where = sqlite_path(url) or redact(url)
    tracking = summary["tracking"]
    return "\n".join([
        f"Demo warehouse built in {where} ({time.perf_counter() - started:.1f} s)",
        f"  owners     2 ({md.DEFAULT_OWNER}, {CLIENT_OWNER} — a 3PL client)",
        f"  bins       {counts['bins']} (receiving RCV-01, RCV-02; zones A, B, C; PACK-01, SHIP-01; "
        f"{BLOCKED_BIN} blocked)",
        f"  items      {counts['items']} ({tracking[N]} untracked, {tracking[L]} lot-tracked, {tracking[S]} serial-tracked) "
        f"with {counts['codes']} GTINs and aliases",
        f"  lots       {counts['lots']} (lot {summary['expired_lot']} of OAT-MILK-1L expired {summary['expired']:%Y-%m-%d})",
        f"  serials    {counts['serials']} in stock",
        f"  stock      {units:,} units in {counts['quants']} quants ({counts['movements']} movements)",
        f"  inbound    {counts['inbound']} open ({', '.join(summary['inbound'])}; {counts['inbound_lines']} lines)",
        f"  outbound   {counts['outbound']} orders ({counts['outbound_lines']} lines; "
        f"{len(CARRIERS)} with a carrier: UPS, FedEx, USPS, DHL)",
        f"  returns    {DEMO_RMA} for shipped {DEMO_RETURN_ORDER} (SSCC {DEMO_RETURN_SSCC}); bins RET-01, QUA-01",
        f"  check      {'all invariants hold' if report.ok else 'BROKEN — run warehouse-tui check'}",
        "Logins:",
        logins_text(),
    ])


def _fill_demo(s, rng: random.Random, today: dt.date) -> dict:
    main = md.owner(s, md.DEFAULT_OWNER)
    main.name = "Main warehouse"
    client = md.owner(s, CLIENT_OWNER)
    client.name = "Nordic Outdoor Co. (3PL client)"
    ops = _add_operators(s)
    actor = Actor(ops[SUPERVISOR_BADGE], SETUP_TERMINAL)
    bins = _demo_bins(s)

    items: dict[str, Item] = {}
    refs = {md.DEFAULT_OWNER: 1000, CLIENT_OWNER: 2000}
    tracking = {N: 0, L: 0, S: 0}
    for spec in DEMO_ITEMS:
        refs[spec.owner] += rng.randint(1, 37)
        gtins = [_demo_gtin(spec, refs[spec.owner])]
        if spec.upc:
            gtins.append(spec.upc + str(gs1_check_digit(spec.upc)))
        items[spec.sku] = md.add_item(
            s, spec.sku, description=spec.description, gtins=gtins, aliases=[spec.alias] if spec.alias else [],
            uom=spec.uom, tracking=spec.tracking, expiry_required=spec.expiry, owner_code=spec.owner, zone=spec.zone)
        tracking[spec.tracking] += 1

    # Pick faces (level 1) and reserve bins (upper levels) per zone, in walking order.
    def free(zone: str, pick: bool) -> Iterator[Bin]:
        for b in sorted(bins.values(), key=lambda b: b.pick_seq):
            if b.zone == zone and (b.kind == BinKind.PICK.value) == pick and not b.blocked:
                yield b
    faces = {z: free(z, True) for z in ZONES}
    reserves = {z: free(z, False) for z in ZONES}

    expired = today - dt.timedelta(days=20)
    expired_lot = ""
    for spec in DEMO_ITEMS:
        if not spec.stock:
            continue
        item = items[spec.sku]
        face = next(faces[spec.zone])
        reserve = next(reserves[spec.zone]) if rng.random() < 0.6 or spec.uom == "CS" else None
        opening = dict(kind="adjust", item=item, doc_ref=OPENING_REF)
        if spec.tracking == S:
            for n in range(rng.randint(3, 6)):
                serial = f"{SERIAL_PREFIX[spec.sku]}{rng.randint(10_000_000, 99_999_999)}"
                post(s, actor, qty=1, serial=serial, to_bin=face, **opening)
            continue
        if spec.tracking == L or spec.expiry:
            # An older lot in the pick face (first-expiry-first-out), a newer one in reserve.
            if spec.expiry:
                old_expiry = expired if spec.sku == "OAT-MILK-1L" else today + dt.timedelta(days=rng.randint(30, 120))
                new_expiry = old_expiry + dt.timedelta(days=rng.randint(90, 360))
            else:
                old_expiry = new_expiry = None
            old = md.lot(s, item, _lot_code(spec, old_expiry, 0, rng), old_expiry)
            post(s, actor, qty=rng.randint(12, 60), lot=old, to_bin=face, **opening)
            new = md.lot(s, item, _lot_code(spec, new_expiry, 1, rng), new_expiry)
            if spec.sku == "OAT-MILK-1L":
                expired_lot = old.code
            if spec.expiry and rng.random() < 0.5:
                post(s, actor, qty=rng.randint(6, 24), lot=new, to_bin=face, **opening)
            if reserve is not None:
                post(s, actor, qty=rng.randint(48, 240), lot=new, to_bin=reserve, **opening)
            continue
        post(s, actor, qty=rng.randint(10, 80) if spec.uom == "EA" else rng.randint(4, 16), to_bin=face, **opening)
        if reserve is not None:
            post(s, actor, qty=rng.randint(50, 300) if spec.uom == "EA" else rng.randint(20, 60), to_bin=reserve, **opening)

    for n in range(1, 21):
        md.container(s, f"TOTE-{n:04d}", ContainerKind.TOTE.value)

    inbound = _demo_inbound(s, rng, actor, items, bins, today)
    _demo_outbound(s, rng, items)
    add_demo_returns(s, actor, items)  # no rng: the rest of the demo is as it was before returns existed
    _demo_pick_faces(s, items)
    return {"tracking": tracking, "expired": expired, "expired_lot": expired_lot, "inbound": inbound}


def _demo_inbound(s, rng: random.Random, actor: Actor, items: dict[str, Item], bins: dict[str, Bin], today: dt.date) -> list[str]:
    now = utcnow()
    po1 = InboundOrder(ref="PO-1001", kind="po", supplier="Acme Office Supplies", status="receiving",
                       created_at=now - dt.timedelta(days=3))
    po2 = InboundOrder(ref="PO-1002", kind="po", supplier="Mediterraneo Foods S.r.l.", status="open",
                       created_at=now - dt.timedelta(days=2))
    asn = InboundOrder(ref="ASN-2001", kind="asn", supplier="Nordic Outdoor Co.", status="open",
                       created_at=now - dt.timedelta(days=1))
    s.add_all([po1, po2, asn])
    s.flush()

    def line(order: InboundOrder, sku: str, qty: int, lot: str | None = None, expiry: dt.date | None = None) -> InboundLine:
        ln = InboundLine(order_id=order.id, item_id=items[sku].id, qty_expected=qty, qty_received=0, lot=lot, expiry=expiry)
        s.add(ln)
        return ln

    # PO-1001 is being received: a supplier's SSCC pallet of tape and two loose boxes of paper wait in RCV-01.
    tape, paper = line(po1, "TAPE-48", 144), line(po1, "PAPER-A4", 40)
    line(po1, "MARKER-BLK", 200)
    line(po1, "STAPLER", 24)
    s.flush()
    pallet = md.container(s, make_sscc(3, GS1_PREFIX[CLIENT_OWNER], 77801), ContainerKind.SSCC.value)
    post(s, actor, kind="receipt", item=items["TAPE-48"], qty=72, to_bin=bins["RCV-01"], to_container=pallet, doc_ref=po1.ref)
    tape.qty_received = 72
    post(s, actor, kind="receipt", item=items["PAPER-A4"], qty=2, to_bin=bins["RCV-01"], doc_ref=po1.ref)
    paper.qty_received = 2

    # PO-1002: food with the supplier's lots and expiry dates announced on most lines.
    line(po2, "OLIVE-OIL-1L", 60, "OO2611A", today + dt.timedelta(days=540))
    line(po2, "ESPRESSO-1K", 40, "ES2609B", today + dt.timedelta(days=300))
    line(po2, "PASTA-PENNE-CS", 30, "PP2705C", today + dt.timedelta(days=420))
    line(po2, "PASSATA-700", 96)  # lot and expiry read at receipt
    # ASN-2001: the 3PL client's goods, serial-tracked stoves and dated food.
    line(asn, "NO-BOOT-42", 24)
    line(asn, "NO-BOOT-44", 24)
    line(asn, "NO-STOVE", 10)
    line(asn, "NO-MEAL-CHILI", 48, "FD2702", today + dt.timedelta(days=700))
    line(asn, "NO-GEL-CITRUS", 120, "GC2612", today + dt.timedelta(days=365))
    s.flush()
    return [po1.ref, po2.ref, asn.ref]



# Carrier and service the OMS chose, by order number: orders of both clients ship with a carrier, so a new user
# can pack one, scan its tracking number and export confirmations. ORD-10001 and ORD-10003 (the scripted tours
# and tests) go without: the carrier label is not asked for them.
CARRIERS = {2: ("ups", "ground"), 5: ("fedex", "home"), 7: ("usps", "priority"), 8: ("dhl", "express"),
            9: ("ups", "ground"), 10: ("dhl", "express")}


def _demo_outbound(s, rng: random.Random, items: dict[str, Item]) -> None:
    now = utcnow()
    for n, ((channel, priority, skus), ship_to) in enumerate(zip(ORDERS, CUSTOMERS), start=1):
        carrier, service = CARRIERS.get(n, (None, None))
        order = OutboundOrder(ref=f"ORD-{10000 + n}", channel=channel, ship_to=ship_to, priority=priority,
                              status="new", created_at=now - dt.timedelta(hours=len(ORDERS) - n),
                              carrier=carrier, service=service)
        s.add(order)
        s.flush()
        for sku in skus:
            item = items[sku]
            # Never more than the pick face alone holds, so every demo order can be picked.
            on_hand = s.scalar(select(func.min(Quant.qty)).where(Quant.item_id == item.id))
            qty = 1 if item.tracking == S else max(1, min(on_hand or 1, rng.choice((1, 1, 2, 3, 6, 12))))
            s.add(OutboundLine(order_id=order.id, item_id=item.id, qty=qty))
    s.flush()


# Pick faces kept between min and max by replenishment: items no other demo order asks for.
FACE_SKUS = ("HDMI-2M", "SCISSORS-21", "CABLE-TIE-200", "HEXKEY-MET", "EXT-CORD-5", "MUG-300")
REPLEN_ORDER = "ORD-10011"


def _demo_pick_faces(s, items: dict[str, Item]) -> None:
    """Faces with min/max for FACE_SKUS (max: 20 more than the face holds), and REPLEN_ORDER wanting 5 more of the
    first one with reserve stock than its face holds: its wave replenishes the face before the pick."""
    wanting = None
    for sku in FACE_SKUS:
        item = items[sku]
        face = s.execute(select(Quant.bin_id, Quant.qty).join(Bin, Bin.id == Quant.bin_id)
                         .where(Quant.item_id == item.id, Bin.kind == BinKind.PICK.value)).first()
        if face is None:
            continue
        max_qty = face.qty + 20
        s.add(PickFace(bin_id=face.bin_id, item_id=item.id, min_qty=max(1, max_qty // 4), max_qty=max_qty))
        reserve = s.scalar(select(func.coalesce(func.sum(Quant.qty), 0)).join(Bin, Bin.id == Quant.bin_id)
                           .where(Quant.item_id == item.id, Bin.kind == BinKind.STORAGE.value))
        if wanting is None and reserve >= 5:
            wanting = (item, face.qty + 5)
    if wanting is not None:
        order = OutboundOrder(ref=REPLEN_ORDER, channel="webshop", ship_to=CUSTOMERS[0], priority=1, status="new",
                              created_at=utcnow())
        s.add(order)
        s.flush()
        s.add(OutboundLine(order_id=order.id, item_id=wanting[0].id, qty=wanting[1]))
    s.flush()
