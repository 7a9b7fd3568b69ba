"""Manual Get and Send end to end: real HTTPS to both sandbox profiles, read back from the
sandbox's own state. Products come in through the real product import (sub-SKU mode), so
Interspire variations are addressed as ``<name> [VARID:n]``."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from seconnect.inventory import set_quantity
from seconnect.jobs.inventory import inventory_get, inventory_send
from seconnect.store import tables

from .helpers import Cli, add_product, cart_with_products, changes, code_of, outbox_rows, qoh

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# In both sandboxes (seed 3): a plain product, a sub-SKU and a product the generic cart does not track.
PLAIN = "LNT-100"
SUB_SKU = {"interspire": "DCK-101-Small-Red", "generic": "DCK-101-S-RED"}
UNTRACKED_AT_GENERIC = "MIL-105"


def _runs(store):
    with store.begin() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(tables.runs)).scalar()


def _set(store, plugins, **quantities):
    with store.begin() as conn:
        for sku, value in quantities.items():
            set_quantity(conn, plugins, sku, value)


def test_get_dry_run_reports_the_diff_and_changes_nothing_then_get_copies_quantities(store, plugins, sandbox):
    cart = cart_with_products(store, plugins, sandbox, "Shop")
    sub = SUB_SKU[sandbox.profile.name]
    sub_code = code_of(store, cart, sub)
    _set(store, plugins, **{PLAIN: 500, sub: 400})
    with store.begin() as conn:  # a cart record the store file does not know
        conn.execute(sa.delete(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "CHT-108"))
    before = (_runs(store), len(changes(store, PLAIN)), len(outbox_rows(store)))

    dry = inventory_get(store, plugins, cart, dry_run=True)
    assert {(d["sku"], d["local"], d["cart"]) for d in dry["diff"]} == {
        (PLAIN, 500, sandbox.qoh("LNT-100")), (sub, 400, sandbox.qoh(sub_code))}
    assert [u["code"] for u in dry["unknown"]] == ["CHT-108"]
    assert qoh(store, PLAIN) == 500 and (_runs(store), len(changes(store, PLAIN)), len(outbox_rows(store))) == before

    summary = inventory_get(store, plugins, cart)
    assert summary["changed"] == 2 and summary["unknown_count"] == 1
    assert qoh(store, PLAIN) == sandbox.qoh("LNT-100") and qoh(store, sub) == sandbox.qoh(sub_code)
    assert changes(store, PLAIN)[-1].source == "inventory-get from Shop"
    with store.begin() as conn:  # unknown codes are listed, never invented
        assert conn.execute(sa.select(tables.products.c.id).where(tables.products.c.sku == "CHT-108")).first() \
            is not None  # the product itself still exists (only its code at this cart was removed)
        cart_qoh = conn.execute(sa.select(tables.product_cart_codes.c.cart_qoh).where(
            tables.product_cart_codes.c.code == sub_code)).scalar()
    assert cart_qoh == sandbox.qoh(sub_code)
    # nothing echoes back to the cart the quantities came from
    assert len(outbox_rows(store)) == before[2]


def test_get_reaches_the_other_synced_cart(store, plugins, isc, gen):
    shop = cart_with_products(store, plugins, isc, "ISC")
    other = cart_with_products(store, plugins, gen, "GEN")
    _set(store, plugins, **{PLAIN: 77})
    queued_before = len(outbox_rows(store))
    inventory_get(store, plugins, shop)
    new = outbox_rows(store)[queued_before:]
    assert [(r.cart_id, r.key) for r in new] == [(other.id, PLAIN)]
    assert new[0].payload["qoh"] == isc.qoh(PLAIN)


def test_send_sets_absolute_quantities_and_reports_per_sku(store, plugins, sandbox):
    cart = cart_with_products(store, plugins, sandbox, "Shop")
    profile = sandbox.profile.name
    sub = SUB_SKU[profile]
    sub_code = code_of(store, cart, sub)
    bare = sandbox.qoh("Crème Brûlée Torch") if profile == "interspire" else None
    add_product(store, "NOT-AT-CART", 3, codes={cart.id: ("NOT-AT-CART", None)})
    _set(store, plugins, **{PLAIN: 31, sub: 17, UNTRACKED_AT_GENERIC: 4, "MUG-106": -2})

    summary = inventory_send(store, plugins, cart, skus=[PLAIN, sub, UNTRACKED_AT_GENERIC, "MUG-106", "NOT-AT-CART"])
    assert sandbox.qoh("LNT-100") == 31 and sandbox.qoh(sub_code) == 17
    assert sandbox.qoh("MUG-106") == 0  # oversold locally: the cart gets 0, never a negative quantity
    problems = {p["sku"]: p["outcome"] for p in summary["problems"]}
    assert problems["NOT-AT-CART"] == "not-found"
    if profile == "interspire":  # replies are meaningless there: read back and verified
        assert summary["counts"] == {"verified": 4, "not-found": 1}
        assert sandbox.qoh("Crème Brûlée Torch") == bare  # no trailing '|': codeless products untouched
        assert ("qohreplace", 200) in sandbox.requests() and sandbox.requests()[-1][0] == "downloadqoh"
    else:
        assert summary["counts"] == {"ok": 3, "not-found": 1, "not-tracked": 1}
        assert problems[UNTRACKED_AT_GENERIC] == "not-tracked"
    with store.begin() as conn:
        sent = dict(conn.execute(sa.select(tables.product_cart_codes.c.code, tables.product_cart_codes.c.last_sent_qoh)
                                 .where(tables.product_cart_codes.c.cart_id == cart.id)).all())
    assert sent["LNT-100"] == 31 and sent[sub_code] == 17 and sent["NOT-AT-CART"] is None


@SQLITE
def test_send_everything_in_few_requests_and_dry_run_sends_nothing(store, plugins, sandbox):
    cart = cart_with_products(store, plugins, sandbox, "Shop")
    dry = inventory_send(store, plugins, cart, dry_run=True)
    assert dry["items"] > 20 and dry["plan"] and not any(f == "qohreplace" for f, _ in sandbox.requests())
    summary = inventory_send(store, plugins, cart)
    assert [f for f, _ in sandbox.requests()].count("qohreplace") == 1
    assert summary["counts"].get("ok", 0) + summary["counts"].get("verified", 0) == summary["items"] - \
        summary["counts"].get("not-tracked", 0)


@SQLITE
def test_send_of_a_mismatch_is_reported(store, plugins, isc):
    cart = cart_with_products(store, plugins, isc, "Shop")
    # Interspire variations share their parent's code: sending it sets the parent's own stock,
    # which the cart never reports back, so the send cannot be verified.
    add_product(store, "SHARED", 5, codes={})
    with store.begin() as conn:
        conn.execute(sa.update(tables.product_cart_codes).where(tables.product_cart_codes.c.code == "DCK-101")
                     .values(product_id=sa.select(tables.products.c.id).where(tables.products.c.sku == "SHARED")
                             .scalar_subquery(), web_id=None))
    summary = inventory_send(store, plugins, cart, skus=["SHARED"])
    [problem] = summary["problems"]
    assert problem["outcome"] == "mismatched" and "after being sent 5" in problem["note"]


@SQLITE
def test_cli_get_and_send(store, plugins, gen, db_url):
    cart_with_products(store, plugins, gen, "Shop")
    _set(store, plugins, **{PLAIN: 3})
    cli = Cli(db_url)
    result = cli("run", "inventory-get", "--cart", "Shop", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing changed" in result.output and f"{PLAIN}" in result.output
    assert qoh(store, PLAIN) == 3
    result = cli("run", "inventory-send", "--cart", "Shop", "--sku", PLAIN, "--json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.output)
    assert summary["counts"] == {"ok": 1} and gen.qoh(PLAIN) == 3
    result = cli("run", "inventory-send", "--cart", "Shop", "--sku", "NOPE")
    assert result.exit_code == 2 and "no product with SKU 'NOPE'" in result.output
    result = cli("run", "inventory-get", "--cart", "Shop")
    assert result.exit_code == 0 and "0 changed" in result.output
