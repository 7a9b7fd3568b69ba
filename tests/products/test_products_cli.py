"""`seconnect products list|show` on a store filled by a real import (the group is not yet
registered with the top-level CLI, so the tests add it themselves)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seconnect.cli import build_cli
from seconnect.cli import products as products_cli
from seconnect.jobs.import_products import import_products

from .helpers import expected


@pytest.fixture
def run(db_url, plugins):
    cli = build_cli(plugins)
    cli.add_command(products_cli.command)
    return lambda *args: CliRunner().invoke(cli, ["--db", db_url, "products", *args], catch_exceptions=False)


@pytest.fixture
def imported(store, plugins, make_cart, gen):
    cart = make_cart(gen)
    import_products(store, plugins, cart, attributes="sub-skus")
    return cart


def test_list_json_has_parents_sub_skus_and_cart_codes(run, imported, gen):
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data) == expected(gen, "sub-skus")["products"]
    by_sku = {p["sku"]: p for p in data}
    sub = by_sku["DCK-101-WAL"]
    assert sub["parent"] == "DCK-101" and sub["options"] == {"Wood": "Walnut"}
    assert sub["cart_codes"] == [{"cart": "Shop", "code": "DCK-101-WAL"}]
    assert by_sku["DCK-101"]["qoh"] is None and by_sku["LNT-100"]["price"].count(".") == 1
    order = [p["sku"] for p in data]
    assert order.index("DCK-101") + 1 == order.index("DCK-101-OAK")  # sub-SKUs follow their parent


def test_list_text_limit_and_cart_filter(run, imported, store, plugins, make_cart, isc):
    result = run("list", "--limit", "3")
    text = result.stdout
    assert text.splitlines()[0].split() == ["SKU", "NAME", "PRICE", "QOH", "PARENT", "OPTIONS", "CART", "CODES"]
    assert len(text.splitlines()) == 4
    assert result.stderr.startswith("3 of ") and "products shown (--limit N, --all)." in result.stderr
    other = make_cart(isc, "Other")
    import_products(store, plugins, other, attributes="options")
    only = json.loads(run("list", "--json", "--cart", "Other").output)
    assert len(only) == expected(isc, "options")["products"]
    assert all(any(c["cart"] == "Other" for c in p["cart_codes"]) for p in only)
    assert "no cart named 'Nope'" in run("list", "--cart", "Nope").output


def test_show_details_and_unknown_sku(run, imported):
    data = json.loads(run("show", "DCK-101", "--json").output)
    assert [s["sku"] for s in data["sub_skus"]] == ["DCK-101-OAK", "DCK-101-WAL"]
    assert data["cart_codes"][0]["code"] == "DCK-101" and data["cart_codes"][0]["web_id"] == "2"
    text = run("show", "DCK-101-OAK").output
    assert "Sub-SKU of:   DCK-101   (Wood=Oak)" in text and "Shop: DCK-101-OAK" in text
    missing = run("show", "dck-101")
    assert missing.exit_code == 2 and "Did you mean 'DCK-101'?" in missing.output


def test_empty_store_says_how_to_import(run, store):
    assert "seconnect run import-products" in run("list").output


def test_planned_text_prints_a_dry_run(store, plugins, make_cart, isc):
    cart = make_cart(isc)
    plan = import_products(store, plugins, cart, attributes="options", dry_run=True)["planned"]
    text = products_cli.planned_text(plan)
    assert text.splitlines()[0].split() == ["ACTION", "SKU", "PARENT", "CART", "CODE", "REASON"]
    assert "map" in text and "JKT-113" in text
    assert products_cli.planned_text([]) == "Nothing to import."
