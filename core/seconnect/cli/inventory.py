"""`seconnect inventory …` — local quantities on hand: list, set, adjust, history.

Every change made here is recorded with who made it and why, and queued for the carts that
synchronize inventory (see :mod:`seconnect.inventory`); ``seconnect run realtime`` delivers it.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from ..store.paging import Page, fetch_page
from . import App, emit, json_option, pass_app, table
from .listing import limit_of, listing_options, report_cut
from .types import DELTA, QUANTITY

__all__ = ["command"]

# Negative numbers ("-2") are values here, not options.
_NUMBERS = {"ignore_unknown_options": True}


@click.group("inventory")
def command() -> None:
    """Quantities on hand in the store file."""


def _listing(app: App, skus: tuple[str, ...], limit: int | None) -> Page:
    from ..store import tables

    p, c, carts = tables.products, tables.product_cart_codes, tables.carts
    with app.store.begin() as conn:
        query = select(p.c.id, p.c.sku, p.c.name, p.c.qoh, p.c.parent_id).order_by(p.c.sku)
        if skus:
            query = query.where(p.c.sku.in_(skus))
        page = fetch_page(conn, query, limit)
        products = {r.id: {"sku": r.sku, "name": r.name, "qoh": r.qoh, "sub_sku": r.parent_id is not None,
                           "carts": []} for r in page}
        codes = select(c.c.product_id, carts.c.name, c.c.code, c.c.cart_qoh, c.c.last_sent_qoh).join(
            carts, carts.c.id == c.c.cart_id).order_by(carts.c.name_key, c.c.code)
        if skus or len(page) < page.total:
            codes = codes.where(c.c.product_id.in_(list(products)))
        for r in conn.execute(codes):
            if r.product_id in products:
                products[r.product_id]["carts"].append({"cart": r.name, "code": r.code, "cart_qoh": r.cart_qoh,
                                                        "last_sent_qoh": r.last_sent_qoh})
    missing = [s for s in skus if s not in {v["sku"] for v in products.values()}]
    if missing:
        from ..inventory import find_product

        with app.store.begin() as conn:
            find_product(conn, missing[0])  # raises the error that explains where products come from
    return Page(products.values(), page.total)


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No products in the store file yet: import them with `seconnect run import-products --cart NAME`."
    carts = sorted({e["cart"] for r in rows for e in r["carts"]}, key=str.casefold)
    body = []
    for r in rows:
        cells = [r["sku"], "untracked" if r["qoh"] is None else str(r["qoh"])]
        for cart in carts:
            entries = [e for e in r["carts"] if e["cart"] == cart]
            cells.append(", ".join(f"{_n(e['cart_qoh'])}/{_n(e['last_sent_qoh'])}" for e in entries) or "")
        body.append(cells)
    legend = "\nper cart: quantity last seen at the cart / last sent to it" if carts else ""
    return table(body, ["SKU", "QOH", *carts]) + legend


@command.command("list")
@click.option("--sku", "skus", multiple=True, metavar="SKU", help="Only this SKU (repeatable).")
@listing_options()
@json_option
@pass_app
def list_cmd(app: App, skus, limit, everything, as_json) -> None:
    """Quantities on hand, with what each cart last reported and was last sent."""
    rows = _listing(app, skus, limit_of(limit, everything))
    emit(rows, as_json, _text)
    report_cut(rows, "products", as_json)


def _report(applied, as_json: bool) -> None:
    data = {"sku": applied.sku, "before": applied.before, "after": applied.after, "delta": applied.delta,
            "queued_for": list(applied.queued), "unchanged": applied.skipped is not None}

    def text(d: dict[str, Any]) -> str:
        if d["unchanged"]:
            return f"{d['sku']}: {_n(d['after'])} (unchanged)"
        line = f"{d['sku']}: {_n(d['before'])} → {d['after']} ({d['delta']:+d})"
        if d["queued_for"]:
            return line + "; queued for " + ", ".join(d["queued_for"]) + " (delivered by `seconnect run realtime`)"
        return line + "; no cart synchronizes this SKU in real time (see SynchQOH in `seconnect params`)"

    emit(data, as_json, text)


@command.command("set", context_settings=_NUMBERS)
@click.argument("sku")
@click.argument("qty", type=QUANTITY)
@click.option("--reason", help="Why (kept in the change history).")
@json_option
@pass_app
def set_cmd(app: App, sku, qty, reason, as_json) -> None:
    """Set SKU's quantity on hand to QTY, 0..1,000,000,000 (starts tracking an untracked SKU)."""
    from ..inventory import set_quantity

    with app.store.begin() as conn:
        applied = set_quantity(conn, app.plugins, sku, qty, reason=reason)
    _report(applied, as_json)


@command.command("adjust", context_settings=_NUMBERS)
@click.argument("sku")
@click.argument("delta", type=DELTA)
@click.option("--reason", help="Why (kept in the change history), e.g. 'received PO 1182'.")
@json_option
@pass_app
def adjust_cmd(app: App, sku, delta, reason, as_json) -> None:
    """Add DELTA (e.g. 10 or -2) to SKU's quantity on hand.

    The result may go below 0 (an oversold item; carts are sent 0), within ±1,000,000,000.
    """
    from ..inventory import adjust_quantity

    with app.store.begin() as conn:
        applied = adjust_quantity(conn, app.plugins, sku, delta, reason=reason)
    _report(applied, as_json)


@command.command("history")
@click.argument("sku")
@listing_options(all_help="Every recorded change (no --limit).")
@json_option
@pass_app
def history_cmd(app: App, sku, limit, everything, as_json) -> None:
    """SKU's recorded quantity changes, newest first: when, how much, why and from where."""
    from ..inventory import find_product
    from ..store import tables

    ic, carts = tables.inventory_changes, tables.carts
    with app.store.begin() as conn:
        product = find_product(conn, sku)
        page = fetch_page(conn, select(ic.c.at, ic.c.delta, ic.c.qoh_after, ic.c.reason, ic.c.source,
                                       carts.c.name.label("cart"))
                          .outerjoin(carts, carts.c.id == ic.c.cart_id).where(ic.c.product_id == product.id)
                          .order_by(ic.c.id.desc()), limit_of(limit, everything))
    rows = Page((dict(r._mapping) for r in page), page.total)

    def text(items: list[dict[str, Any]]) -> str:
        if not items:
            return f"No recorded changes for {sku}."
        return table([[f"{r['at']:%Y-%m-%d %H:%M:%S}", f"{r['delta']:+d}", _n(r["qoh_after"]), r["reason"] or "",
                       r["source"] or ""] for r in items], ["AT (UTC)", "DELTA", "QOH", "REASON", "SOURCE"])

    emit(rows, as_json, text)
    report_cut(rows, "changes", as_json)
