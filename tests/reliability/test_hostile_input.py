"""Hostile and broken input end to end: stored verbatim or refused clearly, never a crash or hang."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import Capabilities, Capability, CartDefinition, CartType, OrderBatch, Secret, hookimpl
from seconnect.cli import build_cli
from seconnect.errors import CartProtocolError
from seconnect.jobs.import_orders import import_orders
from seconnect.plugins import load_plugins
from seconnect.seti import SetiClient
from seconnect.store import tables

EVIL = [
    "1'; DROP TABLE orders; --",
    "$(rm -rf /) `reboot` && echo pwned",
    "<script>alert(1)</script>",
    "Robert'); DELETE FROM customers WHERE ('1'='1",
    "%s%s%s %n {0} {cart.password}",
    "\u202eevil\u200b\ufeff 漢字 🛒",
]


class Hostile:
    """A cart type whose orders carry SQL-, shell- and format-looking text in every field."""

    @hookimpl
    def seconnect_cart_types(self):
        return [CartType(id="Hostile", label="Hostile", capabilities=Capabilities.declare(
            supported=[Capability.IMPORT_ORDERS, Capability.CUSTOM_ORDER_FIELDS]))]

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size):
        if cart.type != "Hostile":
            return None
        if checkpoint:  # everything was sent the first time
            return iter(())
        records = []
        for i, text in enumerate(EVIL):
            address = {k: text for k in ("full_name", "company", "phone", "email", "street1", "city", "state",
                                         "postal_code", "country")}
            records.append({
                "number": text if i else "1",
                "date": text,
                "billing": address, "shipping": address,
                "lines": [{"line_no": 1, "sku": text, "name": text, "quantity": -2, "unit_price": "-0.01",
                           "total": "0.02", "options": [{"name": text, "value": text}]}],
                "other": {"instructions": text, "comments": text},
                "custom_fields": [{"name": text, "value": text}],
                "raw": {text: text},
            })
        return iter([OrderBatch(records, "done")])


def test_evil_strings_are_stored_verbatim(store, tmp_path):
    plugins = load_plugins(extra=[("hostile", Hostile())])
    from seconnect import carts

    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Evil", cart_type="Hostile", user="u", password="p",
                       script_url="127.0.0.1/x")
        cart = carts.get_cart(conn, "Evil")
    summary = import_orders(store, plugins, cart)
    assert summary["new"] == len(EVIL) and summary["quarantined"] == 0
    with store.begin() as conn:
        numbers = set(conn.execute(sa.select(tables.orders.c.number)).scalars())
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.customers)).scalar_one() >= 1
        names = set(conn.execute(sa.select(tables.order_lines.c.name)).scalars())
    assert numbers == {"1", *EVIL[1:]} and names == set(EVIL)
    result = CliRunner().invoke(build_cli(plugins), ["--db", store.engine.url.render_as_string(hide_password=False),
                                                     "orders", "show", EVIL[1], "--cart", "Evil", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["record"]["other"]["instructions"] == EVIL[1]


def _client(handler) -> SetiClient:
    cart = CartDefinition(name="x", type="Generic", user="u", password=Secret("pw"), script_url="shop.test/s.php")
    return SetiClient.for_cart(cart, transport=httpx.MockTransport(handler), max_reply_bytes=1_000_000)


@pytest.mark.parametrize("body, fragment", [
    (b"<SETIOrders>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</SETIOrders>", "SETIOrders"),
    (b"\x00\x00\x00SETIResponse: ordercount=\x00", ""),
    (b"<SETIOrders><Response><ResponseCode>1</Response>", ""),
    (b"\xff\xfe\xfa garbage that is not a reply", ""),
])
def test_broken_replies_give_a_clear_error(body, fragment):
    with _client(lambda request: httpx.Response(200, content=body)) as client:
        with pytest.raises(CartProtocolError) as err:
            client.download_orders(lastorder="All", startnum=1, batchsize=10)
    assert fragment in str(err.value)


def test_endless_reply_is_cut_at_the_size_cap():
    def endless():
        yield b"<SETIOrders><Response><ResponseCode>1</ResponseCode></Response>"
        while True:
            yield b"<Order><OrderNumber>1</OrderNumber></Order>" * 1000

    with _client(lambda request: httpx.Response(200, content=endless())) as client:
        with pytest.raises(CartProtocolError, match="larger than"):
            client.download_orders(lastorder="All", startnum=1, batchsize=10)
