"""Helpers for the product tests: carts on sandboxes, table dumps, and what a sandbox should yield."""

from __future__ import annotations

import sqlalchemy as sa

from seconnect import carts
from seconnect.cartdef import CartDefinition
from seconnect.plugins import Plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store, tables

CART_TYPES = {"interspire": "Interspire", "generic": "Generic"}


def add_cart(store: Store, plugins: Plugins, sb: Sandbox, name: str = "Shop") -> CartDefinition:
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name=name, cart_type=CART_TYPES[sb.profile_name], user=sb.user,
                       password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
        return carts.get_cart(conn, name)


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, in key order: two dumps are equal when nothing was written."""
    out = {}
    with store.connect() as conn:
        for table in tables.metadata.sorted_tables:
            keys = list(table.primary_key.columns) or list(table.c)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(table).order_by(*keys))]
    return out


def count(store: Store, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def expected(sb: Sandbox, mode: str) -> dict[str, int]:
    """Local products and code rows one cart's import must leave, worked out from the sandbox's
    own catalogue (``Sandbox.products()``) rather than from seconnect's code.

    sub-skus: every product (Interspire's unexported parents included) and every variation is a
    local product with one code row. options: only the products are local products, with the
    same code rows — each variation's row (a shared code's row is the combination's own
    ``[VARID:n]`` address) maps to its parent.
    """
    products = sb.products()
    variations = sum(len(p["variations"]) for p in products)
    codes = len(products) + variations
    if mode == "sub-skus":
        return {"products": codes, "codes": codes, "sub_skus": variations}
    return {"products": len(products), "codes": codes, "sub_skus": 0}


def web_ids(store: Store, cart: CartDefinition) -> dict[str, int]:
    """The cart's web id -> local product id."""
    c = tables.product_cart_codes
    with store.connect() as conn:
        return dict(conn.execute(sa.select(c.c.web_id, c.c.product_id).where(c.c.cart_id == cart.id)).all())
