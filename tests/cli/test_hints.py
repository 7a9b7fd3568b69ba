"""Hints that lead somewhere: following what an error says fixes it (real CLI, sandbox carts)."""

from __future__ import annotations

import json
import re
import shlex

import pytest


def add_sandbox(seconnect, sb, name: str, type_: str):
    result = seconnect("carts", "add", name, "--type", type_, "--user", sb.user, "--script-url", sb.script_url,
                       "--ca-bundle", sb.ca_file, "--password-stdin", input=sb.password + "\n")
    assert result.exit_code == 0, result.output
    return result


def commands_in(hint: str) -> list[list[str]]:
    """The `seconnect …` commands a hint names, in order, as argument lists."""
    return [shlex.split(c)[1:] for c in re.findall(r"`(seconnect [^`]+)`", hint)]


@pytest.mark.parametrize("scope", ["cart", "global"])
def test_the_sub_sku_delimiter_hint_is_a_sequence_that_works(seconnect, gen, scope):
    add_sandbox(seconnect, gen, "Shop", "Generic")
    assert seconnect("run", "import-products", "--cart", "Shop", "--attributes", "sub-skus").exit_code == 0
    cart = ["--cart", "Shop"] if scope == "cart" else []
    refused = seconnect("params", "set", "SubSKUDelimiter", "/", *cart)
    assert refused.exit_code == 2 and "sub-SKUs of cart 'Shop' exist" in refused.output
    steps = commands_in(refused.output)
    assert len(steps) == 3, refused.output
    for step in steps:
        done = seconnect(*step)
        assert done.exit_code == 0, f"{step}: {done.output}"
    assert seconnect("params", "get", "SubSKUDelimiter", "--cart", "Shop").output.strip() == "/"
    parent = json.loads(seconnect("products", "show", "DCK-101", "--json").output)
    assert {"DCK-101/OAK", "DCK-101/WAL"} <= {s["sku"] for s in parent["sub_skus"]}
    new, old = (json.loads(seconnect("products", "show", sku, "--json").output) for sku in ("DCK-101/OAK", "DCK-101-OAK"))
    assert new["cart_codes"] and not old["cart_codes"]  # the hint said: the old ones stay, unmapped


def test_inventory_get_says_which_records_it_cannot_keep_and_the_command_that_does(seconnect, isc):
    add_sandbox(seconnect, isc, "My Shop", "Interspire")
    assert seconnect("run", "import-products", "--cart", "My Shop", "--attributes", "options").exit_code == 0
    got = seconnect("run", "inventory-get", "--cart", "My Shop")
    assert got.exit_code == 0, got.output
    assert "variation records not kept: this cart's products are imported as options" in got.output
    assert "    JKT-113  (WebID 14-22)" in got.output  # which ones
    assert "added at the cart since" not in got.output  # import-products alone would not help
    steps = [s for s in commands_in(got.output) if "--dry-run" not in s]
    assert steps == [["run", "import-products", "--cart", "My Shop", "--attributes", "sub-skus", "--rebuild"]]
    assert seconnect(*steps[0]).exit_code == 0
    again = json.loads(seconnect("run", "inventory-get", "--cart", "My Shop", "--json").output)
    assert again[0]["unknown_count"] == 0 and again[0]["matched"] == again[0]["received"]
