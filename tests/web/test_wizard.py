"""The store setup wizard (pages) and its command-line twin, `seconnect carts add` with no options:
the same fields in the same order, from the cart type's schema; secrets typed twice, never shown."""

from __future__ import annotations

import re

import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import carts
from seconnect.cli import build_cli
from seconnect.store import open_store, tables

from .helpers import csrf_of


def _fields(html: str) -> list[str]:
    return re.findall(r'<label for="(?:set|secret|again)\.([a-z_]+)"', html)


def _post(client, path: str, data: dict):
    page = client.get(path if path != "/carts/new" else "/carts/new?type=Generic&name=x")
    return client.post(path, data={"csrf": csrf_of(page.text), **data})


def test_the_wizard_adds_tests_edits_and_imports_a_cart(client, served, gen):
    first = client.get("/carts/new")
    assert "Generic — Generic SETI script" in first.text and "Interspire" in first.text
    form = client.get("/carts/new?type=Generic&name=Web").text
    # the type's own labels, in its schema's order; the secret as two password inputs
    assert _fields(form) == ["user", "password", "password", "store_code", "script_url"]
    assert re.search(r'type="password" id="secret.password"', form) and "Reenter Password" in form
    settings = {"set.user": gen.user, "set.script_url": gen.script_url, "ca_bundle": gen.ca_file, "name": "Web",
                "type": "Generic"}

    r = _post(client, "/carts/new", {**settings, "secret.password": gen.password, "again.password": "typo"})
    assert r.status_code == 303 and "/carts/new?type=Generic" in r.headers["location"]
    assert "do not match; nothing was saved" in client.get(r.headers["location"]).text
    with served.store.begin() as conn:
        assert carts.list_carts(conn) == []

    r = _post(client, "/carts/new", {**settings, "secret.password": gen.password, "again.password": gen.password})
    assert r.headers["location"] == "/carts/Web/setup"
    setup = client.get("/carts/Web/setup").text.split("<main>")[1]  # not the menu
    steps = ["Test Script URL", "Attribute policy and product import", "Import customers", "Parameters", "Schedules"]
    assert [setup.index(s) for s in steps] == sorted(setup.index(s) for s in steps)

    tested = _post(client, "/carts/Web/test", {"check_credentials": "1"})
    assert "Test passed: Script version" in client.get(tested.headers["location"]).text

    edit = client.get("/carts/Web/edit").text
    assert gen.password not in edit and "Leave blank to keep it" in edit and f'value="{gen.user}"' in edit
    _post(client, "/carts/Web/edit", {"name": "Web", "set.user": gen.user, "set.script_url": gen.script_url,
                                      "ca_bundle": gen.ca_file, "secret.password": "", "again.password": ""})
    with served.store.begin() as conn:
        assert carts.get_cart(conn, "Web").password.reveal() == gen.password  # blank kept it

    done = _post(client, "/carts/Web/run/import-products", {"attributes": "sub-skus"})
    assert "import-products finished" in client.get(done.headers["location"]).text
    with served.store.begin() as conn:
        assert conn.execute(sa.select(tables.carts.c.attribute_mode)).scalar() == "sub-skus"
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.products)).scalar() > 0


def test_carts_add_without_options_asks_for_each_field_in_the_wizards_order(gen, seconnect_home):
    answers = ["Web", "generic", gen.user, gen.password, gen.password, "", gen.script_url, gen.ca_file, "y"]
    result = CliRunner().invoke(build_cli(), ["carts", "add"], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    out = result.output
    prompts = ["Store Name:", "Cart Type", "User Name", "Password:", "Reenter Password:", "Store Code (optional)",
               "Script URL:", "CA bundle file", "Test the Script URL now?"]
    assert [out.index(p) for p in prompts] == sorted(out.index(p) for p in prompts)
    assert "Test passed: Script version" in out and gen.password not in out
    store = open_store()
    with store.begin() as conn:
        cart = carts.get_cart(conn, "Web")
    store.close()
    assert cart.type == "Generic" and cart.password.reveal() == gen.password and cart.user == gen.user


def test_carts_add_with_options_but_no_type_says_what_is_missing(seconnect_home):
    result = CliRunner().invoke(build_cli(), ["carts", "add", "Web", "--user", "x"])
    assert result.exit_code == 2 and "--type is missing" in result.output
