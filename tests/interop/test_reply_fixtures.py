"""Reply fixtures, one per script family (Stone Edge's Magento script, MerchantTribe, Southern
Exposure's Haskell server, the ISC/BigCommerce module), written from the facts in
seti-protocol.md: each imports through the real client and store (a replay cart over HTTPS) with
every order's lines, totals, discount and customer as the script sent them."""

from __future__ import annotations

import pytest

from seconnect import carts
from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_orders import import_orders
from seconnect.orders import order_details

from .replay import ReplayCart, fixture, no_more

# number -> (lines (sku, name, quantity, unit price, total), totals, discounts, customer (name, e-mail))
MAGENTO = {
    "100000021": ([("MUG-01", "Tide Mug", 2, "12.00", "24.00"), ("TEE-RED-L", "Harbor Tee", 1, "60.00", "60.00")],
                  {"product_total": "84.00", "subtotal": "84.00", "tax": "3.78", "shipping": "10.00",
                   "grand_total": "89.38"},
                  [{"description": "10% off everything", "amount": "8.4000"}], ("Ines Calloway", "ines@example.org")),
    "100000022": ([("MUG-01", "Tide Mug", 1, "12.00", "12.00")],
                  {"product_total": "12.00", "subtotal": "12.00", "tax": "0.60", "shipping": "5.00",
                   "grand_total": "17.60"}, [], ("Teo Marsh", "teo@example.org")),
}
MERCHANTTRIBE = {
    "MT-5003": ([("KAYAK-10", "Sea Kayak 10 ft", 1, "499.00", "499.00"), ("PADDLE", "Carbon Paddle", 2, "45.50", "91.00")],
                {"product_total": "590.00", "subtotal": "570.00", "tax": "0.00", "shipping": "25.00",
                 "grand_total": "600.00"},
                [{"type": "Flat", "description": "Spring coupon", "amount": "20.00", "apply": "Pre"}],
                ("Priya Okafor", "priya@example.com")),
    "MT-5004": ([("PADDLE", "Carbon Paddle", 1, "45.50", "45.50")],
                {"product_total": "45.50", "subtotal": "45.50", "shipping": "8.00", "grand_total": "53.50"}, [],
                ("Priya Okafor", "priya@example.com")),
}
HASKELL = {
    "4417": ([("10102-A", "Cherokee Purple Tomato", 3, "3.50", "10.50"), ("20411-B", "Seed Garlic", 1, "18.00", "18.00")],
             {"product_total": "28.50", "subtotal": "25.65", "tax": "1.53", "shipping": "6.00", "grand_total": "33.18"},
             [{"type": "Flat", "description": "Member discount", "amount": "2.85", "apply": "Pre"}],
             ("Wren Abernathy", "wren@example.net")),
    "4418": ([("10102-A", "Cherokee Purple Tomato", 1, "3.50", "3.50")],
             {"product_total": "3.50", "subtotal": "3.50", "tax": "0.00", "shipping": "6.00", "grand_total": "9.50"},
             [], ("Jun Park", "jun@example.net")),
}
ISC = {
    "2207": ([("LNT-100", "Harbor Lantern", 2, "24.00", "48.00"), ("CLK-9", "Anchor Clock", 1, "1250.00", "1250.00")],
             {"product_total": "1298.00", "subtotal": "1293.00", "tax": "64.65", "shipping": "7.00",
              "grand_total": "1366.65"}, [{"amount": "5.00"}], ("Odile Varga", "odile@example.com")),
    "2209": ([("LNT-100", "Harbor Lantern", 1, "24.00", "24.00")],
             {"product_total": "24.00", "subtotal": "24.00", "shipping": "7.00", "grand_total": "31.00"}, [],
             ("Sam Reyes", "sam@example.com")),
}

_MONEY = ("product_total", "subtotal", "tax", "shipping", "grand_total")
FAMILIES = {
    # family: (cart type, fixture prefix, version, count reply prefix, expected)
    "magento": ("Generic", "magento", "1.243", "SETIResponse", MAGENTO),
    "merchanttribe": ("Generic", "merchanttribe", "5.900", "SETIResponse", MERCHANTTRIBE),
    "haskell": ("Generic", "haskell", "1.000", "SETIResponse", HASKELL),
    "isc": ("Interspire", "isc", "6.000", "SetiResponse", ISC),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_script_family_imports_as_sent(store, plugins, tmp_path, family):
    cart_type, prefix, version, count_prefix, expected = FAMILIES[family]
    customers = fixture(f"{prefix}_customers.xml")
    replies = {
        "ordercount": [f"{count_prefix}: ordercount={len(expected)}".encode()],
        "downloadorders": [fixture(f"{prefix}_orders.xml"), no_more("SETIOrders")],
        "getcustomerscount": [f"{count_prefix}: itemcount={customers.count(b'<Customer>')}".encode()],
        "downloadcustomers": [customers, no_more("SETICustomers")],
    }
    with ReplayCart(replies, tmp_path, version=version) as replay:
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name=family, cart_type=cart_type, user="seom.sync", password="pw",
                           script_url=replay.script_url, ca_bundle=str(replay.ca_file))
            cart = carts.get_cart(conn, family)
        people = import_customers(store, plugins, cart)
        summary = import_orders(store, plugins, cart)
    assert people["quarantined"] == 0 and summary["quarantined"] == 0
    assert summary["new"] == len(expected) and summary["checkpoint"] == list(expected)[-1]
    with store.connect() as conn:
        for number, (lines, totals, discounts, (name, email)) in expected.items():
            details = order_details(conn, family, number)
            record = details["record"]
            assert [(x["sku"], x["name"], x["quantity"], x["unit_price"], x["total"]) for x in record["lines"]] \
                == lines, number
            assert {k: record["totals"][k] for k in _MONEY if k in record["totals"]} == totals, number
            assert record["totals"].get("discounts", []) == discounts, number
            assert details["totals_note"] is None, number
            assert (details["customer"]["name"], details["customer"]["email"]) == (name, email), number
            assert details["customer_match"] in ("web id link", "Email"), number
