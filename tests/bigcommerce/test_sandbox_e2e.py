"""The BigCommerce REST type end to end: the real CLI (in-process) against `Sandbox("bigcommerce")`
over HTTPS on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import CartDefinition, Secret
from seconnect.cli import build_cli
from seconnect.http import CartHTTP
from seconnect.jobs.realtime import run_realtime
from seconnect.outbox import Policy
from seconnect.sandbox import Sandbox
from seconnect.store import tables
from seconnect_bigcommerce.rest import OrderReading, plugin
from seconnect_bigcommerce.rest_mapping import ARCHIVED, utc_date


@pytest.fixture
def bc(tmp_path):
    with Sandbox("bigcommerce", state_dir=tmp_path / "bc", orders=80, products=12, customers=10,
                 embed_lines=3) as sb:
        yield sb
    CartHTTP.close_shared()


class Cli:
    def __init__(self, db_url: str):
        self.db_url, self.runner = db_url, CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(build_cli(), ["--db", self.db_url, *args], input=input, catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result.output


def _add(cli: Cli, sb: Sandbox) -> None:
    cli.ok("carts", "add", "Shop", "--type", "BigCommerce", "--set", f"store_hash={sb.store_hash}",
           "--set", f"api_base={sb.api_base}", "--ca-bundle", sb.ca_file, "--secret-stdin", input=sb.password + "\n")


def _orders(store) -> dict[str, tuple[str, int]]:
    o, lines = tables.orders, tables.order_lines
    with store.begin() as conn:
        counts = dict(conn.execute(sa.select(lines.c.order_id, sa.func.count()).group_by(lines.c.order_id)).all())
        return {n: (cs, counts.get(i, 0)) for i, n, cs in conn.execute(sa.select(o.c.id, o.c.number, o.c.cart_status))}


def test_import_orders_loses_no_line_and_follows_archive_and_refund(store, db_url, bc):
    cli = Cli(db_url)
    _add(cli, bc)
    assert "Ann" not in cli.ok("carts", "test", "Shop")  # the sandbox's own store name is shown
    cli.ok("run", "import-orders", "--cart", "Shop")
    stored = _orders(store)
    cart_orders = {o["number"]: o for o in bc.orders()}
    orders = {n for n, o in cart_orders.items() if o["status_id"] != 0}  # status 0 is no order
    assert set(stored) == orders
    assert {n for n in orders if cart_orders[n]["deleted"]} == {n for n in orders if stored[n][0] == "Archived"}
    live = {n for n in orders if not cart_orders[n]["deleted"]}
    for number in orders:
        assert stored[number][1] == len(cart_orders[number]["lines"]), number  # every line, 3 embedded at most
    first, second = sorted(live, key=int)[:2]
    bc.archive_order(first)
    bc.refund_order(second)
    cli.ok("run", "import-orders", "--cart", "Shop")
    after = _orders(store)
    assert after[first][0] == "Archived" and after[second][0] == "Refunded"
    assert len(after) == len(stored)  # updated, never duplicated


@pytest.mark.postgres
def test_import_on_postgres(pg_url, bc):
    cli = Cli(pg_url)
    _add(cli, bc)
    summary = json.loads(cli.ok("run", "import-orders", "--cart", "Shop", "--json"))
    summary = summary[0] if isinstance(summary, list) else summary
    assert summary["new"] == len([o for o in bc.orders() if o["status_id"] != 0])


def test_products_customers_and_inventory(store, db_url, bc):
    cli = Cli(db_url)
    _add(cli, bc)
    cli.ok("run", "import-products", "--cart", "Shop", "--attributes", "sub-skus")
    cli.ok("run", "import-customers", "--cart", "Shop")
    out = cli.ok("run", "inventory-get", "--cart", "Shop")
    assert "matched" in out
    with store.begin() as conn:
        skus = set(conn.execute(sa.select(tables.products.c.sku)).scalars())
    with_sku = [p for p in bc.products() if p["sku"]]
    assert {p["sku"] for p in with_sku} <= skus
    tracked = next(p for p in with_sku if p["tracked"] and not p["variations"])
    cli.ok("inventory", "set", tracked["sku"], "77")
    cli.ok("run", "inventory-send", "--cart", "Shop")
    assert bc.qoh(tracked["sku"]) == 77


def test_status_update_with_tracking_reaches_the_sandbox_once(store, plugins, db_url, bc):
    cli = Cli(db_url)
    _add(cli, bc)
    cli.ok("params", "set", "UseStatusUpdates", "TRUE")
    cli.ok("run", "import-orders", "--cart", "Shop")
    number = next(n for n, (status, _lines) in sorted(_orders(store).items(), key=lambda kv: int(kv[0]))
                  if status == "Awaiting Fulfillment")
    cli.ok("orders", "set-status", number, "Shipped", "--cart", "Shop", "--tracking", "1Z999", "--carrier", "UPS")
    run_realtime(store, plugins, policy=Policy(max_attempts=3, backoff_base=0.0, lease=30))
    (shipment,) = bc.shipments(number)
    assert shipment["tracking_number"] == "1Z999"
    assert next(o for o in bc.orders() if o["number"] == number)["status_id"] == 2


def test_a_small_quota_is_paced_not_throttled(store, db_url, tmp_path):
    """Every reply's (lowercase) rate-limit headers are read: the import waits for the window's
    reset instead of running into 429s."""
    with Sandbox("bigcommerce", state_dir=tmp_path / "q", orders=40, products=4, customers=2,
                 quota=6, window_ms=400) as sb:
        cli = Cli(db_url)
        _add(cli, sb)
        cli.ok("run", "import-orders", "--cart", "Shop")
        assert len(sb.rest_requests()) > 6  # several windows' worth
        assert sb.throttled() == 0
        assert len(_orders(store)) == len([o for o in sb.orders() if o["status_id"] != 0])
    CartHTTP.close_shared()


def test_a_small_store_is_read_by_one_reader(bc):
    cart = CartDefinition("Shop", "BigCommerce", settings={"store_hash": bc.store_hash, "api_base": bc.api_base},
                          secrets={"access_token": Secret(bc.password)}, ca_bundle=bc.ca_file)
    reading = OrderReading.start(cart, None, None)
    assert reading.split(plugin.client(cart)) is None  # 80 orders: read before a second reader would start
    assert not reading.before


def test_a_large_import_reads_on_in_two_helper_processes_and_stores_every_order_and_line(store, db_url, tmp_path):
    """More than one full page: after the first, helper processes read, parse and map the rest
    (seconnect.helpers.streams), the later half of the live orders by date modified in a second
    one. Together they hand over exactly the orders reading in this process gives, each once; no
    checkpoint is ahead of an order not handed over yet; the CLI's import stores every order with
    every line (3 embedded at most: longer orders are paged)."""
    with Sandbox("bigcommerce", state_dir=tmp_path / "big", orders=1400, products=12, customers=10,
                 embed_lines=3, quota=None) as sb:
        cart = CartDefinition("Shop", "BigCommerce", settings={"store_hash": sb.store_hash, "api_base": sb.api_base},
                              secrets={"access_token": Secret(sb.password)}, ca_bundle=sb.ca_file)
        alone = list(plugin.read_orders(cart, OrderReading.start(cart, None, None)))
        handed = plugin.read_orders(cart, OrderReading.start(cart, None, None), hand_off=True)
        got, helpers = [], set()
        modified = {r["number"]: utc_date(r["raw"]["order/date_modified"]) for b in alone for r in b.records
                    if r["status"] != ARCHIVED}
        for batch in handed:  # the helpers are alive while they hand batches over
            got.append(batch)
            helpers |= {p.name for p in multiprocessing.active_children() if p.name.startswith("bigcommerce-orders")}
            seen = {r["number"] for b in got for r in b.records}
            behind = {n for n, when in modified.items() if batch.checkpoint and when < batch.checkpoint}
            assert behind <= seen, "the checkpoint passed orders not handed over yet"
        assert helpers == {"bigcommerce-orders-1", "bigcommerce-orders-2"}
        records = [r for b in got for r in b.records]
        assert len(records) == len({r["number"] for r in records}), "an order was handed over twice"
        assert sorted(records, key=lambda r: r["number"]) == \
            sorted([r for b in alone for r in b.records], key=lambda r: r["number"])
        assert got[-1].checkpoint == alone[-1].checkpoint

        cli = Cli(db_url)
        _add(cli, sb)
        cli.ok("run", "import-orders", "--cart", "Shop")
        stored = _orders(store)
        cart_orders = {o["number"]: o for o in sb.orders() if o["status_id"] != 0}
        assert set(stored) == set(cart_orders)
        assert {n: lines for n, (_status, lines) in stored.items()} == \
            {n: len(o["lines"]) for n, o in cart_orders.items()}
    CartHTTP.close_shared()
