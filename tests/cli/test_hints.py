"""Hints that lead somewhere: following what an error says fixes it (real CLI, sandbox carts)."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import sqlalchemy as sa


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


def test_inventory_get_says_which_records_it_cannot_keep_and_the_command_that_does(seconnect, isc, db_url):
    add_sandbox(seconnect, isc, "My Shop", "Interspire")
    assert seconnect("run", "import-products", "--cart", "My Shop", "--attributes", "options").exit_code == 0
    # One product the last product import did not bring (as if added at the cart since).
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        gone = conn.execute(sa.text("SELECT code FROM product_cart_codes GROUP BY code HAVING count(*) = 1 "
                                    "ORDER BY code LIMIT 1")).scalar_one()
        conn.execute(sa.text("DELETE FROM product_cart_codes WHERE code = :c"), {"c": gone})
    engine.dispose()
    got = seconnect("run", "inventory-get", "--cart", "My Shop")
    assert got.exit_code == 0, got.output
    assert "the store file has no product for (added at the cart since the last product import)" in got.output
    assert f"    {gone}" in got.output  # which ones
    assert "variation records not kept" not in got.output
    steps = [s for s in commands_in(got.output) if "--dry-run" not in s]
    assert steps == [["run", "import-products", "--cart", "My Shop"]]
    assert seconnect(*steps[0]).exit_code == 0
    again = json.loads(seconnect("run", "inventory-get", "--cart", "My Shop", "--json").output)
    assert again[0]["unknown_count"] == 0 and again[0]["matched"] == again[0]["received"]


def test_a_mistyped_status_label_gets_the_closest_one():
    from seconnect.errors import UsageError
    from seconnect.status import BUILTIN_LABELS, canonical_label

    with pytest.raises(UsageError) as typo:
        canonical_label("Shiped", list(BUILTIN_LABELS))
    assert typo.value.hint.startswith("Did you mean 'Shipped'? Known labels:")
    with pytest.raises(UsageError) as far:
        canonical_label("Lost at sea", list(BUILTIN_LABELS))
    assert "Did you mean" not in far.value.hint


def test_rejected_credentials_of_a_generic_cart_get_no_bigcommerce_wording_and_a_fix_that_works(seconnect, gen):
    result = seconnect("carts", "add", "Shop", "--type", "Generic", "--user", gen.user, "--script-url",
                       gen.script_url, "--ca-bundle", gen.ca_file, "--password-stdin", input="wrong\n")
    assert result.exit_code == 0
    rejected = seconnect("carts", "test", "Shop", "--check-credentials")
    assert rejected.exit_code == 15, rejected.output
    assert "BigCommerce" not in rejected.output and "Interspire" not in rejected.output
    [edit] = [c for c in commands_in(rejected.output) if c[:2] == ["carts", "edit"]]
    edit = [{"NAME": "Shop", "USER": gen.user}.get(word, word) for word in edit]
    assert seconnect(*edit, input=f"{gen.password}\n{gen.password}\n").exit_code == 0
    assert seconnect("carts", "test", "Shop", "--check-credentials").exit_code == 0


def test_a_cart_whose_plugin_is_disabled_says_so_and_still_shows(seconnect, gen, monkeypatch):
    add_sandbox(seconnect, gen, "Shop", "Generic")
    monkeypatch.setenv("SECONNECT_DISABLE_PLUGINS", "generic")
    job = seconnect("run", "import-orders", "--cart", "Shop")
    assert job.exit_code == 2 and "unknown cart type" not in job.output
    assert "cart type 'Generic' is not available" in job.output
    assert "disabled by SECONNECT_DISABLE_PLUGINS: generic" in job.output
    assert "remove it from SECONNECT_DISABLE_PLUGINS" in job.output
    shown = seconnect("carts", "show", "Shop")
    assert shown.exit_code == 0, shown.output
    assert gen.script_url in shown.output and "Not usable now:  Cart type 'Generic' is not available" in shown.output
    monkeypatch.delenv("SECONNECT_DISABLE_PLUGINS")
    assert seconnect("run", "import-orders", "--cart", "Shop").exit_code == 0
