"""Text with terminal steering characters (ESC, BEL, CR, C1 controls, bidi overrides), from a
cart or from a user, is stored verbatim, shown escaped in text output, and stays exact in --json."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import Capabilities, Capability, CartType, OrderBatch, hookimpl
from seconnect.cli import build_cli
from seconnect.jobs.import_orders import import_orders
from seconnect.plugins import load_plugins
from seconnect.store import tables

# Clears the screen, rings, overwrites the line, an 8-bit CSI, a right-to-left override, a line break.
NASTY = "Lantern\x1b[2J\x07\rFAKE\x9b31m\u202eevil\u2066\nError: forged"
SHOWN = r"Lantern\x1b[2J\x07\x0dFAKE\x9b31m\u202eevil\u2066\x0aError: forged"
STEERING = ("\x1b", "\x07", "\r", "\x9b", "\u202e", "\u2066")


class Nasty:
    """A cart type whose one order carries steering characters in its name, SKU and line name."""

    @hookimpl
    def seconnect_cart_types(self):
        return [CartType(id="Nasty", label="Nasty", capabilities=Capabilities.declare(
            supported=[Capability.IMPORT_ORDERS]))]

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size):
        if cart.type != "Nasty":
            return None
        if checkpoint:
            return iter(())
        address = {"full_name": NASTY, "email": "a@example.test", "city": NASTY}
        return iter([OrderBatch([{
            "number": "1001", "date": "2024-03-01T10:00:00Z", "status": NASTY,
            "billing": address, "shipping": address,
            "lines": [{"line_no": 1, "sku": NASTY, "name": NASTY, "quantity": 1, "unit_price": "1.00",
                       "total": "1.00"}],
        }], "done")])


def _run(plugins, store, *args):
    result = CliRunner().invoke(build_cli(plugins), ["--db", store.engine.url.render_as_string(hide_password=False),
                                                     *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _assert_escaped(output: str) -> None:
    assert not any(ch in output for ch in STEERING), repr(output)
    assert SHOWN.replace(r"\x0a", "\n") not in output  # a value never breaks its line
    assert r"\x1b[2J" in output and r"\u202eevil" in output


def test_cart_text_is_stored_verbatim_and_shown_escaped(store):
    plugins = load_plugins(extra=[("nasty", Nasty())])
    from seconnect import carts

    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Nasty", cart_type="Nasty", user="u", password="p",
                       script_url="127.0.0.1/x")
        cart = carts.get_cart(conn, "Nasty")
    assert import_orders(store, plugins, cart)["new"] == 1
    with store.begin() as conn:
        assert conn.execute(sa.select(tables.order_lines.c.name)).scalar_one() == NASTY  # verbatim
    listing = _run(plugins, store, "orders", "list")
    _assert_escaped(listing)
    assert SHOWN in listing and len(listing.strip().splitlines()) == 2  # header + one row
    _assert_escaped(_run(plugins, store, "orders", "show", "1001", "--cart", "Nasty"))
    _assert_escaped(_run(plugins, store, "customers", "list"))
    raw = _run(plugins, store, "orders", "show", "1001", "--cart", "Nasty", "--json")
    assert not any(ch in raw for ch in STEERING)  # escaped as \uXXXX, which decodes to the same text
    record = json.loads(raw)["record"]
    assert record["lines"][0]["name"] == NASTY and record["billing"]["full_name"] == NASTY


def test_user_text_is_shown_escaped(store, plugins):
    from seconnect.inventory import set_quantity

    with store.begin() as conn:
        conn.execute(sa.insert(tables.products).values(sku="LNT-100", name="Lantern", qoh=1))
        set_quantity(conn, plugins, "LNT-100", 4, reason=NASTY)
    history = _run(plugins, store, "inventory", "history", "LNT-100")
    _assert_escaped(history)
    assert SHOWN in history
    [entry] = json.loads(_run(plugins, store, "inventory", "history", "LNT-100", "--json"))
    assert entry["reason"] == NASTY
