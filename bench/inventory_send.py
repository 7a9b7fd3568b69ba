"""Manual inventory Send of a large catalogue: requests made and wall time, against one request per SKU.

Starts a sandbox cart (generic profile by default) with enough products for about ``--skus``
sendable SKUs (variations become sub-SKUs), puts its catalogue into a fresh SQLite store (bulk
inserts, as the product import would leave it; ``--via-import`` uses the real product import,
which takes minutes at this size), gives every product a new local quantity, then times
``inventory_send`` for the whole catalogue and counts the ``qohreplace`` requests the sandbox
served. Two one-request-per-SKU baselines are measured on a sample and scaled to the
catalogue: through the same hook (one call per SKU, as a per-SKU design would make them) and
over one kept-alive connection (the fastest a per-SKU sender could be). Finally every quantity
is read back from the sandbox's own state.

Run: ``.venv/bin/python bench/inventory_send.py [--skus 50000] [--profile generic|interspire]
[--sample 500] [--via-import] [--db URL]``. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from seconnect import carts
from seconnect.capabilities import Capability
from seconnect.jobs.import_products import import_products
from seconnect.jobs.inventory import inventory_send
from seconnect.operations import InventoryAction
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.seti.client import SetiClient
from seconnect.store import open_store, tables

# Sandbox catalogues have ~1.33 variations per product; parents of variations hold no stock of
# their own, and a few products are not tracked: about 1.89 sendable SKUs per product.
SKUS_PER_PRODUCT = 1.89


def _catalogue(store, cart):
    p, c = tables.products, tables.product_cart_codes
    with store.begin() as conn:
        return conn.execute(sa.select(p.c.sku, p.c.qoh, c.c.code, c.c.web_id).join(c, c.c.product_id == p.c.id).where(
            c.c.cart_id == cart.id, p.c.qoh.is_not(None))).all()


def cart_stock(sb: Sandbox) -> dict[str, int]:
    """Every stock figure the sandbox holds, by WebID, read in one go from its own state."""
    stock = {}
    for x in sb.products():
        stock[x["web_id"]] = x["qoh"]
        stock.update({v["web_id"]: v["qoh"] for v in x["variations"]})
    return stock


def _seed_direct(store, cart, sb: Sandbox) -> None:
    """The cart's catalogue as the product import leaves it in sub-SKU mode: plain products,
    parents without stock of their own, one sub-SKU per variation (Interspire: ``[VARID:n]``);
    what the cart does not track is not tracked locally either."""
    p, c = tables.products, tables.product_cart_codes
    interspire = sb.profile_name == "interspire"
    items = sb.products()
    with store.begin() as conn:
        ids = dict(conn.execute(sa.insert(p).returning(p.c.sku, p.c.id, sort_by_parameter_order=True), [
            {"sku": f"P{x['id']}", "name": x["name"],
             "qoh": x["qoh"] if x["tracked"] and not x["variations"] else None}
            for x in items]).all())
        subs = [(x, v) for x in items for v in x["variations"]]
        sub_ids = dict(conn.execute(sa.insert(p).returning(p.c.sku, p.c.id, sort_by_parameter_order=True), [
            {"sku": f"P{x['id']}-V{v['id']}", "name": x["name"], "qoh": v["qoh"] if v["tracked"] else None, "parent_id": ids[f"P{x['id']}"]}
            for x, v in subs]).all())
        rows = [{"cart_id": cart.id, "product_id": ids[f"P{x['id']}"], "code": x["code"], "web_id": x["web_id"]}
                for x in items]
        rows += [{"cart_id": cart.id, "product_id": sub_ids[f"P{x['id']}-V{v['id']}"], "web_id": v["web_id"],
                  "code": f"{x['name']} [VARID:{v['id']}]" if interspire else v["code"]} for x, v in subs]
        conn.execute(sa.insert(c), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--profile", choices=["generic", "interspire"], default="generic")
    parser.add_argument("--sample", type=int, default=500, help="SKUs sent one per request for the baseline")
    parser.add_argument("--via-import", action="store_true", help="fill the store with the real product import")
    parser.add_argument("--db", help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="seconnect-bench-"))
    os.environ.setdefault("SECONNECT_KEY_FILE", str(work / "secret.key"))
    store = open_store(args.db or f"sqlite:///{work / 'store.db'}")
    plugins = load_plugins()
    products = max(10, int(args.skus / SKUS_PER_PRODUCT))
    started = time.perf_counter()
    with Sandbox(args.profile, products=products, orders=0, customers=0, seed=7, state_dir=work / "cart") as sb:
        print(f"sandbox: {args.profile}, {sb.summary()['products']} products + {sb.summary()['variations']} "
              f"variations, generated in {time.perf_counter() - started:.1f} s")
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name="Bench", cart_type="Interspire" if args.profile == "interspire"
                           else "Generic", user=sb.user, password=sb.password, script_url=sb.script_url,
                           ca_bundle=sb.ca_file)
            cart = carts.get_cart(conn, "Bench")
        started = time.perf_counter()
        if args.via_import:
            imported = import_products(store, plugins, cart, attributes="sub-skus")
            print(f"product import: {imported['received']} records in {time.perf_counter() - started:.1f} s")
        else:
            _seed_direct(store, cart, sb)
            print(f"catalogue stored directly in {time.perf_counter() - started:.1f} s")

        rng = random.Random(1)
        with store.begin() as conn:  # new local quantities, so that every send changes the cart
            conn.execute(sa.update(tables.products).where(tables.products.c.id == sa.bindparam("pid"))
                         .values(qoh=sa.bindparam("q")),
                         [{"pid": pid, "q": rng.randint(0, 500)} for pid in conn.execute(
                             sa.select(tables.products.c.id).where(tables.products.c.qoh.is_not(None))).scalars()])
        before = len(sb.requests())
        started = time.perf_counter()
        summary = inventory_send(store, plugins, cart)
        elapsed = time.perf_counter() - started
        requests = sb.requests()[before:]
        sends = sum(1 for f, _ in requests if f == "qohreplace")
        reads = sum(1 for f, _ in requests if f == "downloadqoh")
        items = summary["items"]
        print(f"batched send: {items} SKUs in {sends} qohreplace requests (+{reads} downloadqoh to verify) "
              f"in {elapsed:.2f} s = {items / elapsed:,.0f} SKUs/s; outcomes {summary['counts']}")

        sample = _catalogue(store, cart)[: args.sample]
        started = time.perf_counter()
        for _sku, qoh, code, _web_id in sample:
            plugins.call("sync_inventory", cart, Capability.INVENTORY_SEND, action=InventoryAction.SEND,
                         items=[(code, max(qoh, 0))])
        per_call = (time.perf_counter() - started) / len(sample)
        started = time.perf_counter()
        with SetiClient.for_cart(cart) as client:
            for _sku, qoh, code, _web_id in sample:
                client.qoh_replace([(code, max(qoh, 0))])
        per_request = (time.perf_counter() - started) / len(sample)
        print(f"one request per SKU, {items} requests (measured on {len(sample)} SKUs, no read-back counted):")
        print(f"  one hook call each (new connection): {per_call * 1000:.1f} ms/SKU → about "
              f"{per_call * items:.0f} s ({per_call * items / elapsed:.0f}x the batched send)")
        print(f"  one kept-alive connection:           {per_request * 1000:.1f} ms/SKU → about "
              f"{per_request * items:.0f} s ({per_request * items / elapsed:.0f}x the batched send)")
        print(f"batched: {items / max(sends + reads, 1):.0f}x fewer requests")

        held = cart_stock(sb)
        wrong = sum(1 for _sku, qoh, _code, web_id in _catalogue(store, cart) if held[web_id] != max(qoh, 0))
        print(f"read back from the sandbox: {wrong} quantities differ from the store file")
    store.close()


if __name__ == "__main__":
    main()
