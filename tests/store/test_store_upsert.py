"""upsert() and claim() on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, select, text, update

from seconnect.store import claim, insert_many, open_store, upsert, utcnow
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
    cart = conn.execute(insert(t.carts).values(name="C", name_key="c", type="generic", settings={"script_url": "x"})
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


# -- insert_many: the import's bulk inserts, compared with SQLAlchemy's own executemany ----------

def _order(conn) -> int:
    from seconnect.store.tables import carts

    cart_id = conn.execute(insert(carts).values(name="C", name_key="c", type="Generic", settings={"script_url": "https://x/"},
                                                created_at=utcnow(), updated_at=utcnow())
                           .returning(carts.c.id)).scalar_one()
    return conn.execute(insert(t.orders).values(cart_id=cart_id, number="1", imported_at=utcnow())
                        .returning(t.orders.c.id)).scalar_one()


def test_insert_many_stores_what_sqlalchemy_would(store) -> None:
    """Same typed values as conn.execute(insert(table), rows): decimal text, ints and Decimals
    for money and quantities, JSON (empty or not), NULLs, unicode."""
    with store.begin() as conn:
        order_id = _order(conn)

        def lines(first: int) -> list[dict]:
            return [
                {"order_id": order_id, "line_no": first, "sku": "Ä-1", "name": "抹茶 set", "quantity": 2,
                 "unit_price": "1396.60", "total": Decimal("2793.2"), "weight": "0.125",
                 "options": [{"name": "Size", "value": "L"}], "raw": {}},
                {"order_id": order_id, "line_no": first + 1, "sku": None, "name": None, "quantity": Decimal("2.5"),
                 "unit_price": None, "total": "-12.00", "weight": None, "options": [], "raw": {"k": ["a", "b"]}},
            ]

        insert_many(conn, t.order_lines, lines(1))
        conn.execute(insert(t.order_lines), lines(3))
        got = conn.execute(select(t.order_lines).order_by(t.order_lines.c.line_no)).mappings().all()
    fields = [{k: v for k, v in row.items() if k not in ("id", "line_no")} for row in got]
    assert fields[:2] == fields[2:]
    assert fields[0]["unit_price"] == Decimal("1396.60") and fields[0]["quantity"] == Decimal(2)
    assert fields[1]["quantity"] == Decimal("2.5") and fields[1]["raw"] == {"k": ["a", "b"]}
    assert fields[1]["options"] == [] and fields[1]["unit_price"] is None


def test_insert_many_refuses_bad_amounts_and_missing_defaults(store) -> None:
    import pytest

    with store.begin() as conn:
        order_id = _order(conn)
        with pytest.raises(ValueError, match="not a decimal amount: 'twelve'"):
            insert_many(conn, t.order_lines, [{"order_id": order_id, "line_no": 1, "quantity": 1,
                                               "unit_price": "twelve"}])
        # customers.created_at has a Python-side default SQLAlchemy would fill in; we make callers say it
        with pytest.raises(ValueError, match="give every column with a default"):
            insert_many(conn, t.customers, [{"email": "a@example.org"}])
        insert_many(conn, t.order_lines, [])  # nothing to do
        assert conn.execute(select(t.order_lines)).all() == []


def test_insert_many_compiles_each_shape_once(store) -> None:
    """Every batch of an import inserts rows of the same shape: the statement is compiled for
    the first and reused (a quarter of insert_many's time went to compiling); a row of another
    shape gets its own statement, and the values stored are the rows' own."""
    import importlib

    module = importlib.import_module("seconnect.store.upsert")  # the package's `upsert` is the function

    with store.begin() as conn:
        order_id = _order(conn)
        before = module._insert_plan.cache_info()
        for n in range(1, 4):
            insert_many(conn, t.order_lines, [{"order_id": order_id, "line_no": n, "quantity": n,
                                               "unit_price": f"{n}.50", "options": [], "raw": {}}])
        insert_many(conn, t.order_lines, [{"order_id": order_id, "line_no": 4, "quantity": 1, "sku": "S",
                                           "options": [], "raw": {}}])
        after = module._insert_plan.cache_info()
        got = conn.execute(select(t.order_lines.c.line_no, t.order_lines.c.unit_price, t.order_lines.c.sku)
                           .order_by(t.order_lines.c.line_no)).all()
    assert (after.misses - before.misses, after.hits - before.hits) == (2, 2)
    assert [tuple(r) for r in got] == [(1, Decimal("1.5"), None), (2, Decimal("2.5"), None),
                                       (3, Decimal("3.5"), None), (4, None, "S")]
