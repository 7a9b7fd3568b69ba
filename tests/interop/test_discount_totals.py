"""Issue 13-1: the order-level discount amount spelled ``Total`` (Stone Edge's Magento script),
either sign, and the check that an order's stored parts add up to its grand total."""

from __future__ import annotations

import pytest

from seconnect.orders import totals_note
from seconnect.seti import read_records


def _orders(body: str) -> list[dict]:
    doc = ('<?xml version="1.0"?><SETIOrders><Response><ResponseCode>1</ResponseCode>'
           f'<ResponseDescription>Success</ResponseDescription></Response>{body}</SETIOrders>')
    return read_records([doc.encode()], function="downloadorders", kind="orders")


_LINE = ("<Shipping><FullName>A B</FullName><Product><SKU>S-1</SKU><Name>Thing</Name><Quantity>2</Quantity>"
         "<ItemPrice>42.00</ItemPrice></Product></Shipping>")


@pytest.mark.parametrize(("amount", "stored"), [
    ("<Total>-8.4000</Total>", "8.4000"), ("<Total>8.40</Total>", "8.40"), ("<Amount>-8.40</Amount>", "8.40"),
    ("<Amount>8.4</Amount>", "8.40")])
def test_order_level_discount_amount_is_read_in_either_spelling_and_sign(amount, stored):
    [order] = _orders(f"<Order><OrderNumber>7</OrderNumber>{_LINE}"
                      f"<Discount><Description>10% off everything</Description>{amount}</Discount>"
                      "<Totals><ProductTotal>84.00</ProductTotal><SubTotal>84.00</SubTotal>"
                      "<GrandTotal>75.60</GrandTotal></Totals></Order>")
    assert order["totals"]["discounts"] == [{"description": "10% off everything", "amount": stored}]
    assert "Discount/Total" not in order["raw"] and "Discount/Amount" not in order["raw"]
    assert totals_note(order) is None  # SubTotal sent before the discount: 84.00 − 8.40 = 75.60


def test_coupon_total_is_a_positive_reduction():
    [order] = _orders("<Order><OrderNumber>8</OrderNumber><Coupon><Name>SAVE5</Name><Total>-5.00</Total></Coupon>"
                      "</Order>")
    assert order["coupons"] == [{"name": "SAVE5", "total": "5.00"}]


def _record(**totals) -> dict:
    return {"number": "1", "lines": [{"line_no": 1, "quantity": 2, "unit_price": "42.00", "total": "84.00"}],
            "totals": {"discounts": [], "surcharges": [], **totals}, "coupons": []}


@pytest.mark.parametrize("record", [
    _record(product_total="87.00", discounts=[{"amount": "5.00"}], subtotal="82.00", tax="4.61",
            shipping="9.00", surcharges=[{"total": "2.00"}], grand_total="97.61"),  # spec / Interspire
    _record(subtotal="84.00", discounts=[{"amount": "8.40"}], tax="1.00", grand_total="76.60"),  # Magento
    _record(discounts=[{"amount": "4.00"}], grand_total="80.00"),  # line totals only
    _record(product_total="84.00"),  # no grand total: nothing to check
])
def test_parts_that_add_up_leave_no_note(record):
    assert totals_note(record) is None


def test_parts_that_do_not_add_up_are_described():
    note = totals_note(_record(subtotal="84.00", tax="1.00", shipping="5.00", grand_total="97.00"))
    assert note == ("the parts add up to 90.00 (merchandise 84.00, discounts and coupons 0.00, tax, shipping and "
                    "surcharges 6.00), not to the grand total 97.00")


@pytest.mark.parametrize("profile", ["interspire", "generic"])
def test_sandbox_orders_add_up(store, plugins, tmp_path, profile):
    from seconnect import carts
    from seconnect.jobs.import_orders import import_orders
    from seconnect.sandbox import Sandbox

    with Sandbox(profile, orders=80, products=10, customers=10, seed=3, state_dir=tmp_path / "cart") as sb:
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name="Shop", cart_type=profile, user=sb.user, password=sb.password,
                           script_url=sb.script_url, ca_bundle=sb.ca_file)
            cart = carts.get_cart(conn, "Shop")
        assert import_orders(store, plugins, cart)["new"] > 0
    with store.connect() as conn:
        discounted = conn.exec_driver_sql("SELECT count(*) FROM orders WHERE discount_total > 0").scalar()
        notes = conn.exec_driver_sql("SELECT number, totals_note FROM orders WHERE totals_note IS NOT NULL").all()
    assert discounted > 0 and notes == []


def test_orders_show_says_when_totals_do_not_add_up(db_url, tmp_path):
    from click.testing import CliRunner

    from seconnect.cli import build_cli

    from .replay import ReplayCart, document, no_more

    page = document("SETIOrders", "<Order><OrderNumber>9</OrderNumber>" + _LINE +
                    "<Totals><ProductTotal>84.00</ProductTotal><SubTotal>84.00</SubTotal><GrandTotal>99.00</GrandTotal>"
                    "</Totals></Order>")
    run = CliRunner()
    with ReplayCart({"downloadorders": [page, no_more("SETIOrders")]}, tmp_path) as replay:
        assert run.invoke(build_cli(), ["--db", db_url, "carts", "add", "Shop", "--type", "Generic", "--user", "u",
                                        "--script-url", replay.script_url, "--ca-bundle", str(replay.ca_file),
                                        "--password-stdin"], input="pw\n").exit_code == 0
        assert run.invoke(build_cli(), ["--db", db_url, "run", "import-orders", "--cart", "Shop"]).exit_code == 0
    shown = run.invoke(build_cli(), ["--db", db_url, "orders", "show", "9", "--cart", "Shop"])
    assert "Totals do not add up: the parts add up to 84.00" in shown.output and "grand total 99.00" in shown.output
