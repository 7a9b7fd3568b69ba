"""upsert() and claim() on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, select, text, update

from seconnect.store import claim, open_store, upsert, utcnow
from seconnect.store import tables as t


def _products(conn) -> dict[str, tuple]:
    rows = conn.execute(select(t.products.c.sku, t.products.c.name, t.products.c.price)).all()
    return {r.sku: (r.name, r.price) for r in rows}


def test_inserts_then_updates(store) -> None:
    with store.begin() as conn:
        upsert(conn, t.products, [{"sku": "A", "name": "Apple", "price": Decimal("1.00")},
                                  {"sku": "B", "name": "Bean", "price": Decimal("2.00")}], ["sku"])
        upsert(conn, t.products, [{"sku": "B", "name": "Big bean", "price": Decimal("2.50")},
                                  {"sku": "C", "name": "Corn", "price": None}], ["sku"])
        assert _products(conn) == {"A": ("Apple", Decimal("1")), "B": ("Big bean", Decimal("2.5")),
                                   "C": ("Corn", None)}


def test_updates_only_the_named_columns(store) -> None:
    with store.begin() as conn:
        upsert(conn, t.products, [{"sku": "A", "name": "Apple", "price": Decimal("1")}], ["sku"])
        upsert(conn, t.products, [{"sku": "A", "name": "Renamed", "price": Decimal("9")}], ["sku"], ["price"])
        assert _products(conn) == {"A": ("Apple", Decimal("9"))}


def test_empty_update_list_ignores_existing_rows(store) -> None:
    with store.begin() as conn:
        upsert(conn, t.products, [{"sku": "A", "name": "Apple"}], ["sku"])
        inserted = upsert(conn, t.products, [{"sku": "A", "name": "Other"}, {"sku": "B", "name": "Bean"}],
                          ["sku"], [], returning=["sku"])
        assert [r.sku for r in inserted] == ["B"]
        assert _products(conn) == {"A": ("Apple", None), "B": ("Bean", None)}


def test_returning_gives_ids_of_inserted_and_updated_rows(store) -> None:
    with store.begin() as conn:
        first = upsert(conn, t.products, [{"sku": s, "name": s} for s in "XYZ"], ["sku"], returning=["sku", "id"])
        again = upsert(conn, t.products, [{"sku": s, "name": s.lower()} for s in "ZWX"], ["sku"],
                       returning=["sku", "id"])
    ids, ids_again = dict(map(tuple, first)), dict(map(tuple, again))
    assert sorted(ids) == ["X", "Y", "Z"] and sorted(ids_again) == ["W", "X", "Z"]
    assert ids_again["X"] == ids["X"] and ids_again["Z"] == ids["Z"]
    assert ids_again["W"] not in ids.values()


def test_repeated_keys_in_one_batch_keep_the_last(store) -> None:
    with store.begin() as conn:
        upsert(conn, t.products, [{"sku": "A", "name": "one"}, {"sku": "A", "name": "two"}], ["sku"])
        assert _products(conn) == {"A": ("two", None)}


def test_update_refreshes_updated_at(store) -> None:
    with store.begin() as conn:
        upsert(conn, t.products, [{"sku": "A", "name": "Apple"}], ["sku"])
        old = utcnow() - timedelta(days=1)
        conn.execute(update(t.products).values(updated_at=old))
        upsert(conn, t.products, [{"sku": "A", "name": "Apple 2"}], ["sku"])
        assert conn.scalar(select(t.products.c.updated_at)) > old + timedelta(hours=23)


def test_partial_index_target_for_global_parameters(store) -> None:
    global_only = text("cart_id IS NULL")
    with store.begin() as conn:
        for value in ("1", "2"):
            upsert(conn, t.params, [{"name": "P", "cart_id": None, "value": value}], ["name"], ["value"],
                   index_where=global_only)
        assert conn.execute(select(t.params.c.name, t.params.c.value)).all() == [("P", "2")]


def test_empty_input_is_a_no_op(store) -> None:
    with store.begin() as conn:
        assert upsert(conn, t.products, [], ["sku"], returning=["id"]) == []


def _queue(conn, n: int) -> None:
    cart = conn.execute(insert(t.carts).values(name="C", name_key="c", type="generic", script_url="x")
                        ).inserted_primary_key[0]
    conn.execute(insert(t.outbox), [{"cart_id": cart, "kind": "inventory", "key": f"SKU{i}",
                                     "payload": {"qoh": i}} for i in range(n)])


def test_claim_returns_due_work_in_order(store) -> None:
    with store.begin() as conn:
        _queue(conn, 5)
        conn.execute(update(t.outbox).where(t.outbox.c.key == "SKU1").values(state="sent"))
        rows = claim(conn, t.outbox, t.outbox.c.state == "pending", [t.outbox.c.id], 3)
    assert [r.key for r in rows] == ["SKU0", "SKU2", "SKU3"]


def test_claim_gives_concurrent_postgres_workers_disjoint_rows(pg_url: str) -> None:
    with open_store(pg_url) as store:
        with store.begin() as conn:
            _queue(conn, 10)
        pending = t.outbox.c.state == "pending"
        with store.begin() as first, store.begin() as second:
            a = claim(first, t.outbox, pending, t.outbox.c.id, 4)
            b = claim(second, t.outbox, pending, t.outbox.c.id, 4)
            c = claim(second, t.outbox, pending, t.outbox.c.id, 4)
        assert [r.key for r in a] == ["SKU0", "SKU1", "SKU2", "SKU3"]
        assert [r.key for r in b] == ["SKU4", "SKU5", "SKU6", "SKU7"]
        assert [r.key for r in c] == ["SKU4", "SKU5", "SKU6", "SKU7"]  # its own locks don't hide rows
