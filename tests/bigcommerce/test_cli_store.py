"""The BigCommerce REST type through the real CLI (in-process) and real stores (SQLite and
PostgreSQL), with the HTTP side served by the in-memory API over MockTransport until the REST
sandbox is merged."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import Package, StatusUpdate
from seconnect.carts import get_cart
from seconnect.cli import build_cli
from seconnect.http import RetryPolicy
from seconnect.jobs.realtime import run_realtime
from seconnect.outbox import Policy
from seconnect.store import tables
from seconnect_bigcommerce import rest
from seconnect_bigcommerce.rest_client import RatePacer

from .fakeapi import HASH, TOKEN, FakeBigCommerce, line, order


class Cli:
    """The real CLI, in-process, against one store."""

    def __init__(self, db_url: str):
        self.db_url, self.runner = db_url, CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(build_cli(), ["--db", self.db_url, *args], input=input, catch_exceptions=False)

    def json(self, *args: str):
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)


def deliver(store, plugins):
    return run_realtime(store, plugins, policy=Policy(max_attempts=3, backoff_base=0.0, lease=30))


@pytest.fixture
def served(fake: FakeBigCommerce, monkeypatch: pytest.MonkeyPatch, slept: list[float]) -> FakeBigCommerce:
    """The installed plugin object talks to ``fake``."""
    monkeypatch.setattr(rest.plugin, "transport", fake.transport())
    monkeypatch.setattr(rest.plugin, "retry", RetryPolicy.no_wait())
    monkeypatch.setattr(rest.plugin, "pacer", RatePacer(sleep=slept.append))
    monkeypatch.setattr(rest.plugin, "sleep", slept.append)
    monkeypatch.setattr(rest.plugin, "_codes", {})  # what it keeps per store is this fake's alone
    monkeypatch.setattr(rest.plugin, "_locations", {})
    return fake


def _add(cli: Cli, *extra: str):
    return cli("carts", "add", "Shop", "--type", "BigCommerce", "--set", f"store_hash={HASH}",
               "--set", "api_base=bc.test", *extra, "--secret-stdin", input=TOKEN + "\n")


def _stored(store, number: str):
    o = tables.orders
    with store.begin() as conn:
        return conn.execute(sa.select(o.c.status, o.c.cart_status).where(o.c.number == number)).one()


def test_api_base_with_a_scheme_is_refused_with_what_it_takes(db_url):
    cli = Cli(db_url)
    result = cli("carts", "add", "Shop", "--type", "BigCommerce", "--set", "store_hash=abc",
                 "--set", "api_base=https://api.bigcommerce.com", "--secret-stdin", input="tok\n")
    assert result.exit_code == 2
    assert "without https://" in result.output and "nothing was saved" in result.output


def test_import_and_a_changed_order_resent_updates_the_stored_one(store, served, db_url):
    for n in range(1, 4):
        served.orders[n] = order(n)
    served.orders[4] = order(4, status_id=0, status="Incomplete")
    cli = Cli(db_url)
    assert _add(cli).exit_code == 0
    result = cli("carts", "test", "Shop")
    assert result.exit_code == 0 and "Ann's <Shop> & Co" in result.output, result.output
    # the token was checked by the call itself: no advice to add --check-credentials
    assert "The credentials were accepted." in result.output and "--check-credentials" not in result.output
    result = cli("run", "import-orders", "--cart", "Shop")
    assert result.exit_code == 0, result.output
    assert cli.json("orders", "list", "--cart", "Shop")
    with store.begin() as conn:
        numbers = sorted(conn.execute(sa.select(tables.orders.c.number)).scalars())
    assert numbers == ["1", "2", "3"]
    served.orders[2] = order(2, status="Shipped", status_id=2)
    served.orders[2]["date_modified"] = "Mon, 05 Jan 2026 15:00:00 +0000"
    served.orders[3]["is_deleted"] = True
    served.orders[3]["date_modified"] = "Mon, 05 Jan 2026 15:01:00 +0000"
    result = cli("run", "import-orders", "--cart", "Shop")
    assert result.exit_code == 0, result.output
    assert _stored(store, "2").cart_status == "Shipped"
    assert _stored(store, "3").cart_status == "Archived"


def test_status_update_with_tracking_creates_each_shipment_once(store, plugins, served, db_url):
    served.orders[1] = order(1, lines=[line(11, 1, "A", qty=2), line(12, 1, "B")])
    cli = Cli(db_url)
    assert _add(cli).exit_code == 0
    assert cli("params", "set", "UseStatusUpdates", "TRUE").exit_code == 0
    assert cli("run", "import-orders", "--cart", "Shop").exit_code == 0
    result = cli("orders", "set-status", "1", "Shipped", "--cart", "Shop", "--tracking", "1Z001", "--carrier", "UPS")
    assert result.exit_code == 0, result.output
    deliver(store, plugins)
    assert served.orders[1]["status_id"] == 2
    (shipment,) = served.shipments[1]
    assert shipment["tracking_number"] == "1Z001" and shipment["order_address_id"] == 10
    assert shipment["items"] == [{"order_product_id": 11, "quantity": 2}, {"order_product_id": 12, "quantity": 1}]
    # the same update again (a retry after an unknown outcome): no second shipment
    with store.begin() as conn:
        cart = get_cart(conn, "Shop")
    answer = rest.plugin.update_order_status(cart=cart, update=StatusUpdate(
        "1", "Shipped", packages=(Package("1Z001", "UPS"),)))
    assert answer.accepted and len(served.shipments[1]) == 1


def test_status_label_without_an_id_is_refused_not_sent(served):
    from .conftest import bc_cart
    served.orders[1] = order(1)
    answer = rest.plugin.update_order_status(cart=bc_cart(), update=StatusUpdate("1", "Backordered"))
    assert not answer.accepted and "BigCommerceStatusMap" in answer.notes
    assert served.orders[1]["status_id"] == 11



def test_several_packages_share_the_items_and_each_is_a_shipment(served):
    from .conftest import bc_cart
    served.orders[1] = order(1, lines=[line(11, 1, "A", qty=2), line(12, 1, "B")])
    packages = (Package("1Z1", "UPS"), Package("1Z2", "UPS"))
    answer = rest.plugin.update_order_status(cart=bc_cart(), update=StatusUpdate("1", "Shipped", packages=packages))
    assert answer.accepted
    assert [(s["tracking_number"], s["items"]) for s in served.shipments[1]] == [
        ("1Z1", [{"order_product_id": 11, "quantity": 1}]),
        ("1Z2", [{"order_product_id": 11, "quantity": 1}, {"order_product_id": 12, "quantity": 1}])]
    rest.plugin.update_order_status(cart=bc_cart(), update=StatusUpdate("1", "Shipped", packages=packages))
    assert len(served.shipments[1]) == 2  # sent again: nothing created twice
