"""`quarantine retry` for parked products and customers: a record whose cause is fixed is stored
through its import's own storing code and resolved; one that still fails stays parked, once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from orders_helpers import define_cart

from seconnect import hookimpl
from seconnect.cli import build_cli
from seconnect.jobs.import_customers import import_customers
from seconnect.jobs.import_products import import_products
from seconnect.jobs.quarantine import retry
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import tables

P, C, Q = tables.products, tables.product_cart_codes, tables.quarantine


class _Slipped:
    """Wraps the cart's plugin and slips records of its own into the first batch of products and
    of customers, as a broken cart script would."""

    def __init__(self, *, products: tuple[dict, ...] = (), customers: tuple[dict, ...] = ()):
        self.products, self.customers = list(products), list(customers)

    @staticmethod
    def _first_batch_plus(batches, extra: list[dict]) -> Iterator[list]:
        for n, batch in enumerate(batches):
            yield [*batch, *extra] if n == 0 else batch

    @hookimpl(wrapper=True)
    def import_products(self, cart, batch_size):
        batches = yield
        return self._first_batch_plus(batches, self.products)

    @hookimpl(wrapper=True)
    def import_customers(self, cart, batch_size):
        batches = yield
        return self._first_batch_plus(batches, self.customers)


@pytest.fixture(scope="module")
def gen() -> Iterator[Sandbox]:
    """A small generic cart, read only here: products with variations, and customers."""
    with Sandbox("generic", orders=0, products=6, customers=8, seed=21) as sb:
        yield sb


def _parked(store) -> dict[str | None, sa.Row]:
    with store.connect() as conn:
        return {r.external_id: r for r in conn.execute(sa.select(Q).order_by(Q.c.id))}


def _count(store, table, *where) -> int:
    with store.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def _edit_payload(store, row_id: int, record: dict) -> None:
    # json.dumps' defaults (ASCII escapes), not the import's own formatting of the payload
    with store.begin() as conn:
        conn.execute(sa.update(Q).where(Q.c.id == row_id).values(payload=json.dumps(record)))


BAD_PRICE = {"code": "BAD-PRICE", "web_id": "901", "name": "Bad Price Lamp", "price": "12,50"}
ORPHAN = {"code": "ORPHAN-BLUE", "web_id": "902", "name": "Lantern (Blue)", "price": "99.00",
          "variation": {"values": ["Blue"]}}
NO_CODE = {"code": "", "web_id": "900", "name": "Crème Lamp"}


def test_parked_products_are_stored_by_retry_once_fixed(store, gen):
    cart = define_cart(store, load_plugins(), gen)
    spoiled = load_plugins(extra=[("slipped", _Slipped(products=(BAD_PRICE, ORPHAN, NO_CODE)))])
    summary = import_products(store, spoiled, cart, attributes="sub-skus")
    assert summary["quarantined"] == 3
    products, codes = _count(store, P), _count(store, C)
    parked = _parked(store)
    assert set(parked) == {"900", "901", "902"} and {r.kind for r in parked.values()} == {"product"}
    plugins = load_plugins()  # a retry does not ask the cart: the parked payload is what it stores

    # nothing fixed: each stays parked with the reason, counted, and is not parked a second time
    results = retry(store, plugins, ids=None)
    assert [(r["id"], r["stored"]) for r in results] == [(parked[i].id, False) for i in ("901", "902", "900")]
    again = _parked(store)
    assert len(again) == _count(store, Q) == 3 and {r.attempts for r in again.values()} == {1}
    assert "$.price" in again["901"].reason and "names no parent" in again["902"].reason
    assert "$.code" in again["900"].reason and all(r.resolved_at is None for r in again.values())
    assert (_count(store, P), _count(store, C)) == (products, codes)

    # the causes fixed in the payloads of two: the price, and the variation's parent
    with store.connect() as conn:
        parent = conn.execute(sa.select(P.c.id, C.c.web_id).join(C, C.c.product_id == P.c.id).where(
            C.c.cart_id == cart.id, P.c.id.in_(sa.select(P.c.parent_id).where(P.c.parent_id.is_not(None))))
            .order_by(P.c.id)).first()
    assert parent is not None, "the sandbox catalogue has a product with variations"
    _edit_payload(store, parked["901"].id, {**BAD_PRICE, "price": "12.50"})
    _edit_payload(store, parked["902"].id, {**ORPHAN, "variation": {**ORPHAN["variation"],
                                                                   "parent_web_id": parent.web_id}})
    _edit_payload(store, parked["900"].id, NO_CODE)  # same record, ASCII-escaped: still not parked twice

    results = {r["id"]: r for r in retry(store, plugins, ids=None)}
    assert {i: results[parked[i].id]["stored"] for i in parked} == {"900": False, "901": True, "902": True}
    with store.connect() as conn:
        stored = {r.code: r for r in conn.execute(
            sa.select(C.c.code, C.c.web_id, P.c.sku, P.c.price, P.c.parent_id)
            .join(P, P.c.id == C.c.product_id).where(C.c.cart_id == cart.id, C.c.code.in_(["BAD-PRICE", "ORPHAN-BLUE"])))}
    assert stored["BAD-PRICE"].web_id == "901" and stored["BAD-PRICE"].sku == "BAD-PRICE"
    assert stored["BAD-PRICE"].price == 12.5 and stored["BAD-PRICE"].parent_id is None
    assert stored["ORPHAN-BLUE"].web_id == "902" and stored["ORPHAN-BLUE"].parent_id == parent.id
    assert (_count(store, P), _count(store, C)) == (products + 2, codes + 2)
    after = _parked(store)
    assert len(after) == _count(store, Q) == 3 and {r.attempts for r in after.values()} == {2}
    assert after["901"].resolved_at is not None and after["902"].resolved_at is not None
    assert after["900"].resolved_at is None and "$.code" in after["900"].reason
    assert [r["id"] for r in retry(store, plugins, ids=None)] == [parked["900"].id]  # resolved ones are done


BAD_EMAIL = {"web_id": "C-900", "username": "ada", "billing": {"first_name": "Ada", "last_name": "Quill", "email": 42}}
NO_ID = {"web_id": "", "billing": {"first_name": "Nobody", "email": "nobody.quill@example.test"}}


def test_parked_customers_are_stored_by_retry_once_fixed(store, db_url, gen):
    cart = define_cart(store, load_plugins(), gen)
    spoiled = load_plugins(extra=[("slipped", _Slipped(customers=(BAD_EMAIL, NO_ID)))])
    summary = import_customers(store, spoiled, cart)
    assert summary["quarantined"] == 2
    customers = _count(store, tables.customers)
    parked = _parked(store)
    assert set(parked) == {"C-900", ""} and {r.kind for r in parked.values()} == {"customer"}

    # nothing fixed: both stay parked, counted, once
    results = retry(store, load_plugins(), ids=[parked["C-900"].id])
    assert results == [{"id": parked["C-900"].id, "stored": False, "reason": results[0]["reason"]}]
    assert "$.billing.email" in results[0]["reason"]
    assert _count(store, Q) == 2 and _parked(store)["C-900"].attempts == 1
    assert _count(store, tables.customers) == customers

    # the email fixed in the payload; the record without a web id is left as it is
    _edit_payload(store, parked["C-900"].id, {**BAD_EMAIL, "billing": {**BAD_EMAIL["billing"],
                                                                       "email": "ada.quill@example.test"}})
    result = CliRunner().invoke(build_cli(), ["--db", db_url, "quarantine", "retry", "--all"])
    assert result.exit_code == 7, result.output  # one record is still parked: it needs you
    lines = result.output.splitlines()
    assert lines[0] == f"{parked['C-900'].id}: stored"
    assert lines[1].startswith(f"{parked[''].id}: still parked: ") and "$.web_id" in lines[1]

    links = tables.customer_web_ids
    with store.connect() as conn:
        [customer] = conn.execute(sa.select(tables.customers).join(
            links, links.c.customer_id == tables.customers.c.id).where(
            links.c.cart_id == cart.id, links.c.web_id == "C-900")).all()
    assert (customer.first_name, customer.last_name, customer.email) == ("Ada", "Quill", "ada.quill@example.test")
    assert customer.created_from == "customer import" and customer.source_cart_id == cart.id
    assert _count(store, tables.customers) == customers + 1
    after = _parked(store)
    assert len(after) == _count(store, Q) == 2
    assert after["C-900"].resolved_at is not None and after["C-900"].attempts == 2
    assert after[""].resolved_at is None and after[""].attempts == 1 and "$.web_id" in after[""].reason
