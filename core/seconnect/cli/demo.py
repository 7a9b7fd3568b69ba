"""`seconnect demo` — everything end to end against the built-in sandbox carts.

Starts a sandbox web store of each profile in-process (real HTTPS on 127.0.0.1 with its own CA):
two SETI carts and a BigCommerce REST API store; defines a cart for each, runs its connection
test and every job, adds orders at the store and imports again to show the incremental import.
Nothing leaves this machine.

The demo works on its own temporary store file and key, whatever ``SECONNECT_DB`` and
``SECONNECT_KEY_FILE`` say: a merchant who set them for real work must not find demo carts (with
passwords under a throw-away key) among the real ones. Only ``--db`` typed on the command line
points it at another store, after a confirmation (``--yes`` in scripts); it then uses that store's
key and leaves its carts inactive, so `run … --all` skips them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource
from sqlalchemy import select

from ..errors import SeconnectError, UsageError
from ..plugins import Plugins
from ..secrets import ENV_KEY_FILE
from ..store.database import ENV_DB, masked_url

_PROFILES = {
    "interspire": ("Demo BigCommerce", "Interspire", "options"),
    "generic": ("Demo SETI shop", "Generic", "sub-skus"),
    "bigcommerce": ("Demo BigCommerce REST", "BigCommerce", "sub-skus"),
}


def _connection(sb) -> tuple[dict, dict]:
    """The cart's (settings, secrets) for a sandbox of either protocol."""
    if sb.profile_name == "bigcommerce":
        return {"store_hash": sb.store_hash, "api_base": sb.api_base}, {"access_token": sb.password}
    return {"user": sb.user, "script_url": sb.script_url}, {"password": sb.password}


def _say(text: str) -> None:
    click.echo(text)


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


@click.command("demo")
@click.option("--profile", type=click.Choice([*_PROFILES, "all"]), default="all", show_default=True,
              help="Which sandbox cart(s) to run against: the SETI ones (interspire, generic), the "
                   "BigCommerce REST API store (bigcommerce), or all three.")
@click.option("--orders", default=200, show_default=True, help="Orders in each sandbox store.")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the store file and key in this folder.")
@click.option("--yes", is_flag=True, help="With --db: write into that store without asking.")
@click.pass_context
def command(ctx: click.Context, profile: str, orders: int, keep: str | None, yes: bool) -> None:
    """Run every job against built-in sandbox carts, on a temporary store file.

    SECONNECT_DB is ignored; only an explicit --db writes the demo carts into another store
    (after a confirmation; --yes for scripts).
    """
    from ..sandbox import Sandbox
    from ..store import open_store

    app = ctx.obj
    explicit = app.db_source is ParameterSource.COMMANDLINE
    folder: Path | None = None
    if explicit:
        if keep:
            raise UsageError("--keep and --db exclude each other: --keep keeps the demo's own store file.",
                             hint="Leave out one of them.")
        _confirm_store(app.db_url, yes)
        db_url = app.db_url
    else:
        folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="seconnect-demo-"))
        folder.mkdir(parents=True, exist_ok=True)
        if os.environ.get(ENV_DB, "").strip():
            _say(f"{ENV_DB} is set; the demo leaves that store alone and uses its own (give --db to choose one).")
        db_url = f"sqlite:///{folder / 'demo.db'}"
    profiles = list(_PROFILES) if profile == "all" else [profile]
    with _key_file(folder / "secret.key" if folder else None):
        store = open_store(db_url)
        _say(f"Store file: {store.url}")
        try:
            for name in profiles:
                with Sandbox(name, orders=orders, products=25, customers=40, seed=7 + profiles.index(name)) as sb:
                    _run_profile(store, app.plugins, sb, name, own_store=folder is not None)
        finally:
            store.close()
    if folder is None:
        names = ", ".join(repr(_PROFILES[p][0]) for p in profiles)
        _say(f"\nDone. The demo carts ({names}) are left inactive in {store.url}, so `run … --all` skips them; "
             "remove them and everything they imported with `seconnect carts remove NAME --purge`.")
    else:
        _say(f"\nDone. The demo store file is in {folder}; look around with "
             f"`{ENV_KEY_FILE}={folder / 'secret.key'} seconnect --db {db_url} orders list`.")


def _confirm_store(db_url: str, yes: bool) -> None:
    """Writing demo carts into a store given with --db is deliberate: say so, and ask."""
    shown = masked_url(db_url)
    what = (f"The demo will add its sandbox carts, with their products, customers and orders, to the store "
            f"{shown} (their passwords under this store's key file).")
    if yes:
        _say(what)
        return
    if not sys.stdin.isatty():
        raise UsageError(f"the demo would write its carts and orders into the store {shown}; "
                         "not without a confirmation.",
                         hint="Add --yes to confirm, or leave out --db to use a temporary store.")
    _say(what)
    click.confirm("Go ahead?", abort=True)


@contextmanager
def _key_file(path: Path | None) -> Iterator[None]:
    """Point the key file at ``path`` for the demo (None: leave it as it is)."""
    if path is None:
        yield
        return
    before = os.environ.get(ENV_KEY_FILE)
    os.environ[ENV_KEY_FILE] = str(path)
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENV_KEY_FILE]
        else:
            os.environ[ENV_KEY_FILE] = before


def _run_profile(store, plugins: Plugins, sb, profile: str, *, own_store: bool) -> None:
    from .. import carts

    cart_name, cart_type, attributes = _PROFILES[profile]
    _step(f"Sandbox {profile}: {sb.url}")
    settings, secrets = _connection(sb)
    with store.begin() as conn:
        if not any(r.name == cart_name for r in carts.list_carts(conn)):
            carts.add_cart(conn, plugins, name=cart_name, cart_type=cart_type, ca_bundle=sb.ca_file,
                           settings=settings, secrets=secrets)
        else:  # a new sandbox: a new port (and store hash)
            carts.edit_cart(conn, plugins, cart_name, settings={k: v for k, v in settings.items() if k != "user"},
                            secrets=secrets, ca_bundle=sb.ca_file)
        cart = carts.get_cart(conn, cart_name)
    try:
        _jobs(store, plugins, sb, cart, attributes, own_store)
    finally:
        if not own_store:  # the sandbox is gone after the demo: keep `run … --all` off its cart
            with store.begin() as conn:
                carts.edit_cart(conn, plugins, cart_name, active=False)


def _jobs(store, plugins: Plugins, sb, cart, attributes: str, own_store: bool) -> None:
    from ..jobs.import_customers import import_customers
    from ..jobs.import_orders import import_orders
    from ..jobs.import_products import import_products
    from .run import _describe_orders

    where = f"API base {cart.setting('api_base')}" if sb.profile_name == "bigcommerce" else f"Script URL {cart.script_url}"
    _say(f"Cart {cart.name!r}: type {cart.type}, {where}")
    version = plugins.call("test_script", cart, None, check_credentials=True)
    _say(f"Test passed: Version: {version}")

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
    _status(store, plugins, sb, cart, own_store)
    from .. import params

    with store.begin() as conn:  # its sandbox stops now: the next demo cart queues nothing for it
        params.set_value(conn, "SynchQOH", "FALSE", cart.id)


def _deliver(store, plugins: Plugins, cart) -> None:
    """`run realtime --once` for this cart, saying so when it waits for a read-back check."""
    from sqlalchemy import func

    from ..jobs.inventory import CHECK_KIND, VERIFY_DELAY_S
    from ..jobs.realtime import run_realtime
    from ..store import tables

    o = tables.outbox
    said = False

    def on_cycle(_counts) -> None:
        nonlocal said
        with store.begin() as conn:
            checks = conn.execute(select(func.count()).select_from(o).where(
                o.c.state == "pending", o.c.kind == CHECK_KIND, o.c.cart_id == cart.id)).scalar_one()
        if checks and not said:
            said = True
            _say(f"Sent. This cart's answer to a quantity update cannot be trusted, so seconnect reads the "
                 f"quantity back about {VERIFY_DELAY_S:.0f} s after sending; waiting for that check…")

    run_realtime(store, plugins, follow=False, carts=[cart], on_cycle=on_cycle)


def _inventory(store, plugins: Plugins, sb, cart) -> None:
    from .. import carts, params
    from ..inventory import QuantityChange, apply_changes
    from ..jobs.inventory import inventory_get
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
    _deliver(store, plugins, cart)
    _say(f"{row.sku}: 3 sold locally; the cart's quantity went from {before} to {sb.qoh(row.code)}.")


def _status(store, plugins: Plugins, sb, cart, own_store: bool) -> None:
    from .. import params
    from ..operations import Package
    from ..status import set_status
    from ..store import tables

    _step("order status update")
    o = tables.orders
    with store.begin() as conn:  # an order not Shipped yet where there is one: a change to send
        number = conn.execute(select(o.c.number).where(o.c.cart_id == cart.id, o.c.status != "Shipped")
                              .order_by(o.c.number_sort)).scalars().first() or sb.downloadable_order_numbers()[0]
        if own_store:  # a store-wide setting: left as the merchant set it in a store given with --db
            params.set_value(conn, "UseStatusUpdates", "TRUE", None)
        change = set_status(conn, plugins, cart.name, number, "Shipped",
                            packages=(Package("1Z999AA10123456784", "UPS"), Package("1Z999AA10123456785", "UPS")))
    if change.push != "queued":
        _say(f"Order {number} is Shipped in the store file; nothing is sent: {change.reason}")
        return
    _deliver(store, plugins, cart)
    if sb.profile_name == "bigcommerce":
        [order] = [o for o in sb.orders() if o["number"] == number]
        received = [f"status {order['status']}"] + [f"shipment {s['tracking_number']}" for s in sb.shipments(number)]
    else:
        received = [u["status"] for u in sb.status_updates() if str(u["order"]) == number]
    _say(f"Order {number} → Shipped with 2 tracking numbers; the cart received: "
         + (", ".join(received) or "nothing yet"))
