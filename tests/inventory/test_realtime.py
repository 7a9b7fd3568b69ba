"""Real-time inventory end to end: local changes → outbox → `run realtime` → the sandbox carts.

Quantities are read back from the sandboxes' own state. SQLite unless a test says otherwise;
several workers on PostgreSQL are in test_workers_postgres.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from seconnect import Capabilities, CartType, InventoryLevel
from seconnect import Capability as C
from seconnect.inventory import adjust_quantity, set_quantity
from seconnect.jobs.base import cart_lock
from seconnect.jobs.realtime import _EVERY_CART, run_realtime
from seconnect.outbox import Policy
from seconnect.plugins import load_plugins
from seconnect.seti.plugin import SetiPlugin
from seconnect.store import tables, utcnow

from .helpers import Cli, add_product, cart_with_products, code_of, outbox_rows, qoh

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

QUICK = Policy(max_attempts=3, backoff_base=0.0, lease=30)
PLAIN = "LNT-100"


@pytest.fixture(autouse=True)
def checks_at_once(monkeypatch):
    """Read-back checks are due at once, so that one `--once` run also verifies."""
    monkeypatch.setattr("seconnect.jobs.inventory.VERIFY_DELAY_S", 0.0)


def _deliver(store, plugins, policy=QUICK, **kw):
    return run_realtime(store, plugins, policy=policy, **kw)


def _requests(sb, function="qohreplace"):
    return [f for f, _ in sb.requests()].count(function)


def _adjust(store, plugins, sku, *deltas):
    for delta in deltas:
        with store.begin() as conn:
            adjust_quantity(conn, plugins, sku, delta)


def _set(store, plugins, sku, value):
    with store.begin() as conn:
        set_quantity(conn, plugins, sku, value)


@pytest.fixture
def two(store, plugins, isc, gen):
    """An Interspire and a generic cart, both synced, products imported as sub-SKUs."""
    return cart_with_products(store, plugins, isc, "ISC"), cart_with_products(store, plugins, gen, "GEN")


def test_plain_product_variation_and_sub_skus_reach_both_carts(store, plugins, isc, gen, two):
    shop_isc, shop_gen = two
    # a product of its own that Interspire addresses as a variation ([VARID:n], attribute level)
    add_product(store, "BELL-BLUE", 6)
    with store.begin() as conn:
        p, c = tables.products, tables.product_cart_codes
        conn.execute(sa.update(c).where(c.c.cart_id == shop_isc.id, c.c.code == "Brass Ship's Bell [VARID:11]")
                     .values(product_id=sa.select(p.c.id).where(p.c.sku == "BELL-BLUE").scalar_subquery()))
    _set(store, plugins, PLAIN, 42)
    _adjust(store, plugins, "DCK-101-Small-Red", -3)  # Interspire's sub-SKU: [VARID:1]
    _adjust(store, plugins, "DCK-101-S-RED", 5)  # the generic cart's sub-SKU
    _set(store, plugins, "BELL-BLUE", 2)

    summary = _deliver(store, plugins)
    assert summary["parked"] == summary["retried"] == 0
    assert len(outbox_rows(store, kind="inventory")) == 5
    # Interspire's answers are never trusted: each send there is checked by a read-back
    assert sorted(r.key for r in outbox_rows(store, kind="inventory-check")) == [
        "BELL-BLUE", "DCK-101-Small-Red", PLAIN]
    assert isc.qoh(PLAIN) == gen.qoh(PLAIN) == 42
    assert isc.qoh("Deck Lantern [VARID:1]") == qoh(store, "DCK-101-Small-Red") == 11
    assert gen.qoh("DCK-101-S-RED") == qoh(store, "DCK-101-S-RED") == 19
    assert isc.qoh("Brass Ship's Bell [VARID:11]") == 2
    assert {(r.kind, r.key, r.state, r.last_error) for r in outbox_rows(store) if r.state != "sent"} == set()
    assert _requests(isc, "downloadqoh") == 1 and _requests(gen, "downloadqoh") == 0  # one read-back per batch
    assert not any(f == "invupdate" for f, _ in isc.requests() + gen.requests())  # absolute sends only


def test_once_also_does_the_read_back_checks_its_sends_scheduled(store, plugins, isc, two, monkeypatch, db_url):
    monkeypatch.setattr("seconnect.jobs.inventory.VERIFY_DELAY_S", 0.5)
    _set(store, plugins, PLAIN, 3)
    result = Cli(db_url)("run", "realtime", "--once")
    assert result.exit_code == 0 and "Outbox now: 0 pending" in result.output, result.output
    [check] = outbox_rows(store, kind="inventory-check")
    assert check.state == "sent" and isc.qoh(PLAIN) == 3


def test_ten_changes_of_one_sku_cost_one_request_per_cart(store, plugins, isc, gen, two):
    _adjust(store, plugins, PLAIN, *([1] * 6 + [-1] * 4))
    assert len(outbox_rows(store, key=PLAIN)) == 20
    _deliver(store, plugins)
    assert {r.state for r in outbox_rows(store, key=PLAIN, kind="inventory")} == {"sent"}
    assert _requests(isc) == 1 and _requests(gen) == 1
    assert isc.qoh(PLAIN) == gen.qoh(PLAIN) == qoh(store, PLAIN) == 11


def test_a_cart_that_keeps_showing_another_quantity_gets_resent_then_parked(store, plugins, isc):
    cart_with_products(store, plugins, isc, "ISC")
    # Interspire variations share their parent's code: a send to it sets the parent's own stock,
    # which the cart never lists, so the read-back keeps showing a variation's quantity.
    add_product(store, "SHARED", 5)
    with store.begin() as conn:
        conn.execute(sa.update(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "DCK-101")
                     .values(product_id=sa.select(tables.products.c.id).where(tables.products.c.sku == "SHARED")
                             .scalar_subquery(), web_id=None))
    _set(store, plugins, "SHARED", 6)
    _deliver(store, plugins)
    assert _requests(isc) == 3 and _requests(isc, "downloadqoh") == 3  # first send + two resends
    [check] = outbox_rows(store, state="parked")
    assert check.kind == "inventory-check" and "after being sent 6 (3 times)" in check.last_error
    assert {r.state for r in outbox_rows(store, kind="inventory")} == {"sent"}


def test_levels_are_enforced_at_the_cart(store, gen, tmp_path):
    product_only = CartType(
        id="ProductOnly", label="generic script, product-level stock only",
        capabilities=Capabilities.declare(supported=[C.IMPORT_PRODUCTS, C.INVENTORY_SEND, C.INVENTORY_REALTIME],
                                          realtime_levels=[InventoryLevel.PRODUCT]))
    plugins = load_plugins(extra=[("product-only", SetiPlugin(product_only))])
    cart_with_products(store, plugins, gen, "Plain", cart_type="ProductOnly")
    before = gen.qoh("DCK-101-S-RED")
    _adjust(store, plugins, "DCK-101-S-RED", 5)
    _adjust(store, plugins, PLAIN, 5)
    assert [r.key for r in outbox_rows(store)] == [PLAIN]
    _deliver(store, plugins)
    assert gen.qoh(PLAIN) == 14 and gen.qoh("DCK-101-S-RED") == before


def test_repeated_failures_park_rows_and_outbox_retry_requeues_them(store, plugins, isc, gen, two, db_url):
    gen.set_faults("500@qohreplace")
    _set(store, plugins, PLAIN, 50)
    summary = _deliver(store, plugins)
    assert isc.qoh(PLAIN) == 50  # the healthy cart is not held up
    assert summary["parked"] == 1 and gen.qoh(PLAIN) == 9
    [row] = outbox_rows(store, cart_id=two[1].id)
    assert row.state == "parked" and row.attempts == 3
    assert row.last_error.startswith("gave up after 3 attempts") and "500" in row.last_error

    cli = Cli(db_url)
    listing = json.loads(cli("outbox", "list", "--json").output)
    assert listing["counts"]["parked"] == 1 and [r["id"] for r in listing["rows"]] == [row.id]
    assert "outbox retry" in cli("outbox", "list").output
    result = cli("outbox", "retry", str(row.id + 999))
    assert result.exit_code == 2 and "does not exist" in result.output
    result = cli("outbox", "retry", "--all")
    assert result.exit_code == 0 and "1 parked row re-queued" in result.output
    gen.set_faults(None)
    result = cli("run", "realtime", "--once")
    assert result.exit_code == 0 and "1 sent" in result.output
    assert gen.qoh(PLAIN) == 50 and outbox_rows(store, cart_id=two[1].id)[0].state == "sent"


def test_failures_back_off_before_the_next_try(store, plugins, gen):
    cart_with_products(store, plugins, gen, "GEN")
    gen.set_faults("503@qohreplace")
    _set(store, plugins, PLAIN, 5)
    summary = _deliver(store, plugins, Policy(backoff_base=60.0))
    [row] = outbox_rows(store)
    assert summary["retried"] == 1 and row.state == "pending" and row.attempts == 1
    assert row.next_attempt_at > utcnow() + timedelta(seconds=40)
    gen.set_faults(None)
    assert _deliver(store, plugins)["claimed"] == 0  # not due yet: --once leaves it for later


def test_what_retrying_cannot_fix_is_parked_at_once_and_a_later_send_settles_it(store, plugins, gen):
    cart = cart_with_products(store, plugins, gen, "GEN")
    add_product(store, "GONE-1", 4, codes={cart.id: ("GONE-1", None)})
    _set(store, plugins, "GONE-1", 5)
    _deliver(store, plugins)
    [row] = outbox_rows(store)
    assert row.state == "parked" and row.attempts == 1 and "GONE-1" in row.last_error
    # the merchant fixes the code; the next change's absolute send also settles the parked row
    with store.begin() as conn:
        conn.execute(sa.update(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "GONE-1")
                     .values(code="LNT-100-X"))
        conn.execute(sa.delete(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "LNT-100"))
        conn.execute(sa.update(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "LNT-100-X")
                     .values(code="LNT-100"))
    _set(store, plugins, "GONE-1", 6)
    _deliver(store, plugins)
    assert gen.qoh("LNT-100") == 6 and {r.state for r in outbox_rows(store)} == {"sent"}


def test_rejected_credentials_park_everything_for_that_cart(store, plugins, gen):
    cart_with_products(store, plugins, gen, "GEN")
    gen.set_faults("badauth")
    _set(store, plugins, PLAIN, 1)
    summary = _deliver(store, plugins)
    [row] = outbox_rows(store)
    assert summary["parked"] == 1 and row.attempts == 1 and "password" in row.last_error.lower()


def test_rows_of_a_dead_worker_are_requeued_and_delivered(store, plugins, gen):
    cart_with_products(store, plugins, gen, "GEN")
    _set(store, plugins, PLAIN, 23)
    with store.begin() as conn:  # a worker claimed it, then died (no heartbeat since)
        conn.execute(sa.update(tables.outbox).values(state="sending", claimed_by="host:1:dead",
                                                     claimed_at=utcnow() - timedelta(minutes=5)))
    summary = _deliver(store, plugins, Policy(lease=60))
    [row] = outbox_rows(store)
    assert summary["requeued"] == 1 and row.state == "sent" and row.attempts == 1
    assert row.last_error.startswith("interrupted: worker host:1:dead")
    assert gen.qoh(PLAIN) == 23


def test_a_cart_type_without_send_gets_summed_deltas(store, gen):
    deltas_only = CartType(
        id="DeltaOnly", label="generic script without qohreplace",
        capabilities=Capabilities.declare(supported=[C.IMPORT_PRODUCTS, C.INVENTORY_REALTIME],
                                          realtime_levels=list(InventoryLevel)))
    plugins = load_plugins(extra=[("delta-only", SetiPlugin(deltas_only))])
    cart_with_products(store, plugins, gen, "Deltas", cart_type="DeltaOnly")
    _adjust(store, plugins, PLAIN, 2, 3, -1)
    _deliver(store, plugins)
    assert gen.qoh(PLAIN) == 13 and _requests(gen, "invupdate") == 1 and _requests(gen) == 0
    # a delta whose worker died may have landed: parked for the merchant, never sent twice
    _adjust(store, plugins, PLAIN, 1)
    with store.begin() as conn:
        conn.execute(sa.update(tables.outbox).where(tables.outbox.c.state == "pending").values(
            state="sending", claimed_by="host:1:dead", claimed_at=utcnow() - timedelta(minutes=5)))
    _deliver(store, plugins)
    parked = outbox_rows(store, state="parked")
    assert len(parked) == 1 and "may or may not" in parked[0].last_error and gen.qoh(PLAIN) == 13


def test_sync_turned_off_after_queueing_parks_the_rows(store, plugins, gen):
    from seconnect.params import set_value

    cart = cart_with_products(store, plugins, gen, "GEN")
    _set(store, plugins, PLAIN, 2)
    with store.begin() as conn:
        set_value(conn, "SynchQOH", "FALSE", cart.id)
    _deliver(store, plugins)
    [row] = outbox_rows(store)
    assert row.state == "parked" and "SynchQOH is FALSE" in row.last_error and gen.qoh(PLAIN) == 9


def test_a_second_worker_on_sqlite_says_one_is_running(store, plugins, gen, db_url):
    cart_with_products(store, plugins, gen, "GEN")
    with cart_lock(store, "realtime", _EVERY_CART, timeout=1):
        result = Cli(db_url)("run", "realtime", "--once")
    assert result.exit_code == 3
    assert "another `seconnect run realtime` worker is delivering" in result.output and "PostgreSQL" in result.output
    assert "--poll only applies" in Cli(db_url)("run", "realtime", "--poll", "1").output


def test_sub_sku_sale_from_one_cart_reaches_the_other(store, plugins, isc, gen, two):
    from seconnect.inventory import record_sales

    shop_isc, _ = two
    with store.begin() as conn:
        record_sales(conn, plugins, shop_isc, [{"product_id": None, "local_sku": PLAIN, "quantity": 2,
                                                "order_number": "5"}])
    _deliver(store, plugins)
    assert gen.qoh(PLAIN) == 7 and _requests(isc) == 0  # Interspire sold them itself
    assert code_of(store, shop_isc, PLAIN) == PLAIN


def test_imported_orders_take_stock_off_and_reach_the_other_cart(store, plugins, gen, tmp_path):
    from seconnect.jobs.import_orders import import_orders
    from seconnect.sandbox import Sandbox

    p, c, ic = tables.products, tables.product_cart_codes, tables.inventory_changes
    with Sandbox("interspire", products=12, orders=25, customers=10, seed=3, state_dir=tmp_path / "shop") as shop:
        origin = cart_with_products(store, plugins, shop, "ISC")
        other = cart_with_products(store, plugins, gen, "GEN")
        import_orders(store, plugins, origin)  # the cart's history: already in the stock read from it
        with store.begin() as conn:
            assert not conn.execute(sa.select(ic.c.id).where(ic.c.delta != 0)).first()
            before = dict(conn.execute(sa.select(p.c.id, p.c.qoh)).all())
            seen = {r.id for r in conn.execute(sa.select(ic.c.id))}
        added = shop.add_orders(6)  # orders placed since: each takes its quantity off once
        import_orders(store, plugins, origin)
        o = tables.orders
        with store.begin() as conn:
            lines = conn.execute(sa.select(tables.order_lines.c.product_id, tables.order_lines.c.quantity)
                                 .join(o).where(tables.order_lines.c.product_id.is_not(None),
                                                o.c.number.in_(added))).all()
            after = dict(conn.execute(sa.select(p.c.id, p.c.qoh)).all())
            sources = {r.source for r in conn.execute(sa.select(ic.c.id, ic.c.source)) if r.id not in seen}
        sold: dict[int, int] = {}
        for line in lines:
            if before[line.product_id] is not None:  # untracked products are left alone
                sold[line.product_id] = sold.get(line.product_id, 0) + int(line.quantity)
        assert sold and all(after[pid] == before[pid] - n for pid, n in sold.items())
        assert all(s.startswith("order ") and s.endswith(" from ISC") for s in sources)
        assert {r.cart_id for r in outbox_rows(store)} == {other.id}  # Interspire sold them itself

        import_orders(store, plugins, origin)  # nothing new: nothing taken off twice
        with store.begin() as conn:
            assert dict(conn.execute(sa.select(p.c.id, p.c.qoh)).all()) == after

        _deliver(store, plugins)
        with store.begin() as conn:
            codes = conn.execute(sa.select(c.c.code, p.c.qoh).join(p, p.c.id == c.c.product_id).where(
                c.c.cart_id == other.id, p.c.id.in_(list(sold)))).all()
        assert codes and all(gen.qoh(code) == max(q, 0) for code, q in codes)
