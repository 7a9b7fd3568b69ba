"""`run import-orders --start-after` is checked against the cart type's order-number form before
the cart is asked: bad input exits 2 with a hint and nothing is imported or moved."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from orders_helpers import define_cart

from seconnect import Capabilities, Capability, CartType
from seconnect.cartdef import CartDefinition, Secret
from seconnect.cli import build_cli
from seconnect.jobs.import_orders import check_start_after
from seconnect.plugins import load_plugins
from seconnect.seti.plugin import SetiPlugin
from seconnect.store import tables


def _run(db_url, *args):
    return CliRunner().invoke(build_cli(), ["--db", db_url, "run", "import-orders", *args], catch_exceptions=False)


def _stored(store):
    with store.begin() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(tables.orders)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(tables.checkpoints)).scalar_one())


@pytest.mark.parametrize("bad", ["abc", "1041x", "١٠٤١", "１０４１", "-5", ""])
def test_bad_start_after_exits_2_and_imports_nothing(store, plugins, db_url, sandbox, bad):
    define_cart(store, plugins, sandbox)
    before = _stored(store)
    for args in (("--cart", "Shop"), ("--all",)):
        result = _run(db_url, *args, "--start-after", bad)
        assert result.exit_code == 2, result.output
        assert f"--start-after {bad!r} is not an order number of cart 'Shop'" in result.output
        assert "order numbers look like 1041" in result.output and "Traceback" not in result.output
    assert _stored(store) == before == (0, 0)


def test_good_start_after_imports_the_orders_after_it(store, plugins, db_url, sandbox):
    define_cart(store, plugins, sandbox)
    numbers = sandbox.downloadable_order_numbers()
    result = _run(db_url, "--cart", "Shop", "--start-after", numbers[-3], "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["new"] == 2


def test_a_type_without_a_declared_form_takes_any_start_point():
    free = CartType(id="FreeForm", label="Free-form numbers",
                    capabilities=Capabilities.declare(supported=[Capability.IMPORT_ORDERS]))
    plugins = load_plugins(extra=[("free", SetiPlugin(free))])
    cart = CartDefinition(name="F", type="FreeForm", user="u", password=Secret("p"), script_url="h/x")
    check_start_after(plugins, cart, "ORD-2024-0001")  # no error
