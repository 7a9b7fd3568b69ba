"""Column types and table rules behave the same on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError, StatementError

from seconnect.store import tables as t


def _cart(conn, name: str = "Main") -> int:
    return conn.execute(insert(t.carts).values(name=name, name_key=name.lower(), type="generic",
                                               settings={"script_url": "shop.example/seti.php"})).inserted_primary_key[0]


def _order(conn, cart_id: int, number: str = "1001", **values) -> int:
    return conn.execute(insert(t.orders).values(cart_id=cart_id, number=number, **values)).inserted_primary_key[0]


def test_money_is_exact_and_sums_exactly(store) -> None:
    with store.begin() as conn:
        cart = _cart(conn)
        for i, total in enumerate(["0.10", "0.20", "12345678901.2345", "-3.3333"]):
            _order(conn, cart, str(i), grand_total=Decimal(total))
        got = conn.scalars(select(t.orders.c.grand_total).order_by(t.orders.c.number)).all()
        total = conn.scalar(select(func.sum(t.orders.c.grand_total)))
    assert got == [Decimal("0.1"), Decimal("0.2"), Decimal("12345678901.2345"), Decimal("-3.3333")]
    assert all(isinstance(v, Decimal) for v in got)
    assert total == Decimal("12345678898.2012")


@pytest.mark.parametrize(("given", "stored"), [
    (0.1, Decimal("0.1")),                   # float read through its repr, not its binary value
    ("19.99", Decimal("19.99")),
    (5, Decimal("5")),
    (Decimal("1.00005"), Decimal("1.0001")),  # extra places round half-up
])
def test_money_accepts_common_inputs(store, given, stored) -> None:
    with store.begin() as conn:
        order = _order(conn, _cart(conn), grand_total=given)
        assert conn.scalar(select(t.orders.c.grand_total).where(t.orders.c.id == order)) == stored


def test_money_comparisons_run_on_scaled_values(store) -> None:
    with store.begin() as conn:
        cart = _cart(conn)
        _order(conn, cart, "1", grand_total=Decimal("9.99"))
        _order(conn, cart, "2", grand_total=Decimal("10.01"))
        over_ten = conn.scalars(select(t.orders.c.number).where(t.orders.c.grand_total > Decimal("10"))).all()
    assert over_ten == ["2"]


def test_money_refuses_garbage(store) -> None:
    with pytest.raises(StatementError, match="not a decimal amount"), store.begin() as conn:
        _order(conn, _cart(conn), grand_total="twelve")


def test_times_come_back_aware_in_utc(store) -> None:
    eastern = timezone(timedelta(hours=-5))
    placed = datetime(2024, 3, 10, 23, 30, 15, 123456, tzinfo=eastern)
    with store.begin() as conn:
        order = _order(conn, _cart(conn), ordered_at=placed)
        got = conn.scalar(select(t.orders.c.ordered_at).where(t.orders.c.id == order))
        imported = conn.scalar(select(t.orders.c.imported_at).where(t.orders.c.id == order))
    assert got == placed
    assert got.tzinfo == UTC and got.hour == 4
    assert imported.tzinfo == UTC


def test_naive_times_are_refused(store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.begin() as conn:
        _order(conn, _cart(conn), ordered_at=datetime(2024, 1, 1, 12, 0))


def test_json_round_trips_and_none_is_null(store) -> None:
    doc = {"Size": "L", "Colour": "Grün", "n": [1, 2.5, None]}
    with store.begin() as conn:
        order = _order(conn, _cart(conn), raw=doc, billing=None)
        row = conn.execute(select(t.orders.c.raw, t.orders.c.billing).where(t.orders.c.id == order)).one()
        nulls = conn.scalar(select(func.count()).where(t.orders.c.billing.is_(None)))
    assert row.raw == doc
    assert row.billing is None and nulls == 1


def test_deleting_a_cart_removes_what_means_nothing_without_it(store) -> None:
    with store.begin() as conn:
        cart = _cart(conn)
        conn.execute(insert(t.params).values(name="UseGenericStatusUpdates", cart_id=cart, value="TRUE"))
        conn.execute(insert(t.params).values(name="UseGenericStatusUpdates", cart_id=None, value="FALSE"))
        conn.execute(insert(t.checkpoints).values(cart_id=cart, job="import-orders", value="1041"))
        run = conn.execute(insert(t.runs).values(job="import-orders", cart_id=cart)).inserted_primary_key[0]
        conn.execute(delete(t.carts).where(t.carts.c.id == cart))
        assert conn.scalars(select(t.params.c.cart_id)).all() == [None]
        assert conn.scalar(select(func.count()).select_from(t.checkpoints)) == 0
        assert conn.scalar(select(t.runs.c.cart_id).where(t.runs.c.id == run)) is None


def test_a_cart_with_orders_cannot_be_deleted(store) -> None:
    with store.begin() as conn:
        cart = _cart(conn)
        _order(conn, cart)
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(delete(t.carts).where(t.carts.c.id == cart))


def test_order_children_go_with_the_order(store) -> None:
    with store.begin() as conn:
        order = _order(conn, _cart(conn))
        conn.execute(insert(t.order_lines).values(order_id=order, line_no=1, sku="A", quantity=Decimal("2.5")))
        conn.execute(insert(t.order_custom_fields).values(order_id=order, name="Gift", value="yes"))
        conn.execute(insert(t.order_status_history).values(order_id=order, label="Shipped"))
        conn.execute(delete(t.orders).where(t.orders.c.id == order))
        for child in (t.order_lines, t.order_custom_fields, t.order_status_history):
            assert conn.scalar(select(func.count()).select_from(child)) == 0


def test_one_global_value_per_parameter(store) -> None:
    with store.begin() as conn:
        conn.execute(insert(t.params).values(name="P", cart_id=None, value="1"))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(t.params).values(name="P", cart_id=None, value="2"))


def test_cart_names_are_unique_ignoring_case(store) -> None:
    with store.begin() as conn:
        _cart(conn, "Main")
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(t.carts).values(name="MAIN", name_key="main", type="generic", settings={"script_url": "x"}))


def test_states_are_checked(store) -> None:
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(t.outbox).values(cart_id=_cart(conn), kind="inventory", key="SKU", payload={},
                                             state="lost"))


@pytest.mark.parametrize(("number", "key"), [
    ("1041", 1041), ("#1041", 1041), ("WEB-2024-0007", 7), ("ABC", None), ("", None), ("9" * 30, None),
])
def test_order_number_sort(number: str, key: int | None) -> None:
    assert t.order_number_sort(number) == key
