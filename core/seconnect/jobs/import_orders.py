"""`seconnect run import-orders` — SEOM's "Import My New Orders via Internet".

Incremental from the cart's checkpoint (the last imported order number; ``lastorder=All`` the
first time, or a start point the user gives), and from that order's date for carts that select
by date (``since``; SETI ``lastdate``). Each download batch is stored in one transaction
together with the new checkpoint, so a crash or ``kill -9`` at any moment loses nothing and a
rerun duplicates nothing; orders are unique per (cart, order number) and a re-sent order
updates the stored one (its lines, payments, adjustments and custom fields are replaced; its
status only when the cart's status changed since, see :mod:`seconnect.status`).

Records that fail schema validation or cannot be stored are quarantined with their raw payload
and the reason; the rest of the batch imports. Customers are linked by the ordered match rules
(:mod:`seconnect.matching`) or created; a re-sent order keeps the customer it was linked to.
Custom order fields are stored where the cart type supports them; otherwise they stay in the
order's ``raw`` values (nothing the cart sent is dropped) and the summary says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete, select

from ..capabilities import Capability
from ..cartdef import CartDefinition
from ..errors import UsageError
from ..inventory import close_history, record_sales, start_history
from ..matching import CustomerMatcher
from ..orders import totals_note
from ..plugins import Plugins
from ..status import merge_reported
from ..store import Store, allocate_ids, insert_many, tables, upsert
from ..store.tables import order_number_sort
from ..subskus import SkuTranslator
from .base import (
    JobRun,
    RecordCheck,
    cart_lock,
    ctrl_c_held,
    get_checkpoint,
    quarantine_record,
    set_checkpoint,
)

__all__ = ["JOB", "import_orders", "check_start_after"]

JOB = "import-orders"
# Amounts beyond this are not real orders (and would not fit the store's exact integer columns).
_MAX_AMOUNT = Decimal(10) ** 11
_SAFE_AMOUNT_TEXT = 11  # characters: at most eleven digits
_LINE_AMOUNTS = (("unit_price", "a line's unit price"), ("total", "a line's total"),
                 ("quantity", "a line's quantity"))


class _Unstorable(ValueError):
    """A record that validates but cannot be stored as it is (e.g. absurd amounts)."""


def check_start_after(plugins: Plugins, cart: CartDefinition, number: str) -> None:
    """Refuse a start point that is not an order number of the cart's type (its
    ``order_number_pattern``): a script given one either re-sends everything or fails."""
    try:
        cart_type = plugins.resolve_type(cart.type)
    except UsageError:  # a type no plugin provides now: the job itself says so, for this cart alone
        return
    if cart_type.order_number_pattern and not re.fullmatch(cart_type.order_number_pattern, number):
        example = f" look like {cart_type.order_number_example}" if cart_type.order_number_example else " differ"
        raise UsageError(f"--start-after {number!r} is not an order number of cart {cart.name!r}.",
                         hint=f"{cart_type.label} order numbers{example}: give the number of the last order "
                              f"not to import again (`seconnect orders list --cart {cart.name!r}` shows them).")


def import_orders(store: Store, plugins: Plugins, cart: CartDefinition, *, start_after: str | None = None,
                  progress: Callable[[int], None] | None = None,
                  on_wait: Callable[[], None] | None = None) -> dict[str, Any]:
    """Import the cart's new orders; returns the run's summary.

    :param start_after: import orders after this order number instead of the stored checkpoint.
    :param progress: called after each batch with the number of orders handled and the number
        the cart announced for the whole import (``None`` when it does not say).
    :param on_wait: called once if another import of this cart holds the lock and we wait.
    """
    plugins.require(cart, Capability.IMPORT_ORDERS)
    if start_after is not None:
        check_start_after(plugins, cart, start_after)
    custom_fields_supported = plugins.capabilities_for(cart).supports(Capability.CUSTOM_ORDER_FIELDS)
    check = RecordCheck("order")
    summary: dict[str, Any] = {
        "cart": cart.name, "received": 0, "new": 0, "updated": 0, "quarantined": 0,
        "customers_created": 0, "customers_matched": {}, "unmapped_lines": 0,
        "custom_fields_stored": 0, "custom_fields_kept_raw": 0, "checkpoint": None, "saved": 0,
    }
    matched: Counter[str] = Counter()
    with JobRun(store, JOB, cart) as run, cart_lock(store, JOB, cart, on_wait=on_wait):
        with store.begin() as conn:
            stored = get_checkpoint(conn, cart, JOB)
            checkpoint = start_after if start_after is not None else stored
            since = _date_of(conn, cart, checkpoint)
            # one translator for the run: its cache of products and codes spares each batch
            # re-reading the same SKUs (importing orders never changes a mapping)
            translator = SkuTranslator(conn, cart)
        if stored is None:  # the cart's first import: its orders so far are history for stock
            start_history(store, plugins, cart)
        summary["checkpoint"] = checkpoint
        batches = plugins.call("import_orders", cart, Capability.IMPORT_ORDERS, checkpoint=checkpoint,
                               batch_size=int(cart.param("DownloadBatchSize", 50)), since=since)
        try:
            for batch in batches:
                # Counted once committed, and a Ctrl-C waits for both: an interrupted run
                # reports what it really saved.
                with ctrl_c_held():
                    with store.begin() as conn:
                        _store_batch(conn, run, plugins, cart, batch.records, check, custom_fields_supported,
                                     summary, matched, translator.on(conn))
                        set_checkpoint(conn, cart, JOB, batch.checkpoint)
                    summary["checkpoint"], summary["saved"] = batch.checkpoint, summary["new"] + summary["updated"]
                if progress:
                    progress(len(batch.records), batch.expected)
            with store.begin() as conn:
                close_history(conn, cart, summary["checkpoint"])
        finally:
            # Stop the plugin's downloads now (its helper processes), not whenever the
            # generator is collected: an interrupted job must be able to exit at once.
            getattr(batches, "close", lambda: None)()
            summary["customers_created"] = matched.pop("created", 0)
            summary["customers_matched"] = dict(matched)
            run.summary = summary
    return summary


def _date_of(conn: Connection, cart: CartDefinition, number: str | None) -> date | None:
    """The date of the stored order at the checkpoint: the newest imported order, as SEOM sends
    it in ``lastdate``. Read from the orders themselves, which are committed with the checkpoint,
    so it is as crash-proof as the checkpoint and needs no bookkeeping of its own."""
    if not number:
        return None
    ordered_at = conn.execute(select(tables.orders.c.ordered_at).where(
        tables.orders.c.cart_id == cart.id, tables.orders.c.number == number)).scalar()
    return ordered_at.date() if ordered_at is not None else None


def _store_batch(conn: Connection, run: JobRun, plugins: Plugins, cart: CartDefinition, records: Sequence[Any],
                 check: RecordCheck, custom_fields_supported: bool, summary: dict[str, Any],
                 matched: Counter[str], translator: SkuTranslator | None = None) -> None:
    summary["received"] += len(records)
    rows: list[dict[str, Any]] = []
    good: list[dict] = []
    for record in records:
        number = record.get("number") if isinstance(record, dict) else None
        problems = check.problems(record)
        if not problems:
            try:
                rows.append(_order_row(cart, record, custom_fields_supported))
                good.append(record)
                continue
            except _Unstorable as exc:
                problems = [str(exc)]
        quarantine_record(conn, cart, "order", str(number) if number is not None else None,
                          "; ".join(problems), record)
        run.event(conn, "order-quarantined", number=number, reason=problems[0])
        summary["quarantined"] += 1
    if not good:
        return
    last = {r["number"]: i for i, r in enumerate(good)}
    if len(last) < len(good):  # a cart repeating an order in one batch: the last copy wins
        good, rows = [good[i] for i in sorted(last.values())], [rows[i] for i in sorted(last.values())]
    numbers = [r["number"] for r in good]
    o = tables.orders
    # Locked: `orders set-status` may change one of them meanwhile (it locks the order too).
    existing = {r.number: r for r in conn.execute(
        select(o.c.number, o.c.id, o.c.customer_id, o.c.status, o.c.cart_status)
        .where(o.c.cart_id == cart.id, o.c.number.in_(numbers)).with_for_update())}

    # Link customers; an order seen before keeps its customer (re-matching a guest with no
    # usable contact data would otherwise create a new customer on every re-send).
    fresh = [i for i, r in enumerate(good) if r["number"] not in existing]
    results = CustomerMatcher(conn, cart, source="order import").match_orders([good[i] for i in fresh])
    for i, result in zip(fresh, results, strict=True):
        rows[i]["customer_id"] = result.customer_id
        rows[i]["customer_match"] = result.rule
        matched[result.rule] += 1
    for row in rows:
        if row["number"] in existing:
            row.pop("customer_id", None)
            row.pop("customer_match", None)
    merge_reported(conn, existing, rows)  # a newer local status change stands
    summary["new"] += len(fresh)
    summary["updated"] += len(good) - len(fresh)

    ids: dict[str, int] = {}
    # New orders get their ids up front and go in as one plain bulk insert (the cart's job lock
    # keeps anyone else from adding this cart's orders meanwhile); a re-sent order updates its
    # row and keeps its customer and when it was first imported.
    new_rows = [r for r in rows if "customer_id" in r]
    for row, order_id in zip(new_rows, allocate_ids(conn, tables.orders, len(new_rows)), strict=True):
        row["id"] = ids[row["number"]] = order_id
    insert_many(conn, tables.orders, new_rows)
    resent = [r for r in rows if "customer_id" not in r]
    if resent:
        changing = [c for c in resent[0] if c not in ("cart_id", "number", "imported_at")]
        for row in upsert(conn, tables.orders, resent, ["cart_id", "number"], changing, returning=["id", "number"]):
            ids[row.number] = row.id
    if existing:
        stale = [ids[n] for n in existing]
        for child in (tables.order_lines, tables.order_payments, tables.order_adjustments,
                      tables.order_custom_fields):
            conn.execute(delete(child).where(child.c.order_id.in_(stale)))
    sold = _insert_children(conn, good, ids, custom_fields_supported, summary,
                            translator or SkuTranslator(conn, cart))
    # Only orders new to the store file can take stock off: a re-sent order was counted already
    # (and record_sales leaves out sales the stock figure already holds).
    new_numbers = {good[i]["number"] for i in fresh}
    record_sales(conn, plugins, cart, [line for line in sold if line["order_number"] in new_numbers])


def _insert_children(conn: Connection, records: Sequence[dict], ids: dict[str, int], custom_fields_supported: bool,
                     summary: dict[str, Any], translator: SkuTranslator) -> list[dict[str, Any]]:
    """Insert lines, payments, adjustments and custom fields; returns the lines as sales."""
    lines: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    adjustments: list[dict[str, Any]] = []
    custom: list[dict[str, Any]] = []
    all_lines = [(r["number"], line) for r in records for line in r.get("lines") or ()]
    translations = translator.translate([line for _, line in all_lines])
    sales = []
    for (number, line), tr in zip(all_lines, translations, strict=True):
        order_id = ids[number]
        sales.append({"order_number": number, "product_id": tr.product_id, "local_sku": tr.local_sku,
                      "quantity": line.get("quantity") or 0})
        if tr.product_id is None:
            summary["unmapped_lines"] += 1
        lines.append({
            # int(): the validator counts an integral Decimal as an integer, the driver does not
            "order_id": order_id, "line_no": int(line.get("line_no") or len(lines) + 1),
            "sku": line.get("sku"), "local_sku": tr.local_sku, "product_id": tr.product_id,
            "name": line.get("name"), "quantity": line.get("quantity") or 0,
            "unit_price": line.get("unit_price"), "total": line.get("total"), "weight": line.get("weight"),
            "options": line.get("options") or [], "raw": _line_raw(line),
        })
    for record in records:
        order_id = ids[record["number"]]
        for p in record.get("payments") or ():
            payments.append({"order_id": order_id, "kind": p["kind"], "issuer": p.get("issuer"),
                             "transaction_id": p.get("transaction_id"), "auth_code": p.get("auth_code"),
                             "amount": p.get("amount"), "details": p.get("fields") or {}})
        totals = record.get("totals") or {}
        for d in totals.get("discounts") or ():
            adjustments.append({"order_id": order_id, "kind": "discount", "description": d.get("description"),
                                "amount": d.get("amount"), "details": d})
        for s in totals.get("surcharges") or ():
            adjustments.append({"order_id": order_id, "kind": "surcharge", "description": s.get("description"),
                                "amount": s.get("total"), "details": s})
        for c in record.get("coupons") or ():
            adjustments.append({"order_id": order_id, "kind": "coupon", "description": c.get("name"),
                                "amount": c.get("total"), "details": c})
        if custom_fields_supported:
            seen: set[str] = set()
            for f in record.get("custom_fields") or ():
                if f["name"] not in seen:  # a name appears once per order
                    seen.add(f["name"])
                    custom.append({"order_id": order_id, "name": f["name"], "value": f.get("value")})
    # Line numbers must be unique per order even when a cart repeats or omits them.
    _renumber(lines)
    for table, values in ((tables.order_lines, lines), (tables.order_payments, payments),
                          (tables.order_adjustments, adjustments), (tables.order_custom_fields, custom)):
        insert_many(conn, table, values)
    summary["custom_fields_stored"] += len(custom)
    return sales


def _renumber(lines: list[dict[str, Any]]) -> None:
    seen: dict[int, set[int]] = {}
    for line in lines:
        used = seen.setdefault(line["order_id"], set())
        if line["line_no"] in used:
            line["line_no"] = max(used) + 1
        used.add(line["line_no"])


def _line_raw(line: dict) -> dict:
    raw = dict(line.get("raw") or {})
    for key in ("prod_type", "taxable", "line_id", "customer_text", "dimensions"):
        if line.get(key) is not None:
            raw[key] = line[key]
    return raw


def _amount(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _Unstorable(f"{what} is not an amount: {value!r}") from None
    if not amount.is_finite() or abs(amount) >= _MAX_AMOUNT:
        raise _Unstorable(f"{what} is out of range: {value!r}")
    return amount


def _sum(items: Sequence[dict], key: str, what: str) -> Decimal | None:
    values = [_amount(i.get(key), what) for i in items]
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def _ordered_at(value: str | None) -> datetime | None:
    """Order dates come without a zone (carts send their server's local time): kept as given,
    labelled UTC; the cart's original text stays in ``raw``."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _order_row(cart: CartDefinition, record: dict, custom_fields_supported: bool) -> dict[str, Any]:
    totals = record.get("totals") or {}
    other = record.get("other") or {}
    raw = dict(record.get("raw") or {})
    if record.get("date"):
        raw.setdefault("date", record["date"])
    for key in ("ip", "web_customer_id", "associate", "total_order_weight", "gift_message"):
        if other.get(key) is not None:
            raw[f"other.{key}"] = other[key]
    for key in ("tax_rate", "tax_shipping", "tax_exempt", "tax_id"):
        if totals.get(key) is not None:
            raw[f"totals.{key}"] = totals[key]
    if record.get("custom_fields") and not custom_fields_supported:
        raw["custom_fields"] = record["custom_fields"]
    for line in record.get("lines") or ():
        for key, what in _LINE_AMOUNTS:
            value = line.get(key)
            # Text the schema passed as money, this short, cannot reach the limit: spare parsing it.
            if not (type(value) is str and len(value) <= _SAFE_AMOUNT_TEXT):
                _amount(value, what)
    return {
        "cart_id": cart.id,
        "number": record["number"],
        "number_sort": order_number_sort(record["number"]),
        "ordered_at": _ordered_at(record.get("date")),
        "status": record.get("status"),
        "cart_status": record.get("status"),
        "billing": record.get("billing") or {},
        "shipping": record.get("shipping") or {},
        "product_total": _amount(totals.get("product_total"), "the product total"),
        "discount_total": _sum(totals.get("discounts") or (), "amount", "a discount"),
        "subtotal": _amount(totals.get("subtotal"), "the subtotal"),
        "tax": _amount(totals.get("tax"), "the tax"),
        "shipping_total": _amount(totals.get("shipping"), "the shipping total"),
        "shipping_method": totals.get("shipping_method"),
        "surcharge_total": _sum(totals.get("surcharges") or (), "total", "a surcharge"),
        "grand_total": _amount(totals.get("grand_total"), "the grand total"),
        "totals_note": totals_note(record),
        "instructions": other.get("instructions"),
        "comments": other.get("comments"),
        "raw": raw,
        "imported_at": datetime.now(UTC),
        "updated_at": datetime.now(UTC),
    }
