"""The dashboard's listings are paged and searchable through the same list services as the CLI:
a page is one query with a limit and an offset, whatever the number of orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from seconnect.store import tables, utcnow


def _orders(store, n: int) -> None:
    with store.begin() as conn:
        cart_id = conn.execute(sa.insert(tables.carts).values(
            name="Big", name_key="big", type="Generic", settings={}, secrets={}, active=True,
            created_at=utcnow(), updated_at=utcnow())).inserted_primary_key[0]
        smith = conn.execute(sa.insert(tables.customers).values(
            first_name="Ann", last_name="Smith", email="ann@example.test", email_norm="ann@example.test")
        ).inserted_primary_key[0]
        start = datetime(2024, 3, 1, tzinfo=UTC)
        conn.execute(sa.insert(tables.orders), [
            {"cart_id": cart_id, "number": str(1000 + i), "number_sort": 1000 + i, "status": "Order Received",
             "ordered_at": start + timedelta(days=i), "customer_id": smith if i % 10 == 0 else None,
             "imported_at": utcnow()} for i in range(n)])


def test_orders_are_paged_and_searched(client, served):
    _orders(served.store, 120)
    first = client.get("/api/orders").json()
    assert (first["total"], first["pages"], len(first["rows"])) == (120, 3, 50)
    third = client.get("/api/orders?page=3").json()
    assert [r["number"] for r in third["rows"]] == [str(1000 + i) for i in range(100, 120)]
    assert third["total"] == 120  # counted on the last page too
    assert [r["number"] for r in client.get("/api/orders?number=1042").json()["rows"]] == ["1042"]
    by_customer = client.get("/api/orders?customer=smi").json()["rows"]
    assert [r["number"] for r in by_customer] == [str(1000 + i) for i in range(0, 120, 10)]
    assert client.get("/api/orders?customer=ann@example.test").json()["total"] == 12
    window = client.get("/api/orders?since=2024-03-05&until=2024-03-08").json()["rows"]
    assert [r["number"] for r in window] == ["1004", "1005", "1006"]
    bad = client.get("/api/orders?since=March")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["hint"]
    page = client.get("/orders?customer=smi&page=1").text
    assert "/orders/Big/1110" in page and "/orders/Big/1001" not in page
    html = client.get("/orders?page=2").text
    assert "Page 2 of 3" in html and "page=3" in html


def test_products_are_searched_by_sku_or_name(client, served):
    with served.store.begin() as conn:
        conn.execute(sa.insert(tables.products), [{"sku": f"LAMP-{i}", "name": f"Lamp {i}"} for i in range(3)]
                     + [{"sku": "MUG_1", "name": "Blue mug"}, {"sku": "MUGX1", "name": "Red mug"}])
    assert [p["sku"] for p in client.get("/api/products?search=lamp").json()["rows"]] == ["LAMP-0", "LAMP-1", "LAMP-2"]
    assert [p["sku"] for p in client.get("/api/products?search=blue").json()["rows"]] == ["MUG_1"]
    assert [p["sku"] for p in client.get("/api/products?search=MUG_").json()["rows"]] == ["MUG_1"]  # _ is no wildcard


def test_the_orders_listing_never_sorts_every_order_and_pages_across_carts(web_store):
    """Ordering by cart name across the join made SQLite sort all orders for each page (slow with
    100k): each statement of a listing must walk an index, and pages still run cart by cart."""
    from sqlalchemy import event

    from seconnect import orders

    _orders(web_store, 60)  # cart "Big"
    with web_store.begin() as conn:
        early = conn.execute(sa.insert(tables.carts).values(
            name="Aardvark", name_key="aardvark", type="Generic", settings={}, secrets={}, active=True,
            created_at=utcnow(), updated_at=utcnow())).inserted_primary_key[0]
        conn.execute(sa.insert(tables.orders), [{"cart_id": early, "number": str(n), "number_sort": n,
                                                 "imported_at": utcnow()} for n in range(30)])
    statements: list[tuple[str, tuple]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(web_store.engine, "before_cursor_execute", seen)
    try:
        with web_store.begin() as conn:
            page = orders.list_orders(conn, limit=50, offset=20)
    finally:
        event.remove(web_store.engine, "before_cursor_execute", seen)
    assert page.total == 90
    assert [(r["cart"], r["number"]) for r in page] == (
        [("Aardvark", str(n)) for n in range(20, 30)] + [("Big", str(1000 + i)) for i in range(40)])
    with web_store.begin() as conn:
        plans = [" ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all())
                 for sql, params in statements if sql.lstrip().upper().startswith("SELECT")]
    assert plans and not [p for p in plans if "TEMP B-TREE FOR ORDER BY" in p], plans
