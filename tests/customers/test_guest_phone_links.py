"""Guest orders on a generated sandbox cart are never linked to someone else by a phone number.

The sandbox's guests include shoppers who typed the fictional 555-0199 or a registered
customer's household/office number under their own e-mail (issue 12, item 5: 485 of 14,419
orders of a 20k-order cart were linked to a customer with a different e-mail). Products →
customers → orders, default rules (Email, then Phone) and every phone rule; real HTTPS.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from seconnect import params
from seconnect.carts import add_cart, get_cart
from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_orders import import_orders
from seconnect.matching import facts_from_order, normalize_email, phone_digits
from seconnect.sandbox import Sandbox
from seconnect.store import tables


def _wrong_links(store, cart) -> list[tuple[str, str, str]]:
    """(order, its e-mail, its customer's e-mail) wherever both are non-empty and differ."""
    o, c = tables.orders, tables.customers
    with store.connect() as conn:
        rows = conn.execute(select(o.c.number, o.c.billing, o.c.shipping, c.c.email_norm)
                            .join(c, c.c.id == o.c.customer_id).where(o.c.cart_id == cart.id)).all()
    wrong = []
    for number, billing, shipping, theirs in rows:
        mine = normalize_email(facts_from_order({"billing": billing, "shipping": shipping}).email)
        if mine and theirs and mine != theirs:
            wrong.append((number, mine, theirs))
    return wrong


@pytest.mark.parametrize("profile", ["interspire", "generic"])
@pytest.mark.parametrize("rules", [("Email", "Phone"), ("Email", "Phone - No Formatting", "Name, Address, Zip")])
def test_guests_with_shared_numbers_keep_their_own_customer(store, plugins, profile, rules):
    with Sandbox(profile, orders=400, customers=60, seed=5) as sb:
        with store.begin() as conn:
            add_cart(conn, plugins, name="Shop", cart_type="Interspire" if profile == "interspire" else "Generic",
                     user=sb.user, password=sb.password, script_url=sb.script_url, ca_bundle=sb.ca_file)
            for n, rule in enumerate([*rules, *["None"] * (4 - len(rules))], start=1):
                params.set_value(conn, f"CustomerSearchField{n}", rule, None)
            cart = get_cart(conn, "Shop")
        held_customers = {phone_digits(c["phone"]) for c in sb.customers()} - {None}
        import_customers(store, plugins, cart)
        summary = import_orders(store, plugins, cart)
        downloadable = set(sb.downloadable_order_numbers())
        guests = [o for o in sb.orders() if o["customer_id"] is None and o["number"] in downloadable]
    # the cart reproduces the hazard: guests with the fictional number and with customers' numbers
    fictional = sum(o["billing"]["phone"] == "555-0199" for o in guests)
    customers_number = sum(phone_digits(o["billing"]["phone"]) in held_customers for o in guests)
    assert fictional >= 1 and customers_number >= 1 and fictional + customers_number >= 4
    assert summary["new"] == len(downloadable)
    assert _wrong_links(store, cart) == []
