"""Exit codes: every one is documented; a job that finished but left work for the merchant exits 7
and says why; with --json a single-cart failure is printed as JSON on stdout too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from inventory.helpers import add_product, cart_with_products

from seconnect import errors
from seconnect.inventory import set_quantity

from .helpers import add_cart, cli

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def checks_at_once(monkeypatch):
    """Read-back checks are due at once, so that one `--once` run also verifies."""
    monkeypatch.setattr("seconnect.jobs.inventory.VERIFY_DELAY_S", 0.0)


def _set(store, plugins, sku, value):
    with store.begin() as conn:
        set_quantity(conn, plugins, sku, value)


def test_readme_documents_every_exit_code():
    paragraph = re.search(r"exit non-zero:(.*?)\n\n", README.read_text(), re.DOTALL).group(1)
    documented = {int(n) for n in re.findall(r"(?<![\d-])(\d+) [A-Za-z]", paragraph)}
    codes = {cls.exit_code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.SeconnectError)}
    assert codes | {1, 6} == documented


def test_inventory_send_with_codes_the_cart_does_not_know_exits_7_and_says_which(store, plugins, gen, db_url):
    cart = cart_with_products(store, plugins, gen, "Shop")
    add_product(store, "NOT-AT-CART", 3, codes={cart.id: ("NOT-AT-CART", None)})
    result = cli(db_url, "run", "inventory-send", "--cart", "Shop", "--sku", "NOT-AT-CART", "--sku", "LNT-100")
    assert result.exit_code == errors.AttentionNeeded.exit_code == 7
    assert "1 ok" in result.stdout
    assert re.search(r"Attention: .*1 code \(NOT-AT-CART\)", result.stderr)
    # everything known at the cart: 0
    assert cli(db_url, "run", "inventory-send", "--cart", "Shop", "--sku", "LNT-100").exit_code == 0
    assert cli(db_url, "run", "inventory-send", "--cart", "Shop", "--dry-run").exit_code == 0


def test_realtime_once_that_parks_rows_exits_7_and_says_why(store, plugins, gen, db_url):
    cart = cart_with_products(store, plugins, gen, "GEN")
    add_product(store, "GONE-1", 4, codes={cart.id: ("GONE-1", None)})
    _set(store, plugins, "GONE-1", 5)
    result = cli(db_url, "run", "realtime", "--once")
    assert result.exit_code == 7, result.output
    assert "1 parked" in result.stdout
    assert "Attention: this run parked 1 outbox row" in result.stderr and "outbox retry" in result.stderr
    # a later run that parks nothing exits 0 (the parked row is `doctor`'s and `outbox list`'s to show)
    _set(store, plugins, "LNT-100", 5)
    assert cli(db_url, "run", "realtime", "--once").exit_code == 0


def test_json_failure_of_a_single_cart_job_prints_a_json_error(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    gen.set_faults("badauth")
    result = cli(db_url, "run", "import-orders", "--cart", "Shop", "--json")
    assert result.exit_code == 15
    [entry] = json.loads(result.stdout)
    assert entry["cart"] == "Shop" and entry["exit_code"] == 15
    assert "rejected" in entry["error"] and entry["hint"]
    assert "Error:" in result.stderr  # people still read why on stderr


def test_json_failures_with_all_carry_their_exit_codes(store, plugins, gen, isc, db_url):
    add_cart(store, plugins, gen, "A")
    add_cart(store, plugins, isc, "B")
    isc.set_faults("badauth")
    result = cli(db_url, "run", "import-customers", "--all", "--json")
    assert result.exit_code == 6
    by_cart = {e["cart"]: e for e in json.loads(result.stdout)}
    assert by_cart["B"]["exit_code"] == 15 and "error" not in by_cart["A"]
