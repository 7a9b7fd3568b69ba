"""Order import end to end: real HTTPS to the sandbox cart, real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from orders_helpers import define_cart

import seconnect_schemas
from seconnect import Capabilities, Capability, CartType, OrderBatch, hookimpl
from seconnect.carts import get_cart
from seconnect.cli import build_cli
from seconnect.jobs.import_orders import import_orders
from seconnect.jobs.quarantine import retry
from seconnect.params import set_value
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import tables


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def stored_orders(store, cart_id: int) -> dict[str, dict]:
    with store.begin() as conn:
        orders = {r.number: r._asdict() for r in conn.execute(
            sa.select(tables.orders).where(tables.orders.c.cart_id == cart_id))}
        ids = {o["id"]: n for n, o in orders.items()}
        for o in orders.values():
            o["lines"] = []
        for line in conn.execute(sa.select(tables.order_lines).order_by(tables.order_lines.c.line_no)):
            if line.order_id in ids:
                orders[ids[line.order_id]]["lines"].append(line._asdict())
    return orders


def test_hook_import_orders_imports_everything_exactly_once(store, plugins, sandbox):
    cart = define_cart(store, plugins, sandbox)
    summary = import_orders(store, plugins, cart)
    expected = sandbox.downloadable_order_numbers()
    assert summary["new"] == len(expected) > 0 and summary["quarantined"] == 0
    orders = stored_orders(store, cart.id)
    assert sorted(orders, key=int) == expected

    # money, quantities and unicode come through exactly
    cart_orders = {o["number"]: o for o in sandbox.orders()}
    big = 0
    for number, order in orders.items():
        source = cart_orders[number]
        assert len(order["lines"]) == len(source["lines"])
        for line, src in zip(order["lines"], source["lines"], strict=True):
            assert line["quantity"] == src["qty"]
            assert line["unit_price"] == _cents(src["price"]), (number, line["sku"])
            assert line["total"] == _cents(src["price"] * src["qty"])
            big += line["unit_price"] >= 1000
        assert order["product_total"] == sum(_cents(s["price"] * s["qty"]) for s in source["lines"])
        name = f"{source['billing']['first']} {source['billing']['last']}".strip()
        assert order["billing"]["full_name"] == name
        assert order["customer_id"] is not None and order["customer_match"]
    assert big > 0, "the sandbox data should contain amounts over 1,000"
    assert any(any(ord(c) > 127 for c in o["billing"]["full_name"]) for o in orders.values())

    # a second run imports nothing; new orders at the cart arrive on the next run
    assert import_orders(store, plugins, cart)["new"] == 0
    added = sandbox.add_orders(7)
    again = import_orders(store, plugins, cart)
    assert again["new"] == len([n for n in added if n in sandbox.downloadable_order_numbers()])
    assert sorted(stored_orders(store, cart.id), key=int) == sandbox.downloadable_order_numbers()
    with store.begin() as conn:
        runs = conn.execute(sa.select(tables.runs.c.status, tables.runs.c.summary)
                            .where(tables.runs.c.job == "import-orders")).all()
    assert [r.status for r in runs] == ["ok", "ok", "ok"]
    assert runs[0].summary["new"] == summary["new"]


def test_custom_order_fields_follow_the_capability(store, plugins, sandbox):
    cart = define_cart(store, plugins, sandbox)
    summary = import_orders(store, plugins, cart)
    with store.begin() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(tables.order_custom_fields)).scalar_one()
    if sandbox.profile.name == "generic":
        assert stored > 0 and summary["custom_fields_stored"] == stored
    else:  # Interspire declares custom order fields unsupported and sends none
        assert stored == 0 and summary["custom_fields_stored"] == 0


def test_start_after_and_small_batches(store, plugins, tmp_path):
    with Sandbox("generic", orders=30, products=5, customers=5, seed=2, state_dir=tmp_path / "c") as sb:
        define_cart(store, plugins, sb)
        numbers = sb.downloadable_order_numbers()
        with store.begin() as conn:
            set_value(conn, "DownloadBatchSize", "7", get_cart(conn, "Shop").id)
            cart = get_cart(conn, "Shop")
        summary = import_orders(store, plugins, cart, start_after=numbers[9])
        assert summary["new"] == len(numbers) - 10 and summary["checkpoint"] == numbers[-1]
        assert sorted(stored_orders(store, cart.id), key=int) == numbers[10:]


class _Mangler:
    """Wraps the generic cart type so one downloaded record is broken, to exercise quarantine."""

    def __init__(self, bad_number: str, break_it):
        self.bad_number = bad_number
        self.break_it = break_it

    @hookimpl(tryfirst=True)
    def import_orders(self, cart, checkpoint, batch_size, since):
        from seconnect_generic import plugin

        def batches():
            for batch in plugin.import_orders(cart=cart, checkpoint=checkpoint, batch_size=batch_size, since=since):
                records = [self.break_it(r) if r["number"] == self.bad_number else r for r in batch.records]
                yield OrderBatch(records, batch.checkpoint)
        return batches()


def test_bad_record_is_quarantined_and_the_rest_imports(store, tmp_path):
    with Sandbox("generic", orders=20, products=5, customers=5, seed=4, state_dir=tmp_path / "c") as sb:
        numbers = sb.downloadable_order_numbers()
        bad = numbers[3]
        plugins = load_plugins(extra=[("mangler", _Mangler(bad, lambda r: {**r, "lines": [{"quantity": "lots"}]}))])
        cart = define_cart(store, plugins, sb)
        summary = import_orders(store, plugins, cart)
        assert summary["quarantined"] == 1 and summary["new"] == len(numbers) - 1
        with store.begin() as conn:
            parked = conn.execute(sa.select(tables.quarantine)).one()
        assert parked.kind == "order" and parked.external_id == bad
        assert "$.lines[0].quantity" in parked.reason
        assert json.loads(parked.payload)["number"] == bad
        # the cause cannot be fixed by retrying the same payload: it stays parked, counted
        result = retry(store, plugins, ids=[parked.id])
        assert result == [{"id": parked.id, "stored": False, "reason": result[0]["reason"]}]
        # a record that was only unstorable at the time (here: absurd amounts) is fixed by editing it
        with store.begin() as conn:
            good = json.loads(parked.payload)
            good["lines"] = []
            conn.execute(sa.update(tables.quarantine).values(payload=json.dumps(good)))
        assert retry(store, plugins, ids=None)[0]["stored"] is True
        assert bad in stored_orders(store, cart.id)


def test_absurd_amounts_are_quarantined_not_crashing(store, tmp_path):
    with Sandbox("generic", orders=10, products=5, customers=5, seed=4, state_dir=tmp_path / "c") as sb:
        bad = sb.downloadable_order_numbers()[0]

        def huge(r):
            return {**r, "totals": {**(r.get("totals") or {}), "grand_total": "9" * 30 + ".00"}}

        plugins = load_plugins(extra=[("mangler", _Mangler(bad, huge))])
        cart = define_cart(store, plugins, sb)
        summary = import_orders(store, plugins, cart)
        assert summary["quarantined"] == 1
        with store.begin() as conn:
            assert "out of range" in conn.execute(sa.select(tables.quarantine.c.reason)).scalar_one()


def test_cli_summary_and_show_record_validates(db_url, tmp_path):
    runner = CliRunner()
    with Sandbox("interspire", orders=25, products=8, customers=10, seed=5, state_dir=tmp_path / "c") as sb:
        cli = build_cli()
        added = runner.invoke(cli, ["--db", db_url, "carts", "add", "BC", "--type", "Interspire", "--user", sb.user,
                                    "--script-url", sb.script_url, "--ca-bundle", sb.ca_file, "--password-stdin"],
                              input=sb.password + "\n")
        assert added.exit_code == 0, added.output
        result = runner.invoke(build_cli(), ["--db", db_url, "run", "import-orders", "--cart", "BC"])
        assert result.exit_code == 0, result.output
        n = len(sb.downloadable_order_numbers())
        assert f"BC: {n} orders ({n} new, 0 updated); customers:" in result.output
        as_json = runner.invoke(build_cli(), ["--db", db_url, "run", "import-orders", "--cart", "BC", "--json"])
        assert json.loads(as_json.output)[0]["new"] == 0
        number = sb.downloadable_order_numbers()[0]
        shown = runner.invoke(build_cli(), ["--db", db_url, "orders", "show", number, "--cart", "BC", "--json"])
        details = json.loads(shown.output)
        assert seconnect_schemas.explain("order", details["record"]) == []
        assert details["customer_match"] and details["record"]["number"] == number
        text = runner.invoke(build_cli(), ["--db", db_url, "orders", "show", number, "--cart", "BC"]).output
        assert "matched by:" in text
        listed = json.loads(runner.invoke(build_cli(), ["--db", db_url, "orders", "list", "--json"]).output)
        assert len(listed) == n


def test_unsupported_capability_is_refused_before_the_plugin(store, tmp_path):
    class NoOrders:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="NoOrders", label="x", capabilities=Capabilities.declare(
                unsupported=[Capability.IMPORT_ORDERS]), notes={"import-orders": "This cart cannot export orders."})]

    plugins = load_plugins(extra=[("noorders", NoOrders())])
    with Sandbox("generic", orders=3, products=2, customers=2, seed=1, state_dir=tmp_path / "c") as sb:
        with store.begin() as conn:
            from seconnect import carts
            carts.add_cart(conn, plugins, name="N", cart_type="NoOrders", user="u", password="p",
                           script_url=sb.script_url)
            cart = carts.get_cart(conn, "N")
    from seconnect.errors import CapabilityError
    with pytest.raises(CapabilityError, match="does not support order import"):
        import_orders(store, plugins, cart)


# -- crash and concurrency safety, with real subprocesses ------------------------------------------

def _cli(db_url: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "seconnect", "--db", db_url, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(), **kw)


def _add_cart_cli(db_url, sb, name="Shop", batch="5"):
    p = _cli(db_url, "carts", "add", name, "--type", "Generic", "--user", sb.user, "--script-url", sb.script_url,
             "--ca-bundle", sb.ca_file, "--password-stdin", stdin=subprocess.PIPE)
    out, err = p.communicate(sb.password + "\n", timeout=60)
    assert p.returncode == 0, err
    p = _cli(db_url, "params", "set", "DownloadBatchSize", batch, "--cart", name)
    assert p.wait(timeout=60) == 0


def _count(db_url) -> tuple[int, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        orders = conn.execute(sa.text("SELECT count(*), count(DISTINCT number) FROM orders")).one()
    engine.dispose()
    assert orders[0] == orders[1]
    return orders[0], orders[1]


@pytest.mark.slow
def test_kill_9_mid_import_then_rerun_loses_and_duplicates_nothing(db_url, tmp_path):
    with Sandbox("generic", orders=400, products=10, customers=30, seed=9, latency_ms=40,
                 state_dir=tmp_path / "c") as sb:
        _add_cart_cli(db_url, sb)
        expected = sb.downloadable_order_numbers()
        for trial in range(3):
            proc = _cli(db_url, "run", "import-orders", "--cart", "Shop")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _count(db_url)[0] < 40 * (trial + 1):
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        done = _cli(db_url, "run", "import-orders", "--cart", "Shop")
        out, err = done.communicate(timeout=300)
        assert done.returncode == 0, err
        assert _count(db_url)[0] == len(expected)
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            numbers = sorted(r[0] for r in conn.execute(sa.text("SELECT number FROM orders")))
            lines = conn.execute(sa.text("SELECT count(*) FROM order_lines")).scalar_one()
        engine.dispose()
        assert numbers == sorted(expected)
        assert lines == sum(len(o["lines"]) for o in sb.orders() if o["number"] in set(expected))


@pytest.mark.slow
def test_two_imports_of_one_cart_at_once_do_not_duplicate(db_url, tmp_path):
    with Sandbox("generic", orders=150, products=10, customers=20, seed=10, latency_ms=10,
                 state_dir=tmp_path / "c") as sb:
        _add_cart_cli(db_url, sb)
        expected = sb.downloadable_order_numbers()
        procs = [_cli(db_url, "run", "import-orders", "--cart", "Shop", "--json") for _ in range(2)]
        outputs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        # each run printed one successful summary, for this cart
        summaries = [json.loads(out) for out, _ in outputs]
        assert [[s["cart"] for s in run if "error" not in s] for run in summaries] == [["Shop"], ["Shop"]], outputs
        runs = [run[0] for run in summaries]
        # the store holds every order of the cart, each once
        engine = sa.create_engine(db_url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT number FROM orders")).scalars().all()
        engine.dispose()
        assert len(stored) == len(set(stored)) and sorted(stored) == sorted(expected)
        # every order was new to exactly one of the two runs: their "new" counts add up to the cart's
        assert [r["quarantined"] for r in runs] == [0, 0], runs
        assert sum(r["new"] for r in runs) == len(expected), runs


@pytest.mark.parametrize("attributes", ["options", "sub-skus"])
def test_order_lines_translate_to_parent_or_sub_sku(store, plugins, sandbox, attributes):
    from seconnect.jobs.import_products import import_products

    cart = define_cart(store, plugins, sandbox)
    import_products(store, plugins, cart, attributes=attributes)
    summary = import_orders(store, plugins, cart)
    assert summary["unmapped_lines"] == 0
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(tables.order_lines.c.sku, tables.order_lines.c.local_sku, tables.order_lines.c.options,
                      tables.products.c.parent_id)
            .join(tables.products, tables.products.c.id == tables.order_lines.c.product_id)).all()
    with_options = [r for r in rows if r.options and any(o.get("value") for o in r.options)]
    variant_lines = [r for r in rows if r.parent_id is not None]
    if attributes == "sub-skus":
        assert variant_lines, "lines of variations map to their sub-SKUs"
        assert all(r.local_sku != r.sku or sandbox.profile.name == "generic" for r in variant_lines)
    else:
        assert not variant_lines, "in options mode lines stay on the parent SKU"
        assert with_options


def test_new_orders_take_their_quantities_off_local_stock(store, plugins, tmp_path):
    from seconnect.jobs.import_products import import_products

    with Sandbox("generic", orders=40, products=10, customers=10, seed=12, state_dir=tmp_path / "c") as sb:
        cart = define_cart(store, plugins, sb)
        import_products(store, plugins, cart, attributes="sub-skus")
        import_orders(store, plugins, cart)  # the cart's history: already in the stock read from it
        with store.begin() as conn:
            conn.execute(sa.update(tables.products).values(qoh=1000))
        added = sb.add_orders(8)
        import_orders(store, plugins, cart)
        with store.begin() as conn:
            sold = dict(conn.execute(
                sa.select(tables.order_lines.c.product_id, sa.func.sum(tables.order_lines.c.quantity))
                .join(tables.orders).where(tables.order_lines.c.product_id.is_not(None),
                                           tables.orders.c.number.in_(added))
                .group_by(tables.order_lines.c.product_id)).all())
            qoh = dict(conn.execute(sa.select(tables.products.c.id, tables.products.c.qoh)).all())
            parents = {r.id for r in conn.execute(sa.select(tables.products.c.parent_id.label("id"))
                                                  .where(tables.products.c.parent_id.is_not(None)))}
        assert sold
        assert any(pid in qoh and pid not in parents for pid in sold)
        for pid, quantity in sold.items():
            assert qoh[pid] == 1000 - quantity, pid  # a sub-SKU's own stock, not its parent's
        # a re-sent order does not take stock off twice
        with store.begin() as conn:
            conn.execute(sa.delete(tables.checkpoints))
        assert import_orders(store, plugins, cart)["updated"] > 0
        with store.begin() as conn:
            assert dict(conn.execute(sa.select(tables.products.c.id, tables.products.c.qoh)).all()) == qoh


def test_sku_lookups_are_cached_for_the_whole_run(store, plugins, tmp_path):
    """Batches after the first reuse the run's product look-ups: a SKU already translated is
    not read again (and the lines still map exactly as a fresh translator maps them)."""
    from seconnect.jobs.import_products import import_products
    from seconnect.subskus import SkuTranslator

    with Sandbox("generic", orders=60, products=4, customers=10, seed=5, state_dir=tmp_path / "c") as sb:
        cart = define_cart(store, plugins, sb)
        import_products(store, plugins, cart, attributes="sub-skus")
        with store.begin() as conn:
            set_value(conn, "DownloadBatchSize", "10", cart.id)
            cart = get_cart(conn, "Shop")
        product_reads = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT") and "FROM products" in statement:
                product_reads.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", count)
        try:
            summary = import_orders(store, plugins, cart)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", count)
        assert summary["new"] >= 50 and summary["unmapped_lines"] < summary["new"]
        # 4 products, ~6 batches: without the run's cache every batch reads codes and SKUs again
        assert 0 < len(product_reads) < 2 * 6, len(product_reads)
        with store.begin() as conn:
            lines = conn.execute(sa.select(tables.order_lines.c.sku, tables.order_lines.c.name,
                                           tables.order_lines.c.options, tables.order_lines.c.product_id,
                                           tables.order_lines.c.local_sku)).all()
            fresh = SkuTranslator(conn, cart).translate([r._asdict() for r in lines])
        assert [(t.product_id, t.local_sku) for t in fresh] == [(r.product_id, r.local_sku) for r in lines]
