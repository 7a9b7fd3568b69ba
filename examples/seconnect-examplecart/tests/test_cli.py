"""ExampleCart driven through the seconnect command line, the way a merchant uses it."""

import json

import pytest
from click.testing import CliRunner
from seconnect_examplecart.fake import FakeShop

from seconnect.cli import build_cli


@pytest.fixture
def shop(tmp_path, monkeypatch):
    """A running fake shop, and a store file and key of this test's own."""
    monkeypatch.setenv("SECONNECT_DB", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(tmp_path / "secret.key"))
    with FakeShop(tmp_path / "shop") as running:
        yield running


def seconnect(*args: str, input: str | None = None) -> tuple[int, str]:
    """One `seconnect …` command line: its exit code and what it printed."""
    result = CliRunner().invoke(build_cli(), list(args), input=input)
    return result.exit_code, result.output


def test_the_plugin_is_found_through_its_entry_point():
    code, out = seconnect("plugins", "list", "--json")
    plugin = next(p for p in json.loads(out)["plugins"] if p["name"] == "examplecart")
    assert plugin["distribution"] == "seconnect-examplecart"
    assert plugin["cart_types"] == ["ExampleCart"]
    code, out = seconnect("carts", "types")
    assert code == 0 and "ExampleCart (JSON API)" in out


def test_a_merchant_connects_imports_and_pushes(shop):
    code, out = seconnect("carts", "add", "My shop", "--type", "ExampleCart", "--user", shop.user,
                          "--script-url", shop.script_url, "--ca-bundle", shop.ca_file, "--password-stdin",
                          input=shop.password + "\n")
    assert code == 0, out
    code, out = seconnect("carts", "test", "My shop", "--check-credentials")
    assert code == 0 and "Test passed: Script version: 1.2" in out, out

    code, out = seconnect("run", "import-orders", "--cart", "My shop", "--json")
    assert code == 0 and json.loads(out)[0]["new"] == len(shop.order_numbers()), out
    code, out = seconnect("run", "import-products", "--cart", "My shop")
    assert code == 0 and "5 product records" in out, out
    code, out = seconnect("run", "import-customers", "--cart", "My shop")
    assert code == 5 and "customers arrive with their orders" in out, out

    assert seconnect("inventory", "set", "EX-100", "3")[0] == 0
    code, out = seconnect("run", "inventory-send", "--cart", "My shop", "--sku", "EX-100")
    assert code == 0 and shop.qoh("EX-100") == 3, out

    assert seconnect("params", "set", "UseStatusUpdates", "TRUE")[0] == 0
    first = shop.order_numbers()[0]
    code, out = seconnect("orders", "set-status", first, "Shipped", "--cart", "My shop")
    assert code == 0 and "Queued for the cart" in out, out
    code, out = seconnect("run", "realtime", "--once")
    assert code == 0 and shop.status_updates() == [(first, "Shipped")], out


def test_a_wrong_key_is_reported_as_such(shop):
    seconnect("carts", "add", "My shop", "--type", "ExampleCart", "--user", shop.user, "--script-url",
              shop.script_url, "--ca-bundle", shop.ca_file, "--password-stdin", input="not-the-key\n")
    code, out = seconnect("carts", "test", "My shop", "--check-credentials")
    assert code == 15 and "rejected the API user or key" in out, out
