"""A cart that sends the same order twice — in one batch, or again in a later batch — ends up
with one stored order: the last copy wins, its lines replace the earlier ones, and the
customer link and first-import time stay."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from seconnect import Capabilities, Capability, CartType, OrderBatch, hookimpl
from seconnect.jobs.import_orders import import_orders
from seconnect.plugins import load_plugins
from seconnect.store import tables


def _order(number: str, total: str, sku: str) -> dict:
    billing = {"full_name": "Ada Lovelace", "email": "ada@example.org", "street1": "1 Main St",
               "postal_code": "12345", "country": "US"}
    return {"number": number, "billing": billing, "shipping": billing,
            "lines": [{"line_no": 1, "sku": sku, "name": sku, "quantity": 1, "unit_price": total, "total": total}],
            "totals": {"grand_total": total}}


class Repeating:
    """Batch 1 holds order 1 twice and order 2; batch 2 sends order 1 once more."""

    batches = [[_order("1", "10.00", "OLD"), _order("2", "5.00", "B"), _order("1", "12.50", "NEW")],
               [_order("1", "13.75", "NEWEST")]]

    @hookimpl
    def seconnect_cart_types(self):
        return [CartType(id="Repeating", label="Repeating", capabilities=Capabilities.declare(
            supported=[Capability.IMPORT_ORDERS]))]

    @hookimpl
    def import_orders(self, cart, checkpoint, batch_size):
        if cart.type != "Repeating":
            return None
        return iter([OrderBatch(records, records[-1]["number"]) for records in self.batches])


def test_an_order_repeated_in_one_batch_and_resent_later_is_stored_once(store):
    from seconnect import carts

    plugins = load_plugins(extra=[("repeating", Repeating())])
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="R", cart_type="Repeating", user="u", password="p",
                       script_url="127.0.0.1/x")
        cart = carts.get_cart(conn, "R")
    summary = import_orders(store, plugins, cart)
    assert (summary["received"], summary["new"], summary["updated"], summary["quarantined"]) == (4, 2, 1, 0)
    o, lines = tables.orders, tables.order_lines
    with store.begin() as conn:
        stored = conn.execute(sa.select(o.c.number, o.c.grand_total, o.c.customer_id).order_by(o.c.number)).all()
        skus = conn.execute(sa.select(lines.c.sku).join(o).where(o.c.number == "1")).scalars().all()
        customers = conn.execute(sa.select(sa.func.count()).select_from(tables.customers)).scalar_one()
    assert [(n, t) for n, t, _ in stored] == [("1", Decimal("13.75")), ("2", Decimal("5.00"))]
    assert skus == ["NEWEST"]
    assert customers == 1 and stored[0].customer_id == stored[1].customer_id
