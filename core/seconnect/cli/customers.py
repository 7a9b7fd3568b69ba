"""`seconnect customers …` — the store file's customers, with the carts' ids linked to them.

Customers are created and linked by the imports (see :mod:`seconnect.matching`); these
commands show what the matching did: which web ids of which cart point at a customer, where
the customer was first seen, and how many orders are linked to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import Connection, exists, func, or_, select

from ..errors import NotFoundError
from ..store import tables
from ..store.paging import Page, fetch_page
from ..subskus import chunked
from . import App, cart_option, emit, json_option, pass_app, table
from .listing import limit_of, listing_options, report_cut
from .types import ID

_FIELDS = ("first_name", "last_name", "company", "email", "phone", "street1", "street2", "city", "state",
           "postal_code", "country")
_RECENT_ORDERS = 10
_CENT = Decimal("0.01")


@click.group("customers")
def command() -> None:
    """Customers in the store file, and the cart customer ids linked to them."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None) -> str | None:
    """Cents as order records spell them ("19.99"); more decimals only when the amount has them."""
    if value is None:
        return None
    cents = value.quantize(_CENT)
    return str(cents) if cents == value else format(value.normalize(), "f")


def _name(row: Any) -> str:
    return " ".join(p for p in (row.first_name, row.last_name) if p) or (row.company or "")


def _web_ids(conn: Connection, customer_ids: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    """{customer id: {cart name: [web ids]}} in one query."""
    links, carts = tables.customer_web_ids, tables.carts
    ids = list(customer_ids)
    out: dict[int, dict[str, list[str]]] = {cid: {} for cid in ids}
    if not ids:
        return out
    query = (select(links.c.customer_id, carts.c.name, links.c.web_id)
             .join(carts, carts.c.id == links.c.cart_id)
             .order_by(carts.c.name_key, func.length(links.c.web_id), links.c.web_id))
    for chunk in chunked(ids):  # `list --all` may name more ids than one statement can bind
        for cid, cart, web_id in conn.execute(query.where(links.c.customer_id.in_(chunk))):
            out[cid].setdefault(cart, []).append(web_id)
    return out


def _cart_names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(tables.carts.c.id, tables.carts.c.name)).all())


def _record(row: Any, web_ids: dict[str, list[str]], carts: dict[int, str]) -> dict[str, Any]:
    """A customer as scripts see it: every field (null when blank), web ids by cart name."""
    return {
        "id": row.id,
        "name": _name(row),
        **{f: getattr(row, f) for f in _FIELDS},
        "web_ids": web_ids,
        "created_from": row.created_from,
        "source_cart": carts.get(row.source_cart_id) if row.source_cart_id is not None else None,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _cart_id(conn: Connection, name: str) -> int | None:
    from ..carts import get_cart

    return get_cart(conn, name).id


@command.command("list")
@cart_option()
@listing_options()
@json_option
@pass_app
def list_(app: App, cart_name, limit, everything, as_json) -> None:
    """List customers (lowest ids first): name, e-mail, phone, city/zip, the carts' ids linked to each."""
    c, links = tables.customers, tables.customer_web_ids
    query = select(c).order_by(c.c.id)
    with app.store.begin() as conn:
        if cart_name:
            cart_id = _cart_id(conn, cart_name)
            linked = exists().where(links.c.customer_id == c.c.id, links.c.cart_id == cart_id)
            query = query.where(or_(linked, c.c.source_cart_id == cart_id))
        rows = fetch_page(conn, query, limit_of(limit, everything))
        web_ids = _web_ids(conn, (r.id for r in rows))
        carts = _cart_names(conn)
    data = Page((_record(r, web_ids[r.id], carts) for r in rows), rows.total)
    emit(data, as_json, _list_text)
    report_cut(data, "customers", as_json)


def _where(record: dict[str, Any]) -> str:
    return " ".join(p for p in (record["city"], record["postal_code"]) if p)


def _ids_text(web_ids: dict[str, list[str]]) -> str:
    return "; ".join(f"{cart}: {', '.join(ids)}" for cart, ids in web_ids.items())


def _list_text(data: list[dict[str, Any]]) -> str:
    if not data:
        return "No customers. Import them with `seconnect run import-customers --cart NAME` (orders create them too)."
    return table([[str(d["id"]), d["name"], d["email"] or "", d["phone"] or "", _where(d), _ids_text(d["web_ids"]),
                   d["created_from"] or ""] for d in data],
                 ["ID", "NAME", "EMAIL", "PHONE", "CITY/ZIP", "WEB IDS", "CREATED FROM"])


@command.command("show")
@click.argument("customer_id", metavar="ID", type=ID)
@json_option
@pass_app
def show(app: App, customer_id, as_json) -> None:
    """Show customer ID: fields, the carts' ids linked to it, and the orders linked to it."""
    c, o = tables.customers, tables.orders
    with app.store.begin() as conn:
        row = conn.execute(select(c).where(c.c.id == customer_id)).first()
        if row is None:
            raise NotFoundError(f"no customer with id {customer_id}.",
                                hint="Find ids with `seconnect customers list`.")
        record = _record(row, _web_ids(conn, [row.id])[row.id], _cart_names(conn))
        record["orders"] = conn.execute(select(func.count()).select_from(o)
                                        .where(o.c.customer_id == row.id)).scalar_one()
        recent = conn.execute(
            select(tables.carts.c.name, o.c.number, o.c.ordered_at, o.c.customer_match, o.c.grand_total)
            .join(tables.carts, tables.carts.c.id == o.c.cart_id)
            .where(o.c.customer_id == row.id)
            .order_by(o.c.ordered_at.desc(), o.c.id.desc()).limit(_RECENT_ORDERS)).all()
    record["recent_orders"] = [
        {"cart": r.name, "number": r.number, "date": _iso(r.ordered_at), "matched_by": r.customer_match,
         "grand_total": _money(r.grand_total)} for r in recent]
    emit(record, as_json, _show_text)


def _show_text(d: dict[str, Any]) -> str:
    labels = {"first_name": "First name", "last_name": "Last name", "company": "Company", "email": "E-mail",
              "phone": "Phone", "street1": "Street", "street2": "Street 2", "city": "City", "state": "State",
              "postal_code": "Postal code", "country": "Country"}
    lines = [f"Customer {d['id']}: {d['name'] or '(no name)'}"]
    lines += [f"  {label + ':':<13}{d[f]}" for f, label in labels.items() if d[f]]
    created = d["created_from"] or "unknown"
    if d["source_cart"]:
        created += f" (cart {d['source_cart']})"
    lines.append(f"  {'Created:':<13}{(d['created_at'] or '')[:19]} from {created}")
    lines.append("Web ids:")
    lines += [f"  {cart}: {', '.join(ids)}" for cart, ids in d["web_ids"].items()] or ["  (none)"]
    lines.append(f"Orders: {d['orders']}")
    for r in d["recent_orders"]:
        lines.append(f"  {r['cart']} #{r['number']}  {(r['date'] or '')[:10]}  {r['grand_total'] or ''}"
                     f"  matched by {r['matched_by'] or '-'}")
    if d["orders"] > len(d["recent_orders"]):
        lines.append(f"  … and {d['orders'] - len(d['recent_orders'])} more")
    return "\n".join(lines)
