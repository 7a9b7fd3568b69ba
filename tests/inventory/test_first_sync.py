"""The first sync counts every sale once (issue 12, item 1).

A quantity read from a cart already includes the sales that cart had recorded, so after a fresh
full sync — in any job order, and after an order import that fails midway and resumes — local
stock equals the cart's (per variation in sub-SKU mode; in options mode a parent holds its
variations' total), ``inventory-send`` changes nothing there (but raises oversold stock to 0),
and each later order takes its quantity off exactly once. Real HTTPS to both sandbox profiles,
both attribute modes; the sandbox takes a placed order's lines off its own stock, as a shop does.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import sqlalchemy as sa

from seconnect.inventory import PER_VARIATION, adjust_quantity, set_quantity
from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_orders import import_orders
from seconnect.jobs.import_products import import_products
from seconnect.jobs.inventory import inventory_get, inventory_send
from seconnect.params import set_value
from seconnect.store import tables

from .helpers import MAIN, add_cart

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
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


def _expected_by_web_id(sb, mode) -> dict[str, int | None]:
    """What the local product of each cart record should hold: the figure the cart tracks for
    it (None: not tracked), per variation in sub-SKU mode; in options mode a parent holds its
    variations' total."""
    expected: dict[str, int | None] = {}
    for product in sb.products():
        variations = product["variations"]
        if not variations:
            expected[product["web_id"]] = product["qoh"] if product["tracked"] else None
        elif mode == "sub-skus":
            expected.update({v["web_id"]: v["qoh"] if v["tracked"] else None for v in variations})
        else:
            tracked = [v["qoh"] for v in variations if v["tracked"]]
            expected.update({v["web_id"]: sum(tracked) if tracked else None for v in variations})
    return expected


def _assert_stock_equal(store, plugins, sb, cart, mode, raised=None) -> None:
    """Local stock equals the cart's, code by code — except ``raised`` (SKU -> units): oversold
    stock a send raised from below 0 to 0 at the cart (carts are never sent a negative quantity)."""
    raised = raised or {}
    p, c = tables.products, tables.product_cart_codes
    with store.begin() as conn:
        local = {r.web_id: (r.sku, r.qoh) for r in conn.execute(sa.select(c.c.web_id, p.c.sku, p.c.qoh).join(
            p, p.c.id == c.c.product_id).where(c.c.cart_id == cart.id))}
    wrong = {}
    for web_id, figure in _expected_by_web_id(sb, mode).items():
        sku, qoh = local[web_id]
        if figure is not None:
            figure -= raised.get(sku, 0)
        if qoh != figure:
            wrong[sku] = (qoh, figure)
    assert wrong == {}, "local, cart"
    dry = inventory_get(store, plugins, cart, dry_run=True)  # the Get's own comparison agrees
    assert dry["unknown_count"] == 0 and dry["matched"] > 5
    assert {d["sku"]: d["cart"] - d["local"] for d in dry["diff"]} == raised


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


def _check_in_step(store, plugins, sb, cart, mode, numbers, raised=None):
    _assert_stock_equal(store, plugins, sb, cart, mode, raised)
    sold = _sold(store, cart, numbers)
    assert all(units == taken for units, taken in sold.values()), sold
    assert not numbers or sum(units for units, _ in sold.values()) > 0  # they did sell tracked stock


def _send_changes_nothing(store, plugins, sb, cart) -> dict[str, int]:
    """A Send right after the sync changes nothing at the cart and the sync queued nothing —
    but oversold stock (below 0 at the cart and locally) is sent as 0. Returns those SKUs with
    the units the send raised them by."""
    before = _cart_stock(sb)
    dry = inventory_send(store, plugins, cart, dry_run=True)
    changes = [item for item in dry["plan"] if item["cart"] != item["qoh"]]
    assert all(item["qoh"] == 0 and item["cart"] < 0 for item in changes), dry["plan"]
    assert dry["changes"] == len(changes)
    inventory_send(store, plugins, cart)
    after = _cart_stock(sb)
    assert sorted(a - before[k] for k, a in after.items() if a != before[k]) == sorted(-i["cart"] for i in changes)
    with store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)).scalar_one() == 0
    return {item["sku"]: -item["cart"] for item in changes}


def _fresh_sync(store, plugins, sb, mode, steps) -> None:
    cart = _shop(store, plugins, sb)
    placed: list[str] = []
    for step in steps:
        _run(step, store, plugins, sb, cart, mode, placed)
    _assert_stock_equal(store, plugins, sb, cart, mode)
    # sales placed during the sync were taken off once — or not at all when a figure read later holds them
    if "place" in steps:
        read_later = {"products", "inventory-get"} & set(steps[steps.index("place"):])
        sold = _sold(store, cart, placed)
        assert all(taken == (0 if read_later else units) for units, taken in sold.values()), sold

    raised = _send_changes_nothing(store, plugins, sb, cart)
    assert not raised or "place" in steps  # only sales placed during the test oversell

    # Later orders take their quantity off exactly once
    new = sb.add_orders(4)
    import_orders(store, plugins, cart)
    _check_in_step(store, plugins, sb, cart, mode, new, raised)


@SQLITE
@pytest.mark.parametrize("steps", list(JOB_ORDERS.values()), ids=list(JOB_ORDERS))
def test_a_fresh_sync_leaves_local_stock_equal_to_the_carts(store, plugins, sandbox, mode, steps):
    _fresh_sync(store, plugins, sandbox, mode, steps)


@POSTGRES
def test_a_fresh_sync_on_postgresql(store, plugins, sandbox, mode):
    _fresh_sync(store, plugins, sandbox, mode, JOB_ORDERS["products-place-orders"])


@SQLITE
def test_options_mode_parents_are_never_sent_their_variations_total(store, plugins, sandbox):
    """A parent standing for several variations the cart tracks separately holds their total
    locally, but neither a Send nor a real-time change overwrites the cart's figures with it."""
    cart = _shop(store, plugins, sandbox)
    import_products(store, plugins, cart, attributes="options")
    before = _cart_stock(sandbox)
    sent = inventory_send(store, plugins, cart)
    parents = [p for p in sandbox.products() if p["variations"]]
    skipped = [p for p in sent["problems"] if p["outcome"] == "skipped"]
    assert len(skipped) == len(parents) == sent["counts"]["skipped"]
    assert {p["note"] for p in skipped} == {PER_VARIATION}
    assert _cart_stock(sandbox) == before
    with store.begin() as conn:  # a local change of such a parent is queued for no cart
        applied = adjust_quantity(conn, plugins, skipped[0]["sku"], -1)
    assert applied.after == applied.before - 1 and applied.queued == ()


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


def _orders_stored(store) -> int:
    with store.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.orders)).scalar_one()


def _count_by_hand(store, plugins, sb, cart, mode) -> None:
    """The merchant's own count, equal to the cart's figures: no cart is its source any more."""
    p, c = tables.products, tables.product_cart_codes
    with store.begin() as conn:
        skus = dict(conn.execute(sa.select(c.c.web_id, p.c.sku).join(p, p.c.id == c.c.product_id).where(
            c.c.cart_id == cart.id)).all())
        for web_id, qoh in _expected_by_web_id(sb, mode).items():
            if qoh is not None:
                set_quantity(conn, plugins, skus[web_id], qoh)
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.stock_sources)).scalar_one() == 0


@SQLITE
@pytest.mark.parametrize("figures", ["read-from-cart", "counted-by-hand"])
def test_a_backfill_killed_midway_resumes_without_counting_history(store, plugins, sandbox, mode, figures):
    """``kill -9`` of a real ``run import-orders`` while it stores the backfill, then a resume.
    Figures read from the cart hold the history by their own mark; figures counted by hand were
    taken after it: the history boundary, noted before the first page, decides after the resume."""
    cart = _shop(store, plugins, sandbox)
    with store.begin() as conn:
        set_value(conn, "DownloadBatchSize", "5", cart.id)
    import_products(store, plugins, cart, attributes=mode)
    if figures == "counted-by-hand":
        _count_by_hand(store, plugins, sandbox, cart, mode)
    sandbox.set_latency(100)  # each page takes a while, so the kill lands between two stored pages
    job = subprocess.Popen([*MAIN, "run", "import-orders", "--cart", "Shop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _orders_stored(store) == 0 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        job.kill()
        job.wait(timeout=30)
    sandbox.set_latency(0)
    assert 0 < _orders_stored(store) < len(sandbox.downloadable_order_numbers()), "killed midway"
    new = sandbox.add_orders(3)  # sold while the import was down: after the backfill's boundary
    import_orders(store, plugins, cart)
    _check_in_step(store, plugins, sandbox, cart, mode, new)
    later = sandbox.add_orders(3)
    import_orders(store, plugins, cart)
    _check_in_step(store, plugins, sandbox, cart, mode, later)


def test_hook_newest_order_names_the_last_order_the_import_would_deliver(store, plugins, sandbox):
    cart = _shop(store, plugins, sandbox)
    assert plugins.pm.hook.newest_order(cart=cart) == sandbox.downloadable_order_numbers()[-1]
    added = sandbox.add_orders(2)
    assert plugins.pm.hook.newest_order(cart=cart) == added[-1]
    assert not any(f in ("qohreplace", "invupdate", "updatestatus") for f, _ in sandbox.requests())


@pytest.mark.parametrize("sandbox_options", [{"products": 3, "orders": 0, "customers": 0}])
def test_hook_newest_order_is_empty_for_a_cart_without_orders(store, plugins, isc):
    assert plugins.pm.hook.newest_order(cart=_shop(store, plugins, isc)) == ""
