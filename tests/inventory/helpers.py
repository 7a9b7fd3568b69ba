"""Helpers for the inventory tests: carts on sandboxes with their products imported, direct
catalogue set-up for tests that need no cart, and the CLI in-process or as a subprocess."""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import carts
from seconnect.cartdef import CartDefinition
from seconnect.cli import build_cli
from seconnect.jobs.import_products import import_products
from seconnect.params import set_value
from seconnect.plugins import Plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store, tables

#: The real CLI in a subprocess.
MAIN = [sys.executable, "-m", "seconnect"]


class Cli:
    """Runs the CLI in-process against one store."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(build_cli(), ["--db", self.db_url, *args], input=input, catch_exceptions=False)


def add_cart(store: Store, plugins: Plugins, sb: Sandbox | None, name: str, *, cart_type: str | None = None,
             synced: bool = True) -> CartDefinition:
    """A cart on a running sandbox (or on a dummy URL when ``sb`` is None), SynchQOH as asked."""
    with store.begin() as conn:
        if sb is None:
            carts.add_cart(conn, plugins, name=name, cart_type=cart_type or "Generic", user="u", password="p",
                           script_url="127.0.0.1:9/seti/stoneedge.php")
        else:
            carts.add_cart(conn, plugins, name=name, user=sb.user, password=sb.password, script_url=sb.script_url,
                           ca_bundle=sb.ca_file,
                           cart_type=cart_type or ("Interspire" if sb.profile.name == "interspire" else "Generic"))
        cart_id = carts.get_cart(conn, name).id
        set_value(conn, "SynchQOH", "TRUE" if synced else "FALSE", cart_id)
        return carts.get_cart(conn, name)


def cart_with_products(store: Store, plugins: Plugins, sb: Sandbox, name: str, *, mode: str = "sub-skus",
                       **kw: Any) -> CartDefinition:
    cart = add_cart(store, plugins, sb, name, **kw)
    summary = import_products(store, plugins, cart, attributes=mode)
    assert summary["quarantined"] == 0, summary
    return cart


def qoh(store: Store, sku: str) -> int | None:
    with store.begin() as conn:
        return conn.execute(sa.select(tables.products.c.qoh).where(tables.products.c.sku == sku)).scalar_one()


def code_of(store: Store, cart: CartDefinition, sku: str) -> str:
    """The product's one code at the cart."""
    p, c = tables.products, tables.product_cart_codes
    with store.begin() as conn:
        return conn.execute(sa.select(c.c.code).join(p, p.c.id == c.c.product_id).where(
            p.c.sku == sku, c.c.cart_id == cart.id)).scalar_one()


def outbox_rows(store: Store, **where: Any) -> list[Any]:
    o = tables.outbox
    query = sa.select(o).order_by(o.c.id)
    for name, value in where.items():
        query = query.where(o.c[name] == value)
    with store.begin() as conn:
        return list(conn.execute(query))


def changes(store: Store, sku: str) -> list[Any]:
    ic, p = tables.inventory_changes, tables.products
    with store.begin() as conn:
        return list(conn.execute(sa.select(ic).join(p, p.c.id == ic.c.product_id).where(p.c.sku == sku)
                                 .order_by(ic.c.id)))


def add_product(store: Store, sku: str, qoh: int | None, *, parent: str | None = None,
                codes: dict[int, tuple[str, str | None]] | None = None) -> int:
    """A product inserted directly, with codes per cart id: ``{cart_id: (code, web_id)}``."""
    p = tables.products
    with store.begin() as conn:
        parent_id = conn.execute(sa.select(p.c.id).where(p.c.sku == parent)).scalar_one() if parent else None
        pid = conn.execute(sa.insert(p).values(sku=sku, name=sku, qoh=qoh, parent_id=parent_id)
                           .returning(p.c.id)).scalar_one()
        for cart_id, (code, web_id) in (codes or {}).items():
            conn.execute(sa.insert(tables.product_cart_codes).values(cart_id=cart_id, product_id=pid, code=code,
                                                                     web_id=web_id))
    return pid
