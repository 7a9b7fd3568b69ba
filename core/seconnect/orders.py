"""Orders in the store file: finding them and turning them back into records.

:func:`order_record` rebuilds the order as a record valid against ``order.schema.json`` (what
the cart sent, as stored); :func:`order_details` adds what seconnect knows on top of it (the
customer it is linked to and the rule that linked it, local SKUs, when it was imported).
:func:`totals_note` says when an order's stored parts do not add up to its grand total.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, Select, func, or_, select

from .carts import get_cart
from .errors import NotFoundError
from .store import tables
from .store.paging import Page
from .subskus import chunked

__all__ = ["find_order", "list_orders", "order_record", "order_details", "totals_note"]


def _money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != [] and v != {}}


def _dec(value: Any) -> Decimal | None:
    try:
        return None if value is None or value == "" else Decimal(str(value))
    except ArithmeticError:
        return None


def _total(items: Any, key: str) -> Decimal:
    return sum((_dec(i.get(key)) or Decimal(0) for i in items or ()), Decimal(0))


def totals_note(record: dict[str, Any]) -> str | None:
    """None when the order's parts add up to its grand total (or there is no grand total to
    check); otherwise what they add up to, for the order row's ``totals_note``.

    Parts: the merchandise after discounts and coupons (the SubTotal as sent; or, where a script
    sends SubTotal before its discounts as Stone Edge's Magento script does, SubTotal less them;
    without a SubTotal, ProductTotal or the line totals less them), plus tax, shipping and
    surcharges. Discounts and coupons are positive reductions (order.schema.json).
    """
    totals = record.get("totals") or {}
    grand = _dec(totals.get("grand_total"))
    if grand is None:
        return None
    reductions = _total(totals.get("discounts"), "amount") + _total(record.get("coupons"), "total")
    extras = (_dec(totals.get("tax")) or 0) + (_dec(totals.get("shipping")) or 0) \
        + _total(totals.get("surcharges"), "total")
    subtotal = _dec(totals.get("subtotal"))
    if subtotal is not None:
        candidates = [subtotal, subtotal - reductions]
    else:
        product_total = _dec(totals.get("product_total"))
        merchandise = product_total if product_total is not None else _total(record.get("lines"), "total")
        candidates = [merchandise - reductions]
    if any(base + extras == grand for base in candidates):
        return None
    parts = candidates[0] + extras
    return (f"the parts add up to {_money(parts)} (merchandise {_money(candidates[0])}, discounts and coupons "
            f"{_money(reductions)}, tax, shipping and surcharges {_money(Decimal(extras))}), not to the grand "
            f"total {_money(grand)}")


def find_order(conn: Connection, cart_name: str, number: str) -> Row:
    cart = get_cart(conn, cart_name)
    row = conn.execute(select(tables.orders).where(
        tables.orders.c.cart_id == cart.id, tables.orders.c.number == number)).first()
    if row is None:
        raise NotFoundError(f"cart {cart.name!r} has no order {number!r} in the store file.",
                            hint=f"List them with `seconnect orders list --cart {cart.name!r}`, or import with "
                                 f"`seconnect run import-orders --cart {cart.name!r}`.")
    return row


def list_orders(conn: Connection, cart_name: str | None = None, limit: int | None = 100, *,
                since: datetime | None = None, status: str | None = None, number: str | None = None,
                customer: str | None = None, until: datetime | None = None, offset: int = 0) -> Page:
    """Orders by cart and number (at most ``limit`` after ``offset``; ``.total`` says how many match):
    only those dated ``since`` or later (before ``until``), with the status ``status`` (any case),
    the order number ``number``, or a customer whose name starts with or whose email is ``customer``."""
    o, c, ol = tables.orders, tables.carts, tables.order_lines
    query = (select(o.c.id, o.c.cart_id, o.c.number, o.c.ordered_at, o.c.status, o.c.grand_total, o.c.customer_id,
                    o.c.customer_match, o.c.billing, c.c.name.label("cart"))
             .join(c, c.c.id == o.c.cart_id))
    cart_ids = ([get_cart(conn, cart_name).id] if cart_name
                else conn.execute(select(c.c.id).order_by(c.c.name_key)).scalars().all())
    if since is not None:
        query = query.where(o.c.ordered_at >= since)
    if until is not None:
        query = query.where(o.c.ordered_at < until)
    if status:
        query = query.where(func.lower(o.c.status) == status.strip().lower())
    if number:
        query = query.where(o.c.number == number.strip())
    if customer:
        cu, text = tables.customers, customer.strip().lower()
        matching = select(cu.c.id).where(or_(cu.c.email_norm == text, func.lower(cu.c.last_name).startswith(text, autoescape=True),
                                             func.lower(cu.c.first_name).startswith(text, autoescape=True),
                                             func.lower(cu.c.company).startswith(text, autoescape=True)))
        query = query.where(o.c.customer_id.in_(matching))
    rows = _cart_by_cart(conn, query, cart_ids, limit, offset)
    # Lines are counted for the orders shown only: counting every order's lines costs a scan of them all.
    counts: dict[int, int] = {}
    for chunk in chunked([r.id for r in rows]):
        counts.update(conn.execute(select(ol.c.order_id, func.count()).where(ol.c.order_id.in_(chunk))
                                   .group_by(ol.c.order_id)).all())
    return Page(({
        "cart": r.cart, "number": r.number, "date": r.ordered_at.isoformat() if r.ordered_at else None,
        "status": r.status, "customer": (r.billing or {}).get("full_name"), "customer_id": r.customer_id,
        "customer_match": r.customer_match, "lines": counts.get(r.id, 0), "grand_total": _money(r.grand_total),
    } for r in rows), rows.total)


def _cart_by_cart(conn: Connection, query: Select, cart_ids: list[int], limit: int | None, offset: int) -> Page:
    """The page of ``query``'s orders, carts in the order given and each cart's by number: one
    query per cart on the (cart_id, number_sort, number) index, since ordering by cart name across the
    join made the database sort every order for every page (100k orders: 60-250 ms a page)."""
    o = tables.orders
    sub = query.subquery()
    counts = dict(conn.execute(select(sub.c.cart_id, func.count()).group_by(sub.c.cart_id)).all())
    rows: list[Row] = []
    skip = offset
    for cart_id in cart_ids:
        if limit is not None and len(rows) >= limit:
            break
        if skip >= counts.get(cart_id, 0):
            skip -= counts.get(cart_id, 0)
            continue
        part = query.where(o.c.cart_id == cart_id).order_by(o.c.number_sort, o.c.number).offset(skip or None)
        rows += conn.execute(part if limit is None else part.limit(limit - len(rows))).all()
        skip = 0
    return Page(rows, sum(counts.get(i, 0) for i in cart_ids))


def order_record(conn: Connection, order: Row) -> dict[str, Any]:
    """The stored order as an ``order.schema.json`` record."""
    raw = dict(order.raw or {})
    lines = conn.execute(select(tables.order_lines).where(tables.order_lines.c.order_id == order.id)
                         .order_by(tables.order_lines.c.line_no)).all()
    payments = conn.execute(select(tables.order_payments).where(
        tables.order_payments.c.order_id == order.id).order_by(tables.order_payments.c.id)).all()
    adjustments = conn.execute(select(tables.order_adjustments).where(
        tables.order_adjustments.c.order_id == order.id).order_by(tables.order_adjustments.c.id)).all()
    custom = conn.execute(select(tables.order_custom_fields).where(
        tables.order_custom_fields.c.order_id == order.id).order_by(tables.order_custom_fields.c.name)).all()
    record_lines = []
    for line in lines:
        extra = dict(line.raw or {})
        record_lines.append(_clean({
            "line_no": line.line_no, "sku": line.sku, "name": line.name, "quantity": _number(line.quantity),
            "unit_price": _money(line.unit_price), "total": _money(line.total),
            "weight": None if line.weight is None else format(line.weight.normalize(), "f"),
            "options": line.options or None,
            **{k: extra.pop(k) for k in ("prod_type", "taxable", "line_id", "customer_text", "dimensions")
               if k in extra},
            "raw": extra or None,
        }))
    totals = _clean({
        "product_total": _money(order.product_total), "subtotal": _money(order.subtotal),
        "grand_total": _money(order.grand_total), "tax": _money(order.tax),
        "shipping": _money(order.shipping_total), "shipping_method": order.shipping_method,
        **{k.split(".", 1)[1]: raw.pop(k) for k in list(raw) if k.startswith("totals.")},
        "discounts": [a.details for a in adjustments if a.kind == "discount"],
        "surcharges": [a.details for a in adjustments if a.kind == "surcharge"],
    })
    other = _clean({
        "instructions": order.instructions, "comments": order.comments,
        **{k.split(".", 1)[1]: raw.pop(k) for k in list(raw) if k.startswith("other.")},
    })
    custom_fields = [{"name": f.name, "value": f.value} for f in custom] or raw.pop("custom_fields", None)
    date = raw.pop("date", None) or (order.ordered_at.isoformat() if order.ordered_at else None)
    return _clean({
        "number": order.number, "date": date, "status": order.status,
        "billing": order.billing or None, "shipping": order.shipping or None,
        "lines": record_lines,
        "payments": [_clean({"kind": p.kind, "issuer": p.issuer, "transaction_id": p.transaction_id,
                             "auth_code": p.auth_code, "amount": _money(p.amount), "fields": p.details or None})
                     for p in payments],
        "totals": totals or None,
        "coupons": [a.details for a in adjustments if a.kind == "coupon"],
        "other": other or None,
        "custom_fields": custom_fields,
        "raw": raw or None,
    })


def order_details(conn: Connection, cart_name: str, number: str) -> dict[str, Any]:
    """`orders show`: the record plus the store file's own facts about the order."""
    order = find_order(conn, cart_name, number)
    lines = conn.execute(select(tables.order_lines.c.line_no, tables.order_lines.c.sku,
                                tables.order_lines.c.local_sku, tables.order_lines.c.product_id)
                         .where(tables.order_lines.c.order_id == order.id)
                         .order_by(tables.order_lines.c.line_no)).all()
    customer = None
    if order.customer_id is not None:
        c = conn.execute(select(tables.customers).where(tables.customers.c.id == order.customer_id)).first()
        if c is not None:
            customer = {"id": c.id, "name": " ".join(x for x in (c.first_name, c.last_name) if x),
                        "email": c.email, "phone": c.phone}
    history = conn.execute(select(tables.order_status_history).where(
        tables.order_status_history.c.order_id == order.id).order_by(tables.order_status_history.c.id)).all()
    return {
        "cart": get_cart(conn, cart_name).name,
        "record": order_record(conn, order),
        "customer": customer,
        "customer_match": order.customer_match,
        "cart_status": order.cart_status,  # as the cart last reported it; "status" is ours
        "totals_note": order.totals_note,
        "local_skus": [{"line_no": r.line_no, "sku": r.sku, "local_sku": r.local_sku,
                        "in_store_file": r.product_id is not None} for r in lines],
        "status_history": [{"label": h.label, "previous": h.previous_label, "note": h.note,
                            "tracking": h.tracking or [], "at": h.changed_at.isoformat(),
                            "push": h.push_state, "reason": h.push_reason} for h in history],
        "imported_at": order.imported_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }
