"""`carts remove`: free for a cart without data, refused for one with data, `--purge` deletes a test cart
and everything it imported — and nothing of another cart's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cli_helpers import add

from seconnect.sandbox import Sandbox
from seconnect.store import open_store, tables

_BY_CART = ("orders", "customer_web_ids", "product_cart_codes", "outbox", "quarantine", "checkpoints", "params")


@pytest.fixture
def two_shops(tmp_path):
    with Sandbox("generic", orders=6, products=3, customers=4, seed=1, state_dir=tmp_path / "test") as test, \
            Sandbox("generic", orders=5, products=3, customers=4, seed=2, state_dir=tmp_path / "live") as live:
        yield test, live


def _import_everything(seconnect, name: str, sb: Sandbox) -> None:
    result = add(seconnect, name, "--ca-bundle", sb.ca_file, password=sb.password, type_="Generic",
                 url=sb.script_url)
    assert result.exit_code == 0, result.output
    for job in (["import-products", "--attributes", "sub-skus"], ["import-customers"], ["import-orders"]):
        result = seconnect("run", *job, "--cart", name)
        assert result.exit_code == 0, result.output
    assert seconnect("params", "set", "SynchQOH", "TRUE", "--cart", name).exit_code == 0


def _cart_id(conn, name: str) -> int:
    return conn.execute(sa.select(tables.carts.c.id).where(tables.carts.c.name == name)).scalar_one()


def _snapshot(conn, cart_id: int) -> dict[str, list]:
    """Every row that belongs to the cart, and the customers and order lines it refers to."""
    snap = {t: sorted(map(repr, conn.execute(sa.select(tables.metadata.tables[t])
                                             .where(tables.metadata.tables[t].c.cart_id == cart_id))))
            for t in _BY_CART}
    orders = sa.select(tables.orders.c.id).where(tables.orders.c.cart_id == cart_id)
    snap["order_lines"] = sorted(map(repr, conn.execute(sa.select(tables.order_lines)
                                                        .where(tables.order_lines.c.order_id.in_(orders)))))
    linked = sa.select(tables.customer_web_ids.c.customer_id).where(tables.customer_web_ids.c.cart_id == cart_id)
    ordered = sa.select(tables.orders.c.customer_id).where(tables.orders.c.cart_id == cart_id)
    c = tables.customers
    snap["customers"] = sorted(map(repr, conn.execute(sa.select(c).where(
        sa.or_(c.c.id.in_(linked), c.c.id.in_(ordered))))))
    return snap


def test_purge_deletes_a_test_cart_and_all_it_imported_and_nothing_else(seconnect, db_url, two_shops):
    test, live = two_shops
    _import_everything(seconnect, "Test", test)
    _import_everything(seconnect, "Live", live)
    with open_store(db_url) as store, store.begin() as conn:
        test_id, live_id = _cart_id(conn, "Test"), _cart_id(conn, "Live")
        now = datetime.now(UTC)
        conn.execute(sa.insert(tables.outbox).values(cart_id=test_id, kind="inventory", key="X", payload={"qoh": 1},
                                                     state="parked", next_attempt_at=now, created_at=now))
        conn.execute(sa.insert(tables.quarantine).values(cart_id=test_id, kind="order", reason="bad", payload="{}",
                                                         created_at=now))
        test_data = _snapshot(conn, test_id)
        live_before = _snapshot(conn, live_id)
        products_before = conn.execute(sa.select(sa.func.count()).select_from(tables.products)).scalar_one()
        created_by_test = conn.execute(sa.select(sa.func.count()).select_from(tables.customers)
                                       .where(tables.customers.c.source_cart_id == test_id)).scalar_one()
    assert all(test_data[t] for t in _BY_CART) and created_by_test, test_data

    refused = seconnect("carts", "remove", "Test", "--yes")
    assert refused.exit_code == 2, refused.output
    assert "cart 'Test' holds imported data (6 orders" in refused.output
    assert "carts edit Test --inactive" in refused.output and "carts remove Test --purge" in refused.output

    declined = seconnect("carts", "remove", "Test", "--purge", input="n\n")
    assert declined.exit_code == 1
    assert "Remove cart 'Test' and everything it imported (6 orders" in declined.output
    with open_store(db_url) as store, store.begin() as conn:
        assert _snapshot(conn, test_id) == test_data

    purged = seconnect("carts", "remove", "Test", "--purge", "--yes")
    assert purged.exit_code == 0, purged.output
    assert "Cart 'Test' removed with 6 orders" in purged.output
    with open_store(db_url) as store, store.begin() as conn:
        gone = _snapshot(conn, test_id)
        assert all(not gone[t] for t in (*_BY_CART, "order_lines")), gone
        assert not conn.execute(sa.select(tables.customers.c.id)
                                .where(tables.customers.c.source_cart_id == test_id)).first()
        assert _snapshot(conn, live_id) == live_before
        # products are the store's catalogue: they stay
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.products)).scalar_one() == products_before
    assert [c["name"] for c in json.loads(seconnect("carts", "list", "--json").output)] == ["Live"]
    assert seconnect("orders", "list", "--cart", "Live").exit_code == 0


def test_a_cart_without_data_is_removed_with_its_parameters(seconnect, db_url):
    assert add(seconnect, "Empty").exit_code == 0
    assert seconnect("params", "set", "SynchQOH", "TRUE", "--cart", "Empty").exit_code == 0
    result = seconnect("carts", "remove", "Empty", "--yes")
    assert result.exit_code == 0 and "Cart 'Empty' removed." in result.output
    with open_store(db_url) as store, store.begin() as conn:
        assert not conn.execute(sa.select(tables.params).where(tables.params.c.cart_id.is_not(None))).first()
