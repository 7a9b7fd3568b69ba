"""Issue 13-2/3: one bad record never aborts a batch — customers without WebID, orders and
products without their key, empty ``<Product />`` rows in ``downloadqoh`` — while a reply that is
not a SETI document still fails the call. Replies come from a replay cart over real HTTPS."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from seconnect import carts
from seconnect.errors import CartProtocolError
from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_orders import import_orders
from seconnect.jobs.import_products import import_products
from seconnect.jobs.inventory import inventory_get
from seconnect.store import tables

from .replay import ReplayCart, document, no_more


def _cart(store, plugins, replay: ReplayCart):
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Guid Shop", cart_type="Generic", user="seom.sync", password="pw",
                       script_url=replay.script_url, ca_bundle=str(replay.ca_file))
        return carts.get_cart(conn, "Guid Shop")


def _quarantined(store, kind: str) -> list[tuple]:
    q = tables.quarantine
    with store.connect() as conn:
        return conn.execute(select(q.c.external_id, q.c.reason).where(q.c.kind == kind)).all()


def _customer(web_id: str, first: str, email: str) -> str:
    return (f"<Customer>{web_id}<BillAddr><FirstName>{first}</FirstName><LastName>Lund</LastName>"
            f"{email}</BillAddr></Customer>")


CUSTOMERS = document("SETICustomers", "".join([
    _customer("<WebID>3f2504e0-4f89-11d3-9a0c-0305e82c3301</WebID>", "Ada", "<Email>ada@example.net</Email>"),
    _customer("", "Bo", "<Email>bo@example.net</Email>"),  # no WebID: matched by e-mail
    _customer("", "Cy", ""),  # no WebID and nothing to match by
]))


def test_customers_without_webid_import_and_an_unusable_one_is_quarantined(store, plugins, tmp_path):
    with ReplayCart({"downloadcustomers": [CUSTOMERS, no_more("SETICustomers")]}, tmp_path) as replay:
        cart = _cart(store, plugins, replay)
        first = import_customers(store, plugins, cart)
        assert (first["received"], first["created"], first["quarantined"]) == (3, 2, 1)
        [(external_id, reason)] = _quarantined(store, "customer")
        assert external_id is None and "no WebID" in reason and "Email" in reason
        replay.replies["downloadcustomers"] = [CUSTOMERS, no_more("SETICustomers")]
        again = import_customers(store, plugins, cart)
        assert again["created"] == 0 and again["matched"] == {"Email": 1, "web id link": 1}


def _order(number: str) -> str:
    return (f"<Order>{number}<OrderDate>2024-03-01 10:00:00</OrderDate><Billing><FullName>Ada Lund</FullName>"
            "<Email>ada@example.net</Email></Billing><Shipping><Product><SKU>A</SKU><Name>A</Name>"
            "<Quantity>1</Quantity><ItemPrice>5.00</ItemPrice></Product></Shipping>"
            "<Totals><ProductTotal>5.00</ProductTotal><GrandTotal>5.00</GrandTotal></Totals></Order>")


def test_an_order_without_a_number_is_quarantined_and_the_rest_imports(store, plugins, tmp_path):
    page = document("SETIOrders", _order("<OrderNumber>1</OrderNumber>") + _order("") + _order(
        "<OrderNumber>3</OrderNumber>"))
    with ReplayCart({"downloadorders": [page, no_more("SETIOrders")]}, tmp_path) as replay:
        summary = import_orders(store, plugins, _cart(store, plugins, replay))
    assert (summary["new"], summary["quarantined"], summary["checkpoint"]) == (2, 1, "3")
    assert "number" in _quarantined(store, "order")[0][1]


PRODUCTS = document("SETIProducts", "<Product><Code>A</Code><WebID>1</WebID><Name>A</Name><QOH>4</QOH></Product>"
                                    "<Product><Name>no code</Name></Product>"
                                    "<Product><Code>B</Code><WebID>2</WebID><Name>B</Name><QOH>2</QOH></Product>")
QOH = document("SETIProducts", "<Product><Code>A</Code><WebID>1</WebID><QOH>7</QOH></Product><Product />"
                               "<Product><Code>B</Code><WebID>2</WebID><QOH>1</QOH></Product><Product></Product>")


def test_products_without_code_and_empty_qoh_rows_do_not_abort(store, plugins, tmp_path):
    with ReplayCart({"downloadprods": [PRODUCTS, no_more("SETIProducts")], "downloadqoh": [QOH],
                     "getproductscount": [b"SETIResponse: itemcount=4"]}, tmp_path) as replay:
        cart = _cart(store, plugins, replay)
        products = import_products(store, plugins, cart)
        assert (products["created"], products["quarantined"]) == (2, 1)
        got = inventory_get(store, plugins, cart)
    assert (got["received"], got["skipped_no_code"], got["matched"], got["changed"]) == (4, 2, 2, 2)


def test_a_reply_that_is_not_a_seti_document_still_fails(store, plugins, tmp_path):
    with ReplayCart({"downloadcustomers": [b"<html><body>Maintenance</body></html>"],
                     "getcustomerscount": [b"SETIResponse: itemcount=2"]}, tmp_path) as replay:
        with pytest.raises(CartProtocolError, match="HTML page"):
            import_customers(store, plugins, _cart(store, plugins, replay))
