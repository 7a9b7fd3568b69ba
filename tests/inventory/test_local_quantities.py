"""Local quantity changes: recorded, and queued in the same transaction for the right carts only.

No cart is contacted here (carts point at a closed port); both store backends.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from seconnect import Capabilities, CartType, InventoryLevel
from seconnect import Capability as C
from seconnect.errors import NotFoundError, UsageError
from seconnect.inventory import (
    KIND,
    PER_VARIATION,
    adjust_quantity,
    apply_changes,
    levels_at,
    record_sales,
    sendable_codes,
    set_quantity,
)
from seconnect.plugins import load_plugins
from seconnect.seti.plugin import SetiPlugin
from seconnect.store import tables, utcnow

from .helpers import Cli, add_cart, add_product, changes, outbox_rows, qoh

# A cart type that syncs only plain products in real time (no attribute, no sub-SKU level).
PRODUCT_ONLY = CartType(
    id="ProductOnly", label="SETI script, product-level stock only",
    capabilities=Capabilities.declare(supported=[C.INVENTORY_GET, C.INVENTORY_SEND, C.INVENTORY_REALTIME],
                                      realtime_levels=[InventoryLevel.PRODUCT]))


@pytest.fixture
def plugins():
    return load_plugins(extra=[("product-only", SetiPlugin(PRODUCT_ONLY))])


@pytest.fixture
def shop(store, plugins):
    """Three synced carts (A, B, product-only P) and one unsynced (U); a plain product, a parent
    with a sub-SKU, and a variation addressed as [VARID:n]."""
    a = add_cart(store, plugins, None, "A", cart_type="Interspire")
    b = add_cart(store, plugins, None, "B")
    p = add_cart(store, plugins, None, "P", cart_type="ProductOnly")
    u = add_cart(store, plugins, None, "U", synced=False)
    everywhere = {c.id: ("LNT-100", "1") for c in (a, b, p, u)}
    add_product(store, "LNT-100", 10, codes=everywhere)
    add_product(store, "DCK-101", None, codes={a.id: ("DCK-101", "2"), b.id: ("DCK-101", "2"), p.id: ("DCK-101", "2")})
    add_product(store, "DCK-101-S-RED", 5, parent="DCK-101",
                codes={a.id: ("Deck Lantern [VARID:1]", "2-1"), b.id: ("DCK-101-S-RED", "2-1"),
                       p.id: ("DCK-101-S-RED", "2-1")})
    add_product(store, "BELL-RED", 7, codes={a.id: ("Brass Ship's Bell [VARID:10]", "8-10"),
                                             p.id: ("Brass Ship's Bell [VARID:10]", "8-10")})
    add_product(store, "LOCAL-ONLY", 3)
    return {"A": a, "B": b, "P": p, "U": u}


def _queued(store, sku):
    with store.begin() as conn:
        names = dict(conn.execute(sa.select(tables.carts.c.id, tables.carts.c.name)).all())
    return sorted(names[r.cart_id] for r in outbox_rows(store, key=sku))


def test_set_records_the_change_and_queues_it_for_every_synced_cart(store, plugins, shop):
    with store.begin() as conn:
        applied = set_quantity(conn, plugins, "LNT-100", 12, reason="stock count")
    assert (applied.before, applied.after, applied.delta) == (10, 12, 2)
    assert sorted(applied.queued) == ["A", "B", "P"]  # U has SynchQOH FALSE
    assert qoh(store, "LNT-100") == 12
    [change] = changes(store, "LNT-100")
    assert (change.delta, change.qoh_after, change.reason, change.cart_id) == (2, 12, "stock count", None)
    assert change.source.startswith("cli")
    rows = outbox_rows(store, key="LNT-100")
    assert {r.kind for r in rows} == {KIND} and {r.state for r in rows} == {"pending"}
    assert {r.payload["change_id"] for r in rows} == {change.id}
    assert {(r.payload["delta"], r.payload["qoh"]) for r in rows} == {(2, 12)}


def test_adjust_adds_and_unchanged_set_records_nothing(store, plugins, shop):
    with store.begin() as conn:
        adjust_quantity(conn, plugins, "LNT-100", -3)
        adjust_quantity(conn, plugins, "LNT-100", 10)
        same = set_quantity(conn, plugins, "LNT-100", 17)
    assert qoh(store, "LNT-100") == 17
    assert [c.delta for c in changes(store, "LNT-100")] == [-3, 10]
    assert same.skipped == "unchanged" and same.queued == ()
    assert len(outbox_rows(store, key="LNT-100")) == 6


def test_levels_are_enforced_per_cart_type(store, plugins, shop):
    with store.begin() as conn:
        set_quantity(conn, plugins, "DCK-101-S-RED", 9)  # a sub-SKU
        set_quantity(conn, plugins, "BELL-RED", 1)  # a product addressed as a cart variation
    assert _queued(store, "DCK-101-S-RED") == ["A", "B"]  # P has no sub-sku level
    assert _queued(store, "BELL-RED") == ["A"]  # P has no attribute level; B has no code for it
    # each cart's plugin says the level of its codes; a local sub-SKU's codes are sub-SKU codes
    A, P, L = InventoryLevel.ATTRIBUTE, InventoryLevel.PRODUCT, InventoryLevel.SUB_SKU
    isc_codes = [("Brass Ship's Bell [VARID:10]", "8"), ("SKU-8-RED", "8-10"), ("LNT-100", "1")]
    assert plugins.inventory_levels(shop["A"], isc_codes) == [A, A, P]
    assert plugins.inventory_levels(shop["B"], isc_codes) == [P, A, P]  # [VARID:n] is Interspire's
    assert levels_at(plugins, shop["B"], [("DCK-101-S-RED", "2-1")]) == {("DCK-101-S-RED", "2-1"): A}
    assert sendable_codes(4, [("DCK-101-S-RED", A)], {L}) == (["DCK-101-S-RED"], None)


def test_a_parent_standing_for_several_variations_sends_only_its_own_code():
    every = frozenset(InventoryLevel)
    A, P = InventoryLevel.ATTRIBUTE, InventoryLevel.PRODUCT
    codes = [("DCK-101", P), ("DCK-101-S-RED", A), ("DCK-101-S-BLU", A)]
    assert sendable_codes(None, codes, every) == (["DCK-101"], None)
    # the cart reports only the parent's figure: it keeps the stock at product level
    assert sendable_codes(None, codes, every, reported=["DCK-101"]) == (["DCK-101"], None)
    # it reports the variations' figures: the total overwrites none of them, nor the product row
    assert sendable_codes(None, codes, every, reported=["DCK-101-S-RED", "DCK-101-S-BLU"]) == ([], PER_VARIATION)
    # with one variation the total is that variation's own figure
    assert sendable_codes(None, codes[:2], every, reported=["DCK-101-S-RED"]) == (["DCK-101-S-RED"], None)
    usable, why = sendable_codes(None, codes[1:], every)
    assert usable == [] and "share" in why and "sub-SKUs" in why
    assert sendable_codes(None, codes[1:2], every) == (["DCK-101-S-RED"], None)
    assert sendable_codes(None, [], every)[1].startswith("the product has no code")
    usable, why = sendable_codes(3, [("X-RED", A)], {InventoryLevel.PRODUCT})
    assert usable == [] and "sub-sku level" in why


def test_untracked_products_are_left_alone_by_deltas_and_tracked_by_set(store, plugins, shop):
    with store.begin() as conn:
        with pytest.raises(UsageError, match="not tracked"):
            adjust_quantity(conn, plugins, "DCK-101", 1)
        applied = set_quantity(conn, plugins, "DCK-101", 4)
    assert (applied.before, applied.after, applied.delta) == (None, 4, 4)


def test_unknown_sku_says_how_products_get_in(store, plugins, shop, db_url):
    with store.begin() as conn, pytest.raises(NotFoundError) as err:
        set_quantity(conn, plugins, "NOPE", 1)
    assert "import-products" in err.value.hint
    result = Cli(db_url)("inventory", "adjust", "NOPE", "-2")
    assert result.exit_code == 2
    assert "no product with SKU 'NOPE'" in result.output and "import-products" in result.output


def test_a_failed_transaction_leaves_neither_change_nor_outbox_row(store, plugins, shop):
    with pytest.raises(RuntimeError), store.begin() as conn:
        set_quantity(conn, plugins, "LNT-100", 1)
        raise RuntimeError("crash after the change")
    assert qoh(store, "LNT-100") == 10 and changes(store, "LNT-100") == [] and outbox_rows(store) == []


def test_sales_decrement_sub_skus_and_skip_the_cart_they_came_from(store, plugins, shop):
    a = shop["A"]
    with store.begin() as conn:
        pid = conn.execute(sa.select(tables.products.c.id).where(tables.products.c.sku == "DCK-101-S-RED")).scalar()
        record_sales(conn, plugins, a, [
            {"product_id": pid, "local_sku": "DCK-101-S-RED", "quantity": 2, "order_number": "1041"},
            {"product_id": None, "local_sku": "LNT-100", "quantity": "1.5", "order_number": "1041"},
            {"product_id": pid, "local_sku": "DCK-101-S-RED", "quantity": 1, "order_number": "1042"},
            {"product_id": None, "local_sku": "DCK-101", "quantity": 1, "order_number": "1042"},  # untracked
            {"product_id": None, "local_sku": "GONE", "quantity": 1, "order_number": "1042"},  # unmapped
        ])
    assert qoh(store, "DCK-101-S-RED") == 2 and qoh(store, "LNT-100") == 8 and qoh(store, "DCK-101") is None
    sales = changes(store, "DCK-101-S-RED")
    assert [(c.delta, c.source, c.reason, c.cart_id) for c in sales] == [
        (-2, "order 1041 from A", "sale", a.id), (-1, "order 1042 from A", "sale", a.id)]
    assert _queued(store, "DCK-101-S-RED") == ["B", "B"]  # not A (it sold them), not P (no sub-sku level)
    assert _queued(store, "LNT-100") == ["B", "P"]


def test_a_sale_is_sent_back_to_its_cart_when_an_absolute_send_may_have_overwritten_it(store, plugins, shop):
    a = shop["A"]
    with store.begin() as conn:
        set_quantity(conn, plugins, "LNT-100", 20)
        # pretend the worker delivered that absolute 20 to A
        conn.execute(sa.update(tables.outbox).values(state="sent", sent_at=utcnow()))
        record_sales(conn, plugins, a, [{"product_id": None, "local_sku": "LNT-100", "quantity": 1,
                                         "order_number": "7"}])
    pending = [r for r in outbox_rows(store, key="LNT-100", state="pending")]
    assert sorted(r.cart_id for r in pending) == sorted([a.id, shop["B"].id, shop["P"].id])


def test_changes_of_one_product_in_one_batch_apply_in_order(store, plugins, shop):
    from seconnect.inventory import QuantityChange

    with store.begin() as conn:
        pid = conn.execute(sa.select(tables.products.c.id).where(tables.products.c.sku == "LOCAL-ONLY")).scalar()
        applied = apply_changes(conn, plugins, [QuantityChange(pid, delta=2), QuantityChange(pid, qoh=1),
                                                QuantityChange(pid, delta=-4)], source="test")
    assert [(a.before, a.after) for a in applied] == [(3, 5), (5, 1), (1, -3)]
    assert qoh(store, "LOCAL-ONLY") == -3 and outbox_rows(store) == []  # no cart has a code for it


def test_cli_set_adjust_list_and_history(store, plugins, shop, db_url):
    cli = Cli(db_url)
    result = cli("inventory", "set", "LNT-100", "15", "--reason", "count")
    assert result.exit_code == 0, result.output
    # the CLI loads installed plugins only: cart P's type is unknown there, so P is not queued
    assert "LNT-100: 10 → 15 (+5); queued for A, B (delivered by" in result.output
    assert cli("inventory", "adjust", "LNT-100", "-2").exit_code == 0
    result = cli("inventory", "list", "--json", "--sku", "LNT-100")
    [item] = json.loads(result.output)
    assert item["sku"] == "LNT-100" and item["qoh"] == 13
    assert sorted(e["cart"] for e in item["carts"]) == ["A", "B", "P", "U"]
    text = cli("inventory", "list").output
    assert "LNT-100" in text and "untracked" in text and "last sent" in text
    history = json.loads(cli("inventory", "history", "LNT-100", "--json").output)
    assert [(h["delta"], h["reason"]) for h in history] == [(-2, "adjusted by hand"), (5, "count")]
