"""Product import end to end: real sandbox carts over HTTPS, real SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

import seconnect_generic
from seconnect import hookimpl
from seconnect.carts import get_cart
from seconnect.errors import UsageError
from seconnect.jobs.import_products import import_products
from seconnect.params import set_value
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import tables

from .helpers import add_cart, count, dump, expected, web_ids

P, C, Q = tables.products, tables.product_cart_codes, tables.quarantine


def _mode(store, cart):
    with store.connect() as conn:
        return conn.execute(sa.select(tables.carts.c.attribute_mode).where(tables.carts.c.id == cart.id)).scalar()


def _by_sku(store):
    with store.connect() as conn:
        return {r.sku: r for r in conn.execute(sa.select(P))}


@pytest.mark.parametrize("mode", ["options", "sub-skus"])
def test_counts_follow_the_sandbox_catalogue(store, plugins, make_cart, sandbox, mode):
    cart = make_cart(sandbox)
    seen = []
    summary = import_products(store, plugins, cart, attributes=mode, progress=seen.append)
    want = expected(sandbox, mode)
    assert count(store, P) == want["products"]
    assert count(store, C, C.c.cart_id == cart.id) == want["codes"]
    assert count(store, P, P.c.parent_id.is_not(None)) == want["sub_skus"] == summary["sub_skus"]
    received = sum(len(p["variations"]) or 1 for p in sandbox.products()) + (
        sum(1 for p in sandbox.products() if p["variations"]) if sandbox.profile_name == "generic" else 0)
    assert summary["received"] == sum(seen) == received
    assert summary["created"] == want["products"] and summary["updated"] == summary["quarantined"] == 0
    variations = sum(len(p["variations"]) for p in sandbox.products())
    assert summary["mapped"] == (variations if mode == "options" else 0)
    assert _mode(store, cart) == mode
    with store.connect() as conn:
        run = conn.execute(sa.select(tables.runs).where(tables.runs.c.job == "import-products")).one()
    assert run.status == "ok" and run.summary == summary


@pytest.mark.parametrize("batch", [50, 4])
def test_sub_skus_are_parent_plus_option_codes(store, plugins, make_cart, sandbox, batch):
    """Every variation is its own product under its parent, named by the SKU rule — also when
    small batches put a parent and its variations in different transactions."""
    cart = make_cart(sandbox)
    with store.begin() as conn:
        set_value(conn, "DownloadBatchSize", str(batch), cart.id)
        cart = get_cart(conn, cart.name)
    import_products(store, plugins, cart, attributes="sub-skus")
    rows = _by_sku(store)
    ids = web_ids(store, cart)
    by_id = {r.id: r for r in rows.values()}
    for product in sandbox.products():
        for variation in product["variations"]:
            local = by_id[ids[variation["web_id"]]]
            parent = by_id[local.parent_id]
            assert list(local.option_values.values()) == list(variation["options"].values())
            if sandbox.profile_name == "generic":  # names and codes from the parent's OptionLists
                assert local.option_values == variation["options"]
                codes = sandbox.profile.catalog.combos[variation["id"]]["codes"]
            else:  # Interspire sends neither: "Option n", and the values' text
                codes = [v.replace(" ", "") for v in variation["options"].values()]
            assert local.sku == "-".join([parent.sku, *codes])
            assert local.qoh == variation["qoh"]  # new products take the cart's stock
        if product["variations"]:
            parent = by_id[ids[product["web_id"]]]
            assert parent.parent_id is None and parent.qoh is None  # stock is kept per variant
            assert parent.sku == (product["code"] if sandbox.profile_name == "generic" else
                                  product["sku"] or "BRASS-SHIPS-BELL")


def test_interspire_shared_parent_code_in_both_modes(store, plugins, isc):
    """Bug 10: every combination of a parent with a product code has that Code. Sub-SKU mode still
    makes one sub-SKU per combination (by WebID); options mode maps the code, and each
    combination's own address (so a Get finds them), to the one parent."""
    jacket = next(p for p in isc.products() if p["sku"] == "JKT-113")
    combos = jacket["variations"]
    assert {v["code"] for v in combos} == {"JKT-113"} and len(combos) > 2
    stock = sum(v["qoh"] for v in combos)

    subs = add_cart(store, plugins, isc, "Subs")
    import_products(store, plugins, subs, attributes="sub-skus")
    with store.connect() as conn:
        rows = conn.execute(sa.select(C.c.code, C.c.web_id, C.c.cart_qoh, P.c.sku, P.c.parent_id).join(
            P, P.c.id == C.c.product_id).where(C.c.cart_id == subs.id, C.c.web_id.like(f"{jacket['id']}-%"))).all()
        parent = conn.execute(sa.select(C.c.product_id, C.c.cart_qoh).where(
            C.c.cart_id == subs.id, C.c.code == "JKT-113")).one()
    assert len(rows) == len(combos) == len({r.sku for r in rows})
    assert {r.code for r in rows} == {f"Oilskin Jacket [VARID:{v['id']}]" for v in combos}
    assert {r.parent_id for r in rows} == {parent.product_id} and parent.cart_qoh == stock
    assert {r.web_id: r.cart_qoh for r in rows} == {v["web_id"]: v["qoh"] for v in combos}

    opts = add_cart(store, plugins, isc, "Opts")
    import_products(store, plugins, opts, attributes="options")
    with store.connect() as conn:
        mapped = conn.execute(sa.select(C.c.code, C.c.product_id, C.c.cart_qoh).where(
            C.c.cart_id == opts.id, C.c.product_id == parent.product_id)).all()
    # the second cart links to the products the first made (same SKUs): nothing duplicated
    assert sorted(tuple(m) for m in mapped) == sorted(
        [("JKT-113", parent.product_id, stock)] + [(r.code, parent.product_id, r.cart_qoh) for r in rows])
    assert count(store, P) == expected(isc, "sub-skus")["products"]


def test_interspire_without_the_shared_code_bug(store, plugins):
    """With combinations exported under their own SKU, those codes map to their sub-SKUs."""
    with Sandbox("interspire", bugs={"variant_parent_code": False}) as sb:
        cart = add_cart(store, plugins, sb)
        import_products(store, plugins, cart, attributes="sub-skus")
        own = {v["code"]: v for p in sb.products() for v in p["variations"]}
    with store.connect() as conn:
        rows = dict(conn.execute(sa.select(C.c.code, P.c.parent_id).join(P, P.c.id == C.c.product_id).where(
            C.c.cart_id == cart.id, C.c.code.in_(list(own)))).all())
    assert set(rows) == set(own) and all(rows.values())


def test_choice_is_stored_and_a_different_one_needs_rebuild(store, plugins, make_cart, sandbox):
    cart = make_cart(sandbox)
    import_products(store, plugins, cart, attributes="options")
    assert _mode(store, cart) == "options"
    assert import_products(store, plugins, cart)["attributes"] == "options"  # kept without asking
    before = dump(store)

    with pytest.raises(UsageError) as refused:
        import_products(store, plugins, cart, attributes="sub-skus")
    assert "breaks the translation of order lines" in refused.value.hint and "--rebuild" in refused.value.hint
    after = dump(store)
    old_runs = before.pop("runs")
    failed = [r for r in after.pop("runs") if r not in old_runs]
    assert after == before  # nothing changed but the refused run's record
    assert len(failed) == 1 and "cannot switch to sub-skus" in failed[0][list(tables.runs.c.keys()).index("error")]

    with store.begin() as conn:  # something sent to the cart survives a rebuild
        conn.execute(sa.update(C).where(C.c.cart_id == cart.id, C.c.code == "LNT-100").values(last_sent_qoh=7))
    summary = import_products(store, plugins, cart, attributes="sub-skus", rebuild=True)
    want = expected(sandbox, "sub-skus")
    assert _mode(store, cart) == "sub-skus" and summary["sub_skus"] == want["sub_skus"]
    assert count(store, P) == want["products"] and count(store, C) == want["codes"]
    assert count(store, C, C.c.code == "LNT-100", C.c.last_sent_qoh == 7) == 1

    summary = import_products(store, plugins, cart, attributes="options", rebuild=True)
    assert _mode(store, cart) == "options"
    assert count(store, C) == expected(sandbox, "options")["codes"]
    assert summary["orphaned_sub_skus"] == want["sub_skus"]  # kept, stock and all, but unmapped
    assert count(store, P) == want["products"]


def test_default_choice_comes_from_buildsubskus(store, plugins, make_cart, gen):
    cart = make_cart(gen)
    with store.begin() as conn:
        set_value(conn, "BuildSubSKUs", "TRUE", cart.id)
        cart = get_cart(conn, cart.name)
    assert import_products(store, plugins, cart)["attributes"] == "sub-skus"
    assert _mode(store, cart) == "sub-skus"


def test_dry_run_writes_nothing_and_plans_the_real_run(store, plugins, make_cart, sandbox):
    cart = make_cart(sandbox)
    before = dump(store)
    plan = import_products(store, plugins, cart, attributes="sub-skus", dry_run=True)
    assert dump(store) == before
    real = import_products(store, plugins, cart, attributes="sub-skus")
    assert {k: v for k, v in plan.items() if k != "planned"} == real
    planned = plan["planned"]
    assert [p["action"] for p in planned].count("create") == real["created"]
    assert {p["sku"] for p in planned} == set(_by_sku(store))
    sub = next(p for p in planned if p["parent"])
    assert set(sub) == {"sku", "parent", "cart_code", "action"} and sub["sku"].startswith(sub["parent"] + "-")

    before = dump(store)  # a dry run of a rebuild into the other mode changes nothing either
    plan = import_products(store, plugins, cart, attributes="options", rebuild=True, dry_run=True)
    assert dump(store) == before and plan["attributes"] == "options"
    assert {p["action"] for p in plan["planned"]} <= {"update", "link", "map"}


def test_rerun_updates_and_never_overwrites_local_stock(store, plugins, make_cart, sandbox):
    cart = make_cart(sandbox)
    import_products(store, plugins, cart, attributes="sub-skus")
    first = dump(store)
    some = next(iter(_by_sku(store)))
    with store.begin() as conn:
        conn.execute(sa.update(P).where(P.c.sku == some).values(qoh=999, name="Renamed here"))
    summary = import_products(store, plugins, cart)
    assert summary["created"] == 0 and summary["updated"] == expected(sandbox, "sub-skus")["products"]
    again = _by_sku(store)
    assert again[some].qoh == 999  # the local quantity is inventory's business
    assert again[some].name != "Renamed here"  # descriptive fields follow the cart
    assert [r[:2] for r in dump(store)["products"]] == [r[:2] for r in first["products"]]
    assert count(store, C) == len(first["product_cart_codes"])


def test_existing_local_sku_is_linked_not_duplicated(store, plugins, make_cart, gen):
    with store.begin() as conn:
        conn.execute(sa.insert(P).values(sku="LNT-100", name="Made by hand", qoh=3))
    cart = make_cart(gen)
    plan = import_products(store, plugins, cart, attributes="options", dry_run=True)["planned"]
    assert {"sku": "LNT-100", "parent": None, "cart_code": "LNT-100", "action": "link"} in plan
    import_products(store, plugins, cart, attributes="options")
    linked = _by_sku(store)["LNT-100"]
    assert linked.qoh == 3 and linked.name == "Harbor Lantern"
    assert count(store, P, P.c.sku == "LNT-100") == 1


class Spoiler:
    """Adds records of its own to the generic cart's first real batch."""

    def __init__(self, *extra: dict):
        self.extra = list(extra)

    @hookimpl(tryfirst=True)
    def import_products(self, cart, batch_size):
        real = seconnect_generic.plugin.import_products(cart=cart, batch_size=batch_size)
        if real is None:
            return None
        return ([*records, *self.extra] if n == 0 else records for n, records in enumerate(real))


BAD = [{"code": "", "web_id": "900"},
       {"code": "BAD-PRICE", "web_id": "901", "price": "12,50"},
       {"code": "ORPHAN-1", "web_id": "902", "variation": {"values": ["Red"]}}]


def test_invalid_records_are_quarantined_and_the_rest_imports(store, gen):
    spoiled = load_plugins(extra=[("spoiler", Spoiler(*BAD))])
    cart = add_cart(store, spoiled, gen)
    summary = import_products(store, spoiled, cart, attributes="sub-skus")
    assert summary["quarantined"] == 3
    assert count(store, P) == expected(gen, "sub-skus")["products"]
    with store.connect() as conn:
        parked = {r.external_id: r for r in conn.execute(sa.select(Q).where(Q.c.cart_id == cart.id))}
    assert set(parked) == {"900", "901", "902"}
    assert "$.code" in parked["900"].reason and "$.price" in parked["901"].reason
    assert "names no parent" in parked["902"].reason
    assert json.loads(parked["901"].payload) == BAD[1]

    import_products(store, spoiled, cart)  # the same bad records again: parked once
    assert count(store, Q) == 3

    fixed = load_plugins(extra=[("spoiler", Spoiler({**BAD[1], "price": "12.50"}))])
    import_products(store, fixed, cart)
    assert count(store, Q, Q.c.resolved_at.is_(None)) == 2
    assert _by_sku(store)["BAD-PRICE"].price == 12.5


class Reverser:
    """Sends the generic cart's catalogue backwards, four records a batch: variations first."""

    @hookimpl(tryfirst=True)
    def import_products(self, cart, batch_size):
        real = seconnect_generic.plugin.import_products(cart=cart, batch_size=batch_size)
        if real is None:
            return None
        records = [r for batch in real for r in batch][::-1]
        return (records[i:i + 4] for i in range(0, len(records), 4))


def test_variations_sent_before_their_parent_wait_for_it(store, plugins, gen):
    backwards = load_plugins(extra=[("reverser", Reverser())])
    first = add_cart(store, backwards, gen, "Backwards")
    summary = import_products(store, backwards, first, attributes="sub-skus")
    assert summary["created"] == expected(gen, "sub-skus")["products"]
    assert _by_sku(store)["DCK-101-OAK"].option_values == {"Wood": "Oak"}  # the parent's lists were used
    # the same catalogue in its natural order names every product the same way
    second = add_cart(store, plugins, gen, "Forwards")
    again = import_products(store, plugins, second, attributes="sub-skus")
    assert again["created"] == 0 and again["updated"] == summary["created"]


def test_two_carts_importing_the_same_skus_at_once(store, plugins, isc):
    """Two carts of one catalogue imported concurrently (several workers on one store): both
    finish and every SKU exists once, whichever import created it."""
    carts = [add_cart(store, plugins, isc, name) for name in ("North", "South")]
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def run(cart):
        start.wait()
        try:
            results[cart.name] = import_products(store, plugins, cart, attributes="sub-skus")
        except Exception as exc:  # reported below, with the other thread's outcome
            results[cart.name] = exc

    threads = [threading.Thread(target=run, args=(cart,)) for cart in carts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, dict) for r in results.values()), results
    assert count(store, P) == expected(isc, "sub-skus")["products"]
    assert count(store, C) == 2 * expected(isc, "sub-skus")["codes"]
