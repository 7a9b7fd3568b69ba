"""Several `seconnect run realtime` worker processes on one real PostgreSQL store.

Workers are real subprocesses of the CLI; the carts are the two sandbox profiles; final
quantities are read from the sandboxes' own state.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from seconnect.inventory import adjust_quantity
from seconnect.store import tables

from .helpers import MAIN, cart_with_products, outbox_rows

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

NOT_TRACKED_AT_GENERIC = "MIL-105"


def _worker(db_url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*MAIN, "--db", db_url, "run", "realtime", "--follow", "--poll", "0.05", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(workers: list[subprocess.Popen]) -> list[dict]:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    summaries = []
    for w in workers:
        out, err = w.communicate(timeout=30)
        assert w.returncode == 0, err
        summaries.append(json.loads(out))
    return summaries


def _wait(store, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.begin() as conn:
            if predicate(conn):
                return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the workers")


def _drained(conn) -> bool:
    o = tables.outbox
    return not conn.execute(sa.select(o.c.id).where(o.c.state.in_(["pending", "sending"])).limit(1)).first()


def _skus(store) -> list[str]:
    p = tables.products
    with store.begin() as conn:
        return sorted(conn.execute(sa.select(p.c.sku).where(p.c.qoh.is_not(None), p.c.sku != NOT_TRACKED_AT_GENERIC))
                      .scalars())


def _assert_carts_equal_local(store, carts_by_id) -> int:
    """Every code of every tracked product holds the local quantity (never below 0). Returns how
    many codes were compared."""
    p, c = tables.products, tables.product_cart_codes
    with store.begin() as conn:
        rows = conn.execute(sa.select(c.c.cart_id, c.c.code, p.c.sku, p.c.qoh).join(p, p.c.id == c.c.product_id)
                            .where(p.c.qoh.is_not(None), p.c.sku != NOT_TRACKED_AT_GENERIC)).all()
    for row in rows:
        assert carts_by_id[row.cart_id].qoh(row.code) == max(row.qoh, 0), row
    return len(rows)


def test_two_worker_processes_deliver_every_change_once(store, plugins, isc, gen, db_url):
    shop_isc = cart_with_products(store, plugins, isc, "ISC")
    shop_gen = cart_with_products(store, plugins, gen, "GEN")
    isc.set_latency(20)  # deliveries take a moment, so both workers get their share
    gen.set_latency(20)
    skus = _skus(store)
    workers = [_worker(db_url), _worker(db_url)]
    try:
        rng = random.Random(5)
        for _ in range(25):
            with store.begin() as conn:
                for _ in range(8):
                    adjust_quantity(conn, plugins, rng.choice(skus), rng.choice([-3, -1, 1, 2, 5]))
            time.sleep(0.03)
        _wait(store, _drained)
    finally:
        summaries = _stop(workers)
    assert {r.state for r in outbox_rows(store)} == {"sent"}  # read-back checks included
    rows = outbox_rows(store, kind="inventory")
    # every change was delivered by exactly one worker, in exactly one delivery
    with store.begin() as conn:
        events = [e.detail for e in conn.execute(sa.select(tables.audit_events).where(
            tables.audit_events.c.event == "outbox-delivered")) if e.detail["kind"] == "inventory"]
    delivered = [i for e in events for i in e.get("sent", [])]
    assert rows and sorted(delivered) == sorted(r.id for r in rows)
    assert all(s["by_kind"]["inventory"]["sent"] > 0 for s in summaries), summaries
    assert sum(s["by_kind"]["inventory"]["sent"] for s in summaries) == len(rows)
    assert _assert_carts_equal_local(store, {shop_isc.id: isc, shop_gen.id: gen}) > 20


def test_a_worker_killed_mid_delivery_loses_nothing(store, plugins, isc, gen, db_url):
    shop_isc = cart_with_products(store, plugins, isc, "ISC")
    shop_gen = cart_with_products(store, plugins, gen, "GEN")
    gen.set_latency(3000)  # every reply takes 3 s: the first worker is surely in the middle of one
    with store.begin() as conn:
        for sku in _skus(store)[:8]:
            adjust_quantity(conn, plugins, sku, 4)
    first = _worker(db_url, "--lease", "2")
    try:
        _wait(store, lambda conn: conn.execute(sa.select(tables.outbox.c.id).where(
            tables.outbox.c.state == "sending", tables.outbox.c.cart_id == shop_gen.id).limit(1)).first(), 30)
        time.sleep(0.5)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    stuck = {r.id for r in outbox_rows(store, state="sending")}
    assert stuck
    gen.set_latency(0)
    second = _worker(db_url, "--lease", "2")
    try:
        _wait(store, _drained, 30)
    finally:
        [summary] = _stop([second])
    assert summary["requeued"] == len(stuck)
    rows = {r.id: r for r in outbox_rows(store)}
    assert {r.state for r in rows.values()} == {"sent"}
    assert all(rows[i].attempts == 1 and rows[i].last_error.startswith("interrupted") for i in stuck)
    _assert_carts_equal_local(store, {shop_isc.id: isc, shop_gen.id: gen})
