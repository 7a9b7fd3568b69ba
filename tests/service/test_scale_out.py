"""Three `seconnect serve` processes on one PostgreSQL store, one killed with SIGKILL mid-run:
every scheduled slot runs once, no order is lost or imported twice, the outbox drains."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from inventory.helpers import cart_with_products

from seconnect.inventory import adjust_quantity
from seconnect.service import schedules
from seconnect.store import tables

from .helpers import Served

pytestmark = [pytest.mark.parametrize("db_url", ["postgresql"], indirect=True), pytest.mark.slow]

LEASE = "3"


def _rows(store, query):
    with store.connect() as conn:
        return conn.execute(query).all()


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.1)


def test_three_instances_share_the_work_and_survive_a_sigkill(store, plugins, gen, db_url):
    cart = cart_with_products(store, plugins, gen, "Shop")
    with store.begin() as conn:
        schedules.add(conn, plugins, cart, "import-orders", every_s=2)
        skus = sorted(conn.execute(sa.select(tables.products.c.sku).where(tables.products.c.qoh.is_not(None)))
                      .scalars())
    gen.set_latency(150)  # each cart call takes a moment: a run is in progress when we kill
    instances = [Served(db_url, "--lease", LEASE) for _ in range(3)]
    killed = None
    try:
        for served in instances:
            served.wait_healthy()
        rng = random.Random(16)
        started = time.monotonic()
        while time.monotonic() - started < 12:
            gen.add_orders(1)
            for _ in range(3):  # one transaction each, as three `inventory adjust` commands: one
                # transaction locking products in random order could deadlock with an import's sales
                with store.begin() as conn:
                    adjust_quantity(conn, plugins, rng.choice(skus), rng.choice([-1, 2, 4]))
            if killed is None and time.monotonic() - started > 3:
                running = _rows(store, sa.select(tables.runs.c.pid).where(
                    tables.runs.c.status == "running", tables.runs.c.job == "import-orders"))
                victims = [s for s in instances if s.proc.pid in {r.pid for r in running}]
                if victims:
                    killed = victims[0]
                    killed.proc.send_signal(signal.SIGKILL)
                    killed.proc.wait(10)
            time.sleep(0.3)
        assert killed is not None, "no instance was ever caught mid-run"
        expected = set(gen.downloadable_order_numbers())
        _wait(lambda: {r.number for r in _rows(store, sa.select(tables.orders.c.number))} >= expected, 60,
              "every order at the cart imported")
        _wait(lambda: not _rows(store, sa.select(tables.outbox.c.id).where(
            tables.outbox.c.state.in_(["pending", "sending"]))), 60, "the outbox drained")
        survivors = [s for s in instances if s is not killed]
        for served in survivors:
            code, err = served.stop()
            assert code == 0, err
    finally:
        for served in instances:
            served.kill()

    # No order lost or imported twice.
    numbers = [r.number for r in _rows(store, sa.select(tables.orders.c.number))]
    assert sorted(numbers) == sorted(expected) and len(numbers) == len(set(numbers))

    # Every slot of the schedule ran once: one release per due time, each with an ok run of its own.
    events = [e.detail | {"run_id": e.run_id} for e in _rows(store, sa.select(tables.audit_events.c.detail,
                                                                              tables.audit_events.c.run_id)
                                                            .where(tables.audit_events.c.event == "schedule-ran"))]
    dues = Counter(e["due"] for e in events)
    assert len(events) >= 4 and max(dues.values()) == 1, dues
    assert all(e["outcome"] == "ok" and e["lease_kept"] for e in events), events
    runs = _rows(store, sa.select(tables.runs.c.id, tables.runs.c.status, tables.runs.c.pid)
                 .where(tables.runs.c.job == "import-orders"))
    ok = {r.id for r in runs if r.status == "ok"}
    assert ok == {e["run_id"] for e in events}
    # The killed instance's run is abandoned, and the slot it held was run again by another instance.
    assert {r.pid for r in runs if r.status == "abandoned"} == {killed.proc.pid}
    assert all(r.status in ("ok", "abandoned") for r in runs)

    # The outbox: every change delivered, the cart holds the store's quantities. (SKUs at 0 or
    # below are left out: where the cart's own orders took its stock below 0 it stays there, since
    # a sale is not sent back to the cart it came from and carts are never sent less than 0.)
    assert {r.state for r in _rows(store, sa.select(tables.outbox.c.state))} == {"sent"}
    p, c = tables.products, tables.product_cart_codes
    rows = _rows(store, sa.select(c.c.code, p.c.qoh).join(p, p.c.id == c.c.product_id)
                 .where(p.c.qoh > 0, c.c.cart_id == cart.id))
    assert len(rows) > 5
    for row in rows:
        assert gen.qoh(row.code) == row.qoh, row
