"""`seconnect products …` — the store file's products: SKUs, sub-SKUs, and each cart's codes for them.

Products arrive with `seconnect run import-products`; this group only reads. ``planned_text``
prints a dry run's ``planned`` list the same way for any command that shows one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import Connection, exists, func, or_, select

from ..carts import get_cart
from ..errors import NotFoundError
from ..store import tables
from ..store.paging import Page, fetch_page
from ..subskus import chunked
from . import App, cart_option, emit, json_option, pass_app, table
from .listing import limit_of, listing_options, report_cut

__all__ = ["command", "list_products", "product_detail", "planned_text"]

_P, _C, _K = tables.products, tables.product_cart_codes, tables.carts
_NAME_WIDTH = 40
_CODES_SHOWN = 3


def _amount(value: Decimal | None) -> str | None:
    """Money and weights as people write them: 24.50, not 24.5000."""
    if value is None:
        return None
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else str(value.normalize())


def _codes(conn: Connection, product_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in product_ids}
    query = select(_C.c.product_id, _K.c.name, _C.c.code, _C.c.web_id, _C.c.cart_qoh, _C.c.last_sent_qoh).join(
        _K, _K.c.id == _C.c.cart_id).order_by(_K.c.name_key, _C.c.code)
    for chunk in chunked(list(product_ids)):
        for row in conn.execute(query.where(_C.c.product_id.in_(chunk))):
            found[row.product_id].append({"cart": row.name, "code": row.code, "web_id": row.web_id,
                                          "cart_qoh": row.cart_qoh, "last_sent_qoh": row.last_sent_qoh})
    return found


def list_products(conn: Connection, *, cart_id: int | None = None, limit: int | None = None,
                  search: str | None = None, offset: int = 0) -> Page:
    """Products by SKU, each parent followed by its sub-SKUs; only those a cart has codes for
    when ``cart_id`` is given, or whose SKU or name starts with ``search`` (any case). At most
    ``limit`` after ``offset``; ``.total`` says how many there are."""
    parent = _P.alias("parent")
    query = select(_P.c.id, _P.c.sku, _P.c.name, _P.c.price, _P.c.qoh, _P.c.option_values,
                   parent.c.sku.label("parent_sku")).outerjoin(parent, parent.c.id == _P.c.parent_id).order_by(
        func.coalesce(parent.c.sku, _P.c.sku), _P.c.parent_id.is_not(None), _P.c.sku)
    if cart_id is not None:
        query = query.where(exists().where(_C.c.product_id == _P.c.id, _C.c.cart_id == cart_id))
    if search:
        text = search.strip().lower()
        query = query.where(or_(func.lower(_P.c.sku).startswith(text, autoescape=True),
                                func.lower(_P.c.name).startswith(text, autoescape=True)))
    rows = fetch_page(conn, query, limit, offset)
    codes = _codes(conn, [r.id for r in rows])
    return Page(({"sku": r.sku, "name": r.name, "price": _amount(r.price), "qoh": r.qoh, "parent": r.parent_sku,
                  "options": r.option_values or {},
                  "cart_codes": [{"cart": c["cart"], "code": c["code"]} for c in codes[r.id]]} for r in rows),
                rows.total)


def product_detail(conn: Connection, sku: str) -> dict[str, Any]:
    """Everything the store file knows about one product, with its sub-SKUs and cart codes."""
    row = conn.execute(select(_P).where(_P.c.sku == sku)).first()
    if row is None:
        near = conn.execute(select(_P.c.sku).where(func.lower(_P.c.sku) == sku.strip().lower()).limit(3)
                            ).scalars().all()
        raise NotFoundError(f"no product with SKU {sku!r}.",
                            hint=(f"Did you mean {', '.join(map(repr, near))}? SKUs are case-sensitive." if near
                                  else "See `seconnect products list`; products arrive with "
                                       "`seconnect run import-products --cart NAME`."))
    parent = conn.execute(select(_P.c.sku).where(_P.c.id == row.parent_id)).scalar() if row.parent_id else None
    children = conn.execute(select(_P.c.sku, _P.c.option_values, _P.c.qoh).where(
        _P.c.parent_id == row.id).order_by(_P.c.sku)).all()
    return {
        "sku": row.sku, "name": row.name, "description": row.description, "price": _amount(row.price),
        "cost": _amount(row.cost), "weight": _amount(row.weight), "taxable": row.taxable,
        "discontinued": row.discontinued, "qoh": row.qoh, "parent": parent, "options": row.option_values or {},
        "sub_skus": [{"sku": c.sku, "options": c.option_values or {}, "qoh": c.qoh} for c in children],
        "cart_codes": _codes(conn, [row.id])[row.id],
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


def _options_text(options: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _codes_text(codes: Sequence[Mapping[str, Any]]) -> str:
    shown = [f"{c['cart']}:{c['code']}" for c in codes[:_CODES_SHOWN]]
    if len(codes) > _CODES_SHOWN:
        shown.append(f"+{len(codes) - _CODES_SHOWN} more")
    return ", ".join(shown)


def _short(text: str | None, width: int = _NAME_WIDTH) -> str:
    text = text or ""
    return text if len(text) <= width else text[:width - 1] + "…"


def _qoh(value: int | None) -> str:
    return "-" if value is None else str(value)


def _list_text(data: list[dict[str, Any]]) -> str:
    if not data:
        return "No products yet. Import them with `seconnect run import-products --cart NAME`."
    rows = [[("  " if p["parent"] else "") + p["sku"], _short(p["name"]), p["price"] or "", _qoh(p["qoh"]),
             p["parent"] or "", _options_text(p["options"]), _codes_text(p["cart_codes"])] for p in data]
    return table(rows, ["SKU", "NAME", "PRICE", "QOH", "PARENT", "OPTIONS", "CART CODES"])


def _show_text(p: dict[str, Any]) -> str:
    yes_no = {True: "yes", False: "no", None: ""}
    lines = [
        f"SKU:          {p['sku']}",
        f"Name:         {p['name'] or ''}",
        f"Price:        {p['price'] or ''}" + (f"   (cost {p['cost']})" if p["cost"] else ""),
        f"Weight:       {p['weight'] or ''}",
        f"Taxable:      {yes_no[p['taxable']]}   Discontinued: {yes_no[p['discontinued']]}",
        f"QOH:          {_qoh(p['qoh'])}" + ("   (stock not tracked)" if p["qoh"] is None else ""),
    ]
    if p["parent"]:
        lines.append(f"Sub-SKU of:   {p['parent']}   ({_options_text(p['options'])})")
    if p["description"]:
        lines.append(f"Description:  {_short(p['description'], 100)}")
    if p["sub_skus"]:
        lines += ["", f"Sub-SKUs ({len(p['sub_skus'])}):"]
        lines += [f"  {s['sku']}  {_options_text(s['options'])}  QOH {_qoh(s['qoh'])}" for s in p["sub_skus"]]
    lines += ["", "Cart codes:"]
    lines += [f"  {c['cart']}: {c['code']}  (web id {c['web_id'] or '-'}, cart QOH {_qoh(c['cart_qoh'])}"
              f", last sent {_qoh(c['last_sent_qoh'])})" for c in p["cart_codes"]] or ["  (none)"]
    return "\n".join(lines)


def planned_text(planned: Sequence[Mapping[str, Any]]) -> str:
    """A dry run's plan (``summary["planned"]`` of an import) as a table."""
    if not planned:
        return "Nothing to import."
    rows = [[p["action"], p.get("sku") or "", p.get("parent") or "", p.get("cart_code") or "",
             p.get("reason") or ""] for p in planned]
    return table(rows, ["ACTION", "SKU", "PARENT", "CART CODE", "REASON"])


@click.group("products")
def command() -> None:
    """Products in the store file: SKUs, sub-SKUs and the carts' codes for them."""


@command.command("list")
@json_option
@cart_option()
@listing_options()
@pass_app
def list_(app: App, as_json: bool, cart_name: str | None, limit: int, everything: bool) -> None:
    """List products (sub-SKUs indented under their parent)."""
    with app.store.connect() as conn:
        cart_id = get_cart(conn, cart_name).id if cart_name else None
        data = list_products(conn, cart_id=cart_id, limit=limit_of(limit, everything))
    emit(data, as_json, _list_text)
    report_cut(data, "products", as_json)


@command.command("show")
@click.argument("sku")
@json_option
@pass_app
def show(app: App, sku: str, as_json: bool) -> None:
    """Show the product SKU: details, sub-SKUs and each cart's code for it."""
    with app.store.connect() as conn:
        data = product_detail(conn, sku)
    emit(data, as_json, _show_text)
