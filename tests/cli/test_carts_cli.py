"""Cart definitions through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import sqlalchemy as sa
from cli_helpers import PASSWORD, URL, add, dump_db


def test_add_show_list_edit_remove(seconnect):
    result = add(seconnect)
    assert result.exit_code == 0, result.output
    assert "Cart 'Harbor' (Interspire) saved" in result.output

    shown = seconnect("carts", "show", "harbor", "--json")
    data = json.loads(shown.output)
    assert data["name"] == "Harbor" and data["type"] == "Interspire"
    assert data["settings"]["script_url"] == URL  # query string kept, no scheme
    assert data["settings"]["password"] == "********"
    assert data["setting_labels"]["user"] == "Cart ID/User Name"
    assert data["capabilities"]["status-updates"] == "unsupported"
    assert data["capabilities"]["realtime-levels"] == ["attribute", "product", "sub-sku"]

    text = seconnect("carts", "show", "Harbor").output
    assert "Cart ID/User Name:" in text and "UseGenericStatusUpdates to TRUE" in text
    assert "reach this cart for: variations the cart addresses by its own codes" in text
    assert "SynchQOH is FALSE for this cart" in text

    listed = json.loads(seconnect("carts", "list", "--json").output)
    assert [c["name"] for c in listed] == ["Harbor"]

    edited = seconnect("carts", "edit", "Harbor", "--name", "Harbor Lantern", "--script-url",
                       "https://shop.example.com/seti.php", "--inactive")
    assert edited.exit_code == 0, edited.output
    data = json.loads(seconnect("carts", "show", "Harbor Lantern", "--json").output)
    assert data["settings"]["script_url"] == "shop.example.com/seti.php" and data["active"] is False

    removed = seconnect("carts", "remove", "harbor lantern", "--yes")
    assert removed.exit_code == 0 and "removed" in removed.output
    assert json.loads(seconnect("carts", "list", "--json").output) == []


def test_alias_and_https_prefix(seconnect):
    result = add(seconnect, "BC", type_="seti", url="https://" + URL)
    assert result.exit_code == 0, result.output
    data = json.loads(seconnect("carts", "show", "BC", "--json").output)
    assert data["type"] == "Generic" and data["settings"]["script_url"] == URL


def test_prompted_password_must_match(seconnect, db_url):
    before = dump_db(db_url)
    result = seconnect("carts", "add", "Harbor", "--type", "Interspire", "--user", "u", "--script-url", URL,
                       input="secret-one\nsecret-two\n")
    assert result.exit_code == 2
    assert "the two passwords do not match; nothing was saved." in result.output
    assert "Traceback" not in result.output
    assert dump_db(db_url) == before

    ok = seconnect("carts", "add", "Harbor", "--type", "Interspire", "--user", "u", "--script-url", URL,
                   input="secret-one\nsecret-one\n")
    assert ok.exit_code == 0, ok.output
    assert "Cart Password" in ok.output and "Reenter Password" in ok.output
    assert "secret-one" not in ok.output


def test_bad_input_is_refused_and_store_unchanged(seconnect, db_url):
    assert add(seconnect).exit_code == 0
    before = dump_db(db_url)
    cases = [
        (add(seconnect, "HARBOR"), 2, "a cart named 'Harbor' already exists; Store Names must be unique."),
        (add(seconnect, "X", type_="shopify"), 2, "unknown cart type 'shopify'"),
        (add(seconnect, "X", url="http://" + URL), 2, "must not use http://"),
        (add(seconnect, "X", url="ftp://host/x"), 2, "unsupported scheme"),
        (add(seconnect, "X", url="host/x\r\nInjected: 1"), 2, "cannot contain"),
        (add(seconnect, "X", url="/just/a/path"), 2, "has no host name"),
        (add(seconnect, "X", "--ca-bundle", "/nonexistent/ca.pem"), 2, "does not exist"),
        (add(seconnect, "X", password=""), 2, "no password on standard input"),
        (seconnect("carts", "show", "Nope"), 2, "no cart named 'Nope'"),
        (seconnect("carts", "edit", "Harbor"), 2, "nothing to change"),
        (seconnect("carts", "edit", "Harbor", "--user", ""), 2, "Cart ID/User Name"),
    ]
    for result, code, message in cases:
        assert result.exit_code == code, result.output
        assert message in result.output, result.output
        assert "Traceback" not in result.output
    assert dump_db(db_url) == before


def test_password_never_shown_and_only_ciphertext_stored(seconnect, db_url):
    assert add(seconnect).exit_code == 0
    outputs = [seconnect("carts", "show", "Harbor", "--json").output, seconnect("carts", "show", "Harbor").output,
               seconnect("carts", "list", "--json").output, seconnect("-vv", "params", "list", "--cart", "Harbor").output]
    for out in outputs:
        assert PASSWORD not in out and "Tide-Pool" not in out
    assert "Tide-Pool" not in dump_db(db_url)


def test_carts_types_lists_both_matrices(seconnect):
    data = {t["id"]: t for t in json.loads(seconnect("carts", "types", "--json").output)}
    assert set(data) == {"Interspire", "Generic", "BigCommerce"}
    assert data["BigCommerce"]["capabilities"]["status-updates"] == "supported"
    assert data["Interspire"]["capabilities"]["status-updates"] == "unsupported"
    assert data["Interspire"]["aliases"] == []  # "bigcommerce" is left for the REST API type
    assert data["Generic"]["aliases"] == ["seti", "custom"]
    assert data["Generic"]["capabilities"]["status-updates"] == "supported"
    text = seconnect("carts", "types").output
    assert "inventory-realtime" in text and "Order Status Updates are not supported." in text


def test_remove_refuses_when_orders_exist(seconnect, db_url):
    from seconnect.store import open_store, tables

    assert add(seconnect).exit_code == 0
    store = open_store(db_url)
    with store.begin() as conn:
        cart_id = conn.execute(sa.select(tables.carts.c.id)).scalar_one()
        conn.execute(sa.insert(tables.orders).values(cart_id=cart_id, number="1041"))
    store.close()
    result = seconnect("carts", "remove", "Harbor", "--yes")
    assert result.exit_code == 2 and "--inactive" in result.output
