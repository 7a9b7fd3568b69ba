"""`seconnect demo` — everything end to end against the built-in sandbox carts.

Starts a sandbox web store of each profile in-process (real HTTPS on 127.0.0.1 with its own CA),
defines a cart for each on a temporary store file (or the one given with ``--db``), runs Test
Script URL and every job, adds orders at the store and imports again to show the incremental
import. Nothing leaves this machine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from click.core import ParameterSource
from sqlalchemy import select

from ..errors import SeconnectError
from ..plugins import Plugins

_PROFILES = {
    "interspire": ("Demo BigCommerce", "Interspire", "options"),
    "generic": ("Demo SETI shop", "Generic", "sub-skus"),
}


def _say(text: str) -> None:
    click.echo(text)


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


@click.command("demo")
@click.option("--profile", type=click.Choice(["interspire", "generic", "both"]), default="both", show_default=True,
              help="Which sandbox cart(s) to run against.")
@click.option("--orders", default=200, show_default=True, help="Orders in each sandbox store.")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the store file and key in this folder.")
@click.pass_context
def command(ctx: click.Context, profile: str, orders: int, keep: str | None) -> None:
    """Run every job against built-in sandbox carts, on a temporary store file."""
    from ..sandbox import Sandbox
    from ..store import open_store

    app = ctx.obj
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="seconnect-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    # The demo never touches the merchant's real store or key unless --db says so.
    os.environ.setdefault("SECONNECT_KEY_FILE", str(folder / "secret.key"))
    db_url = app.db_url if app.db_source is not ParameterSource.DEFAULT else f"sqlite:///{folder / 'demo.db'}"
    store = open_store(db_url)
    _say(f"Store file: {store.url}")
    profiles = ["interspire", "generic"] if profile == "both" else [profile]
    try:
        for name in profiles:
            with Sandbox(name, orders=orders, products=25, customers=40, seed=7 + profiles.index(name)) as sb:
                _run_profile(store, app.plugins, sb, name)
    finally:
        store.close()
    _say(f"\nDone. The demo store file is in {folder}; look around with "
         f"`seconnect --db sqlite:///{folder / 'demo.db'} orders list`"
         + (f" (with SECONNECT_KEY_FILE={folder / 'secret.key'})" if not keep else "") + ".")


def _run_profile(store, plugins: Plugins, sb, profile: str) -> None:
    from .. import carts
    from ..jobs.import_customers import import_customers
    from ..jobs.import_orders import import_orders
    from ..jobs.import_products import import_products
    from .run import _describe_orders

    cart_name, cart_type, attributes = _PROFILES[profile]
    _step(f"Sandbox {profile}: {sb.url}")
    with store.begin() as conn:
        if not any(r.name == cart_name for r in carts.list_carts(conn)):
            carts.add_cart(conn, plugins, name=cart_name, cart_type=cart_type, user=sb.user, password=sb.password,
                           script_url=sb.script_url, ca_bundle=sb.ca_file)
        else:
            carts.edit_cart(conn, plugins, cart_name, password=sb.password, script_url=sb.script_url,
                            ca_bundle=sb.ca_file)
        cart = carts.get_cart(conn, cart_name)
    _say(f"Cart {cart.name!r}: type {cart.type}, Script URL {cart.script_url}")
    version = plugins.call("test_script", cart, None, check_credentials=True)
    _say(f"Test passed: Script version: {version}")

    try:
        _step("import-products")
        s = import_products(store, plugins, cart, attributes=attributes)
        _say(f"{s['received']} product records ({s['attributes']}): {s['created']} created, "
             f"{s['sub_skus']} sub-SKUs")
        _step("import-customers")
        s = import_customers(store, plugins, cart)
        _say(f"{s['received']} customer records: {s['created']} created, matched {s['matched']}")
        _step("import-orders")
        _say(_describe_orders(import_orders(store, plugins, cart)))
        added = sb.add_orders(5)
        _say(f"The store took {len(added)} new orders ({', '.join(added)}); importing again:")
        _say(_describe_orders(import_orders(store, plugins, cart)))
        _say("Again, with nothing new: " + _describe_orders(import_orders(store, plugins, cart)))
    except SeconnectError as exc:
        _say(f"Error: {exc}")
        raise
    _inventory(store, plugins, sb, cart)
    _status(store, plugins, sb, cart)


def _inventory(store, plugins: Plugins, sb, cart) -> None:
    from .. import carts, params
    from ..inventory import QuantityChange, apply_changes
    from ..jobs.inventory import inventory_get
    from ..jobs.realtime import run_realtime
    from ..store import tables

    _step("inventory-get")
    s = inventory_get(store, plugins, cart)
    _say(f"{s['received']} quantities from the cart: {s['matched']} matched to the store file "
         f"({s['changed']} changed), {s['unknown_count']} codes the store file does not track separately, "
         f"{s['queued']} changes queued for other synced carts")
    _step("real-time inventory")
    with store.begin() as conn:
        params.set_value(conn, "SynchQOH", "TRUE", cart.id)
        cart = carts.get_cart(conn, cart.name)
        row = conn.execute(select(tables.products.c.id, tables.products.c.sku, tables.product_cart_codes.c.code)
                           .join(tables.product_cart_codes, tables.product_cart_codes.c.product_id == tables.products.c.id)
                           .where(tables.product_cart_codes.c.cart_id == cart.id, tables.products.c.qoh >= 3)
                           .order_by(tables.products.c.id)).first()
        if row is None:
            _say("No tracked product to change.")
            return
        before = sb.qoh(row.code)
        apply_changes(conn, plugins, [QuantityChange(product_id=row.id, delta=-3)], source="demo",
                      reason="3 sold in the shop downstairs")
    run_realtime(store, plugins, follow=False)
    _say(f"{row.sku}: 3 sold locally; the cart's quantity went from {before} to {sb.qoh(row.code)}.")


def _status(store, plugins: Plugins, sb, cart) -> None:
    from .. import params
    from ..jobs.realtime import run_realtime
    from ..operations import Package
    from ..status import set_status

    _step("order status update")
    number = sb.downloadable_order_numbers()[0]
    with store.begin() as conn:
        params.set_value(conn, "UseStatusUpdates", "TRUE", None)
        change = set_status(conn, plugins, cart.name, number, "Shipped",
                            packages=(Package("1Z999AA10123456784", "UPS"), Package("1Z999AA10123456785", "UPS")))
    if change.push != "queued":
        _say(f"Order {number} is Shipped in the store file; nothing is sent: {change.reason}")
        return
    run_realtime(store, plugins, follow=False)
    received = [u for u in sb.status_updates() if str(u["order"]) == number]
    _say(f"Order {number} → Shipped with 2 tracking numbers; the cart received: "
         + (", ".join(u["status"] for u in received) or "nothing yet"))
