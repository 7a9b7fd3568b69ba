"""Local quantities on hand: every change recorded, and queued for the carts that sync stock.

Each change writes the product's ``qoh``, an ``inventory_changes`` row and its ``outbox`` rows
in the caller's transaction. Which carts hear of it, what an options-mode parent holds and is
sent, and which imported sales a figure read from a cart already includes: docs/inventory.md.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from . import params as params_mod
from .capabilities import Capability, InventoryLevel
from .cartdef import CartDefinition
from .errors import CartRejected, NotFoundError, SeconnectError, UsageError
from .plugins import Plugins
from .store import tables, upsert, utcnow
from .store.tables import order_number_sort

__all__ = [
    "KIND",
    "QOH_LIMIT",
    "PER_VARIATION",
    "QuantityChange",
    "Applied",
    "Target",
    "apply_changes",
    "set_quantity",
    "adjust_quantity",
    "record_sales",
    "order_mark",
    "note_sources",
    "start_history",
    "close_history",
    "realtime_targets",
    "levels_at",
    "sendable_codes",
    "find_product",
    "cli_source",
]

log = logging.getLogger(__name__)

#: The outbox kind of inventory work; its key is the local SKU.
KIND = "inventory"
#: Largest quantity on hand, either sign: far above any real stock, and inside the 32-bit
#: columns that hold quantities and their changes on PostgreSQL.
QOH_LIMIT = 1_000_000_000
#: Why a parent standing for several variations (options mode) is not sent its total.
PER_VARIATION = "tracked per variation at the cart; use --attributes sub-skus to sync each variation"
#: IN-lists are cut to this size so any batch stays under every driver's bind-parameter limit.
_CHUNK = 1000

_P = tables.products
_C = tables.product_cart_codes
_S = tables.stock_sources
#: The checkpoint (job name) holding a cart's history boundary: its newest order when its first
#: order import began (NULL while that import runs without a mark from the cart).
HISTORY = "import-orders:history"


@dataclass(frozen=True)
class QuantityChange:
    """One change to one product: ``delta`` (relative) or ``qoh`` (absolute), not both."""

    product_id: int
    delta: int | None = None
    qoh: int | None = None
    source: str | None = None  # overrides the batch's source (e.g. one order of many)
    reason: str | None = None


@dataclass(frozen=True)
class Applied:
    """What a change did: quantities before/after and the carts it was queued for."""

    product_id: int
    sku: str
    before: int | None
    after: int | None
    delta: int
    queued: tuple[str, ...] = ()
    skipped: str | None = None  # why nothing changed (untracked, unchanged)


@dataclass(frozen=True)
class Target:
    """A cart that receives real-time changes, and how."""

    cart_id: int
    name: str
    levels: frozenset[InventoryLevel]
    absolute: bool  # the cart type supports inventory-send, so deliveries send absolute quantities
    cart: CartDefinition  # without its password: for asking its plugin the levels of its codes


def cli_source() -> str:
    """``cli (user)``: who changed a quantity by hand, for the change history."""
    try:
        return f"cli ({getpass.getuser()})"
    except Exception:  # no user name in containers without a passwd entry
        return "cli"


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# -- levels ---------------------------------------------------------------------------------------

def levels_at(plugins: Plugins, cart: CartDefinition, codes: Iterable[tuple[str, str | None]]
              ) -> dict[tuple[str, str | None], InventoryLevel]:
    """The level the cart's plugin gives each of its ``(code, web_id)`` pairs (one hook call)."""
    pairs = list(dict.fromkeys(codes))
    return dict(zip(pairs, plugins.inventory_levels(cart, pairs), strict=True))


def sendable_codes(parent_id: int | None, codes: Sequence[tuple[str, InventoryLevel]],
                   levels: Iterable[InventoryLevel], *, reported: Iterable[str] = ()) -> tuple[list[str], str | None]:
    """The codes a product's own quantity can be sent to at one cart, or why there are none.

    ``codes`` are the product's codes at the cart with the level its plugin gives each
    (:func:`levels_at`); every code of a sub-SKU is at the ``sub-sku`` level. ``reported`` are
    the codes the cart last gave a quantity for (``cart_qoh`` known). Codes at a level the cart
    type does not sync are dropped. A product that several of the cart's variations map to
    (options mode) holds their total: no variation gets it, and its own code only when the cart
    keeps the stock at product level — not when it reports quantities per variation
    (docs/inventory.md).
    """
    if not codes:
        return [], "the product has no code at this cart (import the cart's products first)"
    by_level = [(code, InventoryLevel.SUB_SKU if parent_id is not None else level) for code, level in codes]
    variations = [code for code, level in by_level if level is InventoryLevel.ATTRIBUTE]
    per_variation = bool(set(variations) & set(reported))
    dropped = set(variations) if len(variations) > 1 else set()
    if per_variation:  # the product-level code is not where the cart keeps this stock
        dropped |= {code for code, level in by_level if level is not InventoryLevel.ATTRIBUTE}
    allowed = set(levels)
    usable = sorted(code for code, level in by_level if level in allowed and code not in dropped)
    if usable:
        return usable, None
    if per_variation and len(variations) > 1:
        return [], PER_VARIATION
    if dropped and len(dropped) == len(by_level):
        return [], (f"{len(dropped)} of the cart's variations share this SKU's one quantity (options mode); "
                    "build sub-SKUs to keep stock per variation")
    wanted = sorted({level.value for code, level in by_level if code not in dropped})
    return [], f"the cart type does not sync inventory at the {'/'.join(wanted)} level"


# -- targets --------------------------------------------------------------------------------------

def realtime_targets(conn: Connection, plugins: Plugins) -> list[Target]:
    """Every active cart with ``SynchQOH`` TRUE whose type syncs inventory in real time.

    The definitions built here carry no password: deciding where a change goes must never
    depend on decrypting one (a missing key file would otherwise drop changes silently).
    """
    targets = []
    for row in conn.execute(select(tables.carts).where(tables.carts.c.active.is_(True))
                            .order_by(tables.carts.c.name_key)):
        values, _ = params_mod.resolve(conn, row.id)
        if not values.get("SynchQOH"):
            continue
        cart = CartDefinition(id=row.id, name=row.name, type=row.type, settings=row.settings or {},
                              ca_bundle=row.ca_bundle, params=values)
        try:
            caps = plugins.capabilities_for(cart)
        except SeconnectError as exc:  # the cart type's plugin is not installed
            log.warning("cart %r does not receive inventory changes: %s", row.name, exc.message)
            continue
        if caps.supports(Capability.INVENTORY_REALTIME) and caps.realtime_levels:
            targets.append(Target(row.id, row.name, caps.realtime_levels, caps.supports(Capability.INVENTORY_SEND),
                                  cart))
    return targets


# -- the one way quantities change -----------------------------------------------------------------

def _lock_products(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    """Current rows of the products, locked in id order on PostgreSQL (no deadlocks between
    two batches touching the same products)."""
    found: dict[int, Any] = {}
    for chunk in _chunks(sorted(set(ids))):
        query = select(_P.c.id, _P.c.sku, _P.c.qoh, _P.c.parent_id).where(_P.c.id.in_(chunk)).order_by(_P.c.id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found.update({row.id: row for row in conn.execute(query)})
    return found


def apply_changes(conn: Connection, plugins: Plugins, changes: Sequence[QuantityChange], *, source: str,
                  reason: str | None = None, cart: CartDefinition | None = None,
                  resend_to_origin: Iterable[int] = ()) -> list[Applied]:
    """Apply quantity changes, record them and queue them for the synced carts, in ``conn``'s
    transaction. Returns one :class:`Applied` per change, in order.

    :param source: what caused the changes (``cli (alice)``, ``inventory-get from Shop``…).
    :param cart: the cart the changes came from: recorded on each change and not queued for.
    :param resend_to_origin: product ids that *are* queued for ``cart`` as well (see
        :func:`record_sales`).

    A change on an untracked product (``qoh`` NULL) applies only when it is absolute; one that
    leaves the quantity as it was is not recorded. Changes of one product in one call apply in
    order.
    """
    if not changes:
        return []
    rows = _lock_products(conn, [c.product_id for c in changes])
    current = {pid: row.qoh for pid, row in rows.items()}
    now = utcnow()
    applied: list[Applied] = []
    records: list[dict[str, Any]] = []
    for change in changes:
        row = rows.get(change.product_id)
        if row is None:
            raise NotFoundError(f"product id {change.product_id} is not in the store file.")
        before = current[change.product_id]
        if change.qoh is not None:
            after = change.qoh
        elif before is None:
            applied.append(Applied(row.id, row.sku, None, None, 0, skipped="stock not tracked"))
            continue
        else:
            after = before + (change.delta or 0)
        if abs(after) > QOH_LIMIT:  # refused before anything is written
            raise UsageError(f"{row.sku}: a quantity of {after} is out of range (at most {QOH_LIMIT:,} either way).",
                             hint="Nothing was changed; check the number typed (or sent by the cart).")
        if after == before:
            applied.append(Applied(row.id, row.sku, before, after, 0, skipped="unchanged"))
            continue
        current[change.product_id] = after
        delta = after - (before or 0)
        applied.append(Applied(row.id, row.sku, before, after, delta))
        records.append({"product_id": row.id, "delta": delta, "qoh_after": after,
                        "reason": change.reason or reason, "source": change.source or source,
                        "cart_id": cart.id if cart else None, "at": now})
    if not records:
        return applied
    changed = {r["product_id"] for r in records}
    conn.execute(update(_P).where(_P.c.id == bindparam("pid")).values(qoh=bindparam("new_qoh"), updated_at=now),
                 [{"pid": pid, "new_qoh": current[pid]} for pid in sorted(changed)])
    change_ids = conn.execute(insert(tables.inventory_changes).returning(
        tables.inventory_changes.c.id, sort_by_parameter_order=True), records).scalars().all()
    queued = _enqueue(conn, plugins, rows, records, change_ids, origin=cart.id if cart else None,
                      resend_to_origin=set(resend_to_origin), now=now)
    out, i = [], 0
    for item in applied:
        if item.skipped is None:
            item = Applied(item.product_id, item.sku, item.before, item.after, item.delta,
                           queued=tuple(queued.get(i, ())))
            i += 1
        out.append(item)
    return out


def _codes_at(conn: Connection, product_ids: Sequence[int], cart_ids: Sequence[int]
              ) -> dict[tuple[int, int], list[Any]]:
    """(cart, product) -> the product's code rows there (code, web_id, cart_qoh)."""
    codes: dict[tuple[int, int], list[Any]] = {}
    for chunk in _chunks(sorted(set(product_ids))):
        for row in conn.execute(select(_C.c.cart_id, _C.c.product_id, _C.c.code, _C.c.web_id, _C.c.cart_qoh).where(
                _C.c.product_id.in_(chunk), _C.c.cart_id.in_(cart_ids))):
            codes.setdefault((row.cart_id, row.product_id), []).append(row)
    return codes


def _enqueue(conn: Connection, plugins: Plugins, products: Mapping[int, Any], records: Sequence[dict[str, Any]],
             change_ids: Sequence[int], *, origin: int | None, resend_to_origin: set[int],
             now: datetime) -> dict[int, list[str]]:
    """Outbox rows for the recorded changes; returns record index → names of the carts queued."""
    from . import outbox

    targets = realtime_targets(conn, plugins)
    if not targets:
        return {}
    codes = _codes_at(conn, [r["product_id"] for r in records], [t.cart_id for t in targets])
    levels = {t.cart_id: levels_at(plugins, t.cart, ((r.code, r.web_id) for (cart_id, _), rows_there in codes.items()
                                                     if cart_id == t.cart_id for r in rows_there))
              for t in targets}
    rows: list[dict[str, Any]] = []
    queued: dict[int, list[str]] = {}
    for i, (record, change_id) in enumerate(zip(records, change_ids, strict=True)):
        product = products[record["product_id"]]
        for target in targets:
            if target.cart_id == origin and not (product.id in resend_to_origin and target.absolute):
                continue
            rows_there = codes.get((target.cart_id, product.id), [])
            usable, _why = sendable_codes(
                product.parent_id, [(r.code, levels[target.cart_id][(r.code, r.web_id)]) for r in rows_there],
                target.levels, reported=[r.code for r in rows_there if r.cart_qoh is not None])
            if not usable:
                continue
            rows.append({"cart_id": target.cart_id, "kind": KIND, "key": product.sku,
                         "payload": {"product_id": product.id, "delta": record["delta"],
                                     "qoh": record["qoh_after"], "change_id": change_id},
                         "created_at": now, "next_attempt_at": now})
            queued.setdefault(i, []).append(target.name)
    outbox.enqueue(conn, rows)
    return queued


# -- by hand ----------------------------------------------------------------------------------------

def find_product(conn: Connection, sku: str) -> Any:
    """The product row with this SKU, or an error that says how products get into the store file."""
    row = conn.execute(select(_P.c.id, _P.c.sku, _P.c.qoh, _P.c.parent_id).where(_P.c.sku == sku)).first()
    if row is None:
        raise NotFoundError(f"no product with SKU {sku!r} in the store file.",
                            hint="Products come from the carts: `seconnect run import-products --cart NAME`. "
                                 "`seconnect inventory list` shows the SKUs there are.")
    return row


def set_quantity(conn: Connection, plugins: Plugins, sku: str, qoh: int, *, reason: str | None = None,
                 source: str | None = None) -> Applied:
    """Set a product's quantity on hand (starts tracking an untracked product)."""
    product = find_product(conn, sku)
    conn.execute(_S.delete().where(_S.c.product_id == product.id))  # the merchant's count, no cart's
    return apply_changes(conn, plugins, [QuantityChange(product.id, qoh=int(qoh))],
                         source=source or cli_source(), reason=reason or "set by hand")[0]


def adjust_quantity(conn: Connection, plugins: Plugins, sku: str, delta: int, *, reason: str | None = None,
                    source: str | None = None) -> Applied:
    """Add a signed delta to a product's quantity on hand (received stock, breakage, a count)."""
    product = find_product(conn, sku)
    if product.qoh is None:
        raise UsageError(f"the stock of {sku!r} is not tracked yet, so there is nothing to adjust.",
                         hint=f"Set its quantity first: `seconnect inventory set {sku} QTY`.")
    return apply_changes(conn, plugins, [QuantityChange(product.id, delta=int(delta))],
                         source=source or cli_source(), reason=reason or "adjusted by hand")[0]


# -- sales from order import ---------------------------------------------------------------------------

def _whole(quantity: Any) -> int:
    """Stock is counted in whole units: a fractional line quantity (2.5 yd) is rounded half up."""
    try:
        return int(Decimal(str(quantity)).to_integral_value(ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return 0


def record_sales(conn: Connection, plugins: Plugins, cart: CartDefinition, lines: Sequence[Mapping[str, Any]]
                 ) -> None:
    """Take the sold quantities of newly imported order lines off local stock, unless the local
    figure already includes the sale (docs/inventory.md).

    Call it for orders **new to the store file** only (a re-sent order was counted the first
    time), in the batch's transaction. ``lines`` are the translated order lines: dicts with
    ``product_id`` (the sub-SKU's id when the line maps to one, so the sub-SKU is decremented),
    ``local_sku`` (used when ``product_id`` is missing), ``quantity`` and ``order_number``. Lines
    that map to no product, or to one whose stock is not tracked, change nothing. Each (order,
    product) becomes one recorded change with source ``order N from CART``: the sale, queued for
    every other synced cart (and for ``cart`` itself only when an absolute quantity sent there
    may have overwritten its own decrement), or a change of 0 whose reason says which figure
    already held the sale, queued nowhere.

    :param plugins: the run's plugins (they decide which carts hear of the sales).
    """
    wanted: dict[tuple[str, int], int] = {}
    by_sku: list[str] = []
    for line in lines:
        if line.get("product_id") is None and line.get("local_sku"):
            by_sku.append(line["local_sku"])
    ids_by_sku: dict[str, int] = {}
    for chunk in _chunks(sorted(set(by_sku))):
        ids_by_sku.update(dict(conn.execute(select(_P.c.sku, _P.c.id).where(_P.c.sku.in_(chunk))).all()))
    for line in lines:
        pid = line.get("product_id") or ids_by_sku.get(line.get("local_sku") or "")
        sold = _whole(line.get("quantity") or 0)
        if pid is None or sold == 0:
            continue
        key = (str(line.get("order_number") or ""), pid)
        wanted[key] = wanted.get(key, 0) + sold
    if not wanted:
        return
    included = _already_included(conn, cart, wanted)
    changes = [QuantityChange(pid, delta=-sold, reason="sale", source=_sale_source(cart, number))
               for (number, pid), sold in wanted.items() if (number, pid) not in included]
    if changes:
        resend = _overwritten_at_origin(conn, cart, sorted({c.product_id for c in changes}))
        apply_changes(conn, plugins, changes, source=f"order import from {cart.name}", cart=cart,
                      resend_to_origin=resend)
    if included:
        _record_included(conn, cart, included)


def _sale_source(cart: CartDefinition, number: str) -> str:
    return f"order {number} from {cart.name}" if number else f"order import from {cart.name}"


def _covered(number: str, mark: str | None) -> bool:
    """Whether order ``number`` is at or before ``mark`` (both as the cart numbers its orders)."""
    if not mark:
        return False
    a, b = order_number_sort(number), order_number_sort(mark)
    return a <= b if a is not None and b is not None else number <= mark


def _already_included(conn: Connection, cart: CartDefinition, wanted: Mapping[tuple[str, int], int]
                      ) -> dict[tuple[str, int], str]:
    """The (order, product) sales the product's local figure already holds, with the reason
    (docs/inventory.md, *Sales a cart's figure already includes*)."""
    boundary = conn.execute(select(tables.checkpoints.c.value, tables.checkpoints.c.job).where(
        tables.checkpoints.c.cart_id == cart.id, tables.checkpoints.c.job == HISTORY)).first()
    sources: dict[int, Any] = {}
    for chunk in _chunks(sorted({pid for _, pid in wanted})):
        sources.update({r.product_id: r for r in conn.execute(
            select(_S.c.product_id, _S.c.cart_id, _S.c.order_mark).where(_S.c.product_id.in_(chunk)))})
    included: dict[tuple[str, int], str] = {}
    for number, pid in wanted:
        source = sources.get(pid)
        if source is not None and source.cart_id == cart.id:
            if _covered(number, source.order_mark):
                included[(number, pid)] = f"sale already in the stock read from {cart.name}"
        elif boundary is not None and (boundary.value is None or _covered(number, boundary.value)):
            included[(number, pid)] = f"sale from {cart.name}'s order history, before seconnect's first import"
    return included


def _record_included(conn: Connection, cart: CartDefinition, included: Mapping[tuple[str, int], str]) -> None:
    """A change of 0 per sale the figure already held, so the history shows every order once."""
    qoh: dict[int, int | None] = {}
    for chunk in _chunks(sorted({pid for _, pid in included})):
        qoh.update(dict(conn.execute(select(_P.c.id, _P.c.qoh).where(_P.c.id.in_(chunk))).all()))
    now = utcnow()
    rows = [{"product_id": pid, "delta": 0, "qoh_after": qoh[pid], "reason": reason,
             "source": _sale_source(cart, number), "cart_id": cart.id, "at": now}
            for (number, pid), reason in included.items() if qoh.get(pid) is not None]
    if rows:
        conn.execute(insert(tables.inventory_changes), rows)


# -- where a figure came from ----------------------------------------------------------------------

def order_mark(store: Any, plugins: Plugins, cart: CartDefinition) -> str | None:
    """Cart C's newest order now (``""``: none), asked before C's quantities are read; without
    the plugin's ``newest_order``, C's order checkpoint (None: no orders imported yet)."""
    from .capabilities import Capability as Cap

    if not plugins.capabilities_for(cart).supports(Cap.IMPORT_ORDERS):
        return ""  # its orders never come in: nothing to count twice
    try:
        newest = plugins.newest_order(cart)
    except CartRejected as exc:  # e.g. a script without order functions: the Get itself still works
        log.warning("%s: cannot ask for the newest order (%s); counting from the last imported one",
                    cart.name, exc.message)
        newest = None
    if newest is not None:
        return str(newest)
    with store.begin() as conn:
        return conn.execute(select(tables.checkpoints.c.value).where(
            tables.checkpoints.c.cart_id == cart.id, tables.checkpoints.c.job == "import-orders")).scalar()


def note_sources(conn: Connection, cart: CartDefinition, product_ids: Iterable[int], mark: str | None) -> None:
    """The local figures of these products were just taken from ``cart``, whose newest order was ``mark``."""
    now = utcnow()
    rows = [{"product_id": pid, "cart_id": cart.id, "order_mark": mark, "read_at": now}
            for pid in sorted(set(product_ids))]
    for start in range(0, len(rows), _CHUNK):
        upsert(conn, _S, rows[start:start + _CHUNK], ["product_id"], ["cart_id", "order_mark", "read_at"])


def start_history(store: Any, plugins: Plugins, cart: CartDefinition) -> None:
    """Before a cart's first order import downloads anything: note its history boundary (once)."""
    from .jobs.base import get_checkpoint

    with store.begin() as conn:
        if conn.execute(select(tables.checkpoints.c.job).where(
                tables.checkpoints.c.cart_id == cart.id, tables.checkpoints.c.job == HISTORY)).first():
            return
        if get_checkpoint(conn, cart, "import-orders") is not None:
            return  # a store from before 0002 that imported already: every new order counts
    newest = plugins.newest_order(cart)
    with store.begin() as conn:
        upsert(conn, tables.checkpoints, [{"cart_id": cart.id, "job": HISTORY,
                                           "value": None if newest is None else str(newest), "updated_at": utcnow()}],
               ["cart_id", "job"], [])


def close_history(conn: Connection, cart: CartDefinition, last: str | None) -> None:
    """A finished import without a mark from the cart closes the history at its last order."""
    conn.execute(update(tables.checkpoints).where(
        tables.checkpoints.c.cart_id == cart.id, tables.checkpoints.c.job == HISTORY,
        tables.checkpoints.c.value.is_(None)).values(value=last or "", updated_at=utcnow()))


def _overwritten_at_origin(conn: Connection, cart: CartDefinition, product_ids: Sequence[int]) -> set[int]:
    """Products whose quantity seconnect sent to ``cart`` (absolute) since the cart's previous
    successful order import, or is sending right now: the cart's own decrement for a sale in
    this batch may have been overwritten by that send."""
    runs = tables.runs
    since = conn.execute(select(func.max(runs.c.started_at)).where(
        runs.c.job == "import-orders", runs.c.cart_id == cart.id, runs.c.status == "ok")).scalar()
    skus = {}
    for chunk in _chunks(list(product_ids)):
        skus.update(dict(conn.execute(select(_P.c.sku, _P.c.id).where(_P.c.id.in_(chunk))).all()))
    if not skus:
        return set()
    ob = tables.outbox
    recent = ob.c.state == "sending"
    sent = ob.c.state == "sent"
    if since is not None:
        sent = sent & (ob.c.sent_at >= since)
    found: set[int] = set()
    for chunk in _chunks(sorted(skus)):
        for key in conn.execute(select(ob.c.key).distinct().where(
                ob.c.cart_id == cart.id, ob.c.kind == KIND, ob.c.key.in_(chunk), or_(recent, sent))).scalars():
            found.add(skus[key])
    return found

