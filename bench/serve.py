"""`seconnect serve`: scheduler drift, webhook-to-store latency, dashboard page times.

The service in this process (its app on a loopback port, the real scheduler and outbox worker),
on a SQLite store in a temporary directory (or ``--db URL``).

* **scheduler drift** (a generic sandbox cart): an ``import-orders`` schedule ``--every`` N
  seconds runs for ``--seconds``; drift per run = run start − slot due. p50 / p99 / max.
* **webhook → store** (a BigCommerce REST sandbox cart, its hooks registered with the service
  over verified HTTPS, import-orders scheduled hourly): ``--orders`` orders placed one after
  another; the clock runs from the order's creation at the cart (which signs and delivers the
  webhook itself) until the order is in the store. p50 / p99 / max; target p99 < 2 s.
* **dashboard pages** with ``--big`` orders (and a fifth as many products, runs and outbox
  rows) bulk-inserted: a logged-in session requests each list page (orders, products, runs,
  outbox; first and last page) ``--repeat`` times. p50 / p99 per page; target p99 < 200 ms.

Run: ``.venv/bin/python bench/serve.py [--orders 100] [--every 1] [--seconds 20] [--big 100000]
[--repeat 30] [--db URL]``. Traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from seconnect import carts, users
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.service import Service, schedules
from seconnect.service.webhooks import register
from seconnect.store import open_store, tables, utcnow
from seconnect.testing.service import live

USER, PASSWORD = "bench", "bench-password-123"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _line(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (f"{name}: {len(ms)} samples, p50 {statistics.median(ms):.0f} ms, p99 {_percentile(ms, 0.99):.0f} ms, "
            f"max {max(ms):.0f} ms")


def _drift(store, plugins, cart, args) -> list[float]:
    with store.begin() as conn:
        added = schedules.add(conn, plugins, cart, "import-orders", every_s=args.every)
    service = Service(store, plugins)
    with live(service):
        time.sleep(args.seconds)
    with store.begin() as conn:
        rows = conn.execute(sa.select(tables.audit_events.c.detail, tables.runs.c.started_at)
                            .join(tables.runs, tables.runs.c.id == tables.audit_events.c.run_id)
                            .where(tables.audit_events.c.event == "schedule-ran")).all()
        schedules.remove(conn, added.id)
    return [max(0.0, (r.started_at - datetime.fromisoformat(r.detail["due"])).total_seconds())
            for r in rows if r.detail["schedule"] == added.id and r.detail["due"]]


def _webhook_latency(store, plugins, work: Path, args) -> list[float]:
    numbers = tables.orders.c.number
    latencies = []
    with Sandbox("bigcommerce", orders=1, products=20, customers=5, seed=7, state_dir=work / "bc", quota=None) as bc:
        with store.begin() as conn:
            cart = carts.add_cart(conn, plugins, name="BC Shop", cart_type="BigCommerce", ca_bundle=bc.ca_file,
                                  settings={"store_hash": bc.store_hash, "api_base": bc.api_base},
                                  secrets={"access_token": bc.password, "client_secret": bc.client_secret})
            schedules.add(conn, plugins, cart, "import-orders", every_s=3600)
        with live(Service(store, plugins), tls=bc.service_cert(work / "tls")) as url:
            register(plugins, cart, url, remove=False)
            for _ in range(args.orders):
                started = time.perf_counter()
                [number] = bc.add_orders(1)
                while True:
                    with store.connect() as conn:
                        if conn.execute(sa.select(numbers).where(numbers == number)).first():
                            break
                    time.sleep(0.002)
                latencies.append(time.perf_counter() - started)
    return latencies


def _fill(store, n: int) -> None:
    """``n`` orders, and n/5 products, runs and outbox rows, inserted in bulk."""
    now, chunk = utcnow(), 10_000
    with store.begin() as conn:
        cart_id = conn.execute(sa.insert(tables.carts).values(
            name="Big", name_key="big", type="Generic", settings={}, secrets={}, active=True,
            created_at=now, updated_at=now)).inserted_primary_key[0]
        for start in range(0, n, chunk):
            conn.execute(sa.insert(tables.orders), [
                {"cart_id": cart_id, "number": str(i), "number_sort": i, "status": "Order Received",
                 "ordered_at": now - timedelta(minutes=n - i), "imported_at": now}
                for i in range(start, min(n, start + chunk))])
        conn.execute(sa.insert(tables.products), [{"sku": f"SKU-{i:06d}", "name": f"Product {i}"}
                                                  for i in range(n // 5)])
        conn.execute(sa.insert(tables.runs), [
            {"job": "import-orders", "cart_id": cart_id, "started_at": now - timedelta(minutes=i),
             "finished_at": now - timedelta(minutes=i), "status": "ok"} for i in range(n // 5)])
        conn.execute(sa.insert(tables.outbox), [
            {"cart_id": cart_id, "kind": "inventory", "key": f"SKU-{i:06d}", "payload": {"qoh": i},
             "state": "parked" if i % 10 == 0 else "pending", "next_attempt_at": now, "created_at": now}
            for i in range(n // 5)])
        users.add_user(conn, USER, PASSWORD)


def _pages(store, plugins, args) -> dict[str, list[float]]:
    import re

    _fill(store, args.big)
    times: dict[str, list[float]] = {}
    with live(Service(store, plugins), start=False) as url, httpx.Client(base_url=url, timeout=30) as client:
        login = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
        answer = client.post("/login", data={"name": USER, "password": PASSWORD, "csrf": csrf, "next": "/"})
        assert answer.status_code == 303, answer.text
        for page in ("/orders", "/products", "/runs", "/outbox"):
            last = client.get(f"/api{page}").json()["pages"]
            for path in (page, f"{page}?page={last}"):
                client.get(path)  # warm
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200, path
                    times.setdefault(path, []).append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100, help="webhook deliveries timed")
    parser.add_argument("--every", type=int, default=1, help="seconds between scheduled runs (drift)")
    parser.add_argument("--seconds", type=float, default=20, help="how long the drift schedule runs")
    parser.add_argument("--big", type=int, default=100_000, help="orders in the store for the page times")
    parser.add_argument("--repeat", type=int, default=30, help="requests per dashboard page")
    parser.add_argument("--db", help="store URL (default: a SQLite file in a temporary directory)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seconnect-bench-serve-"))
    os.environ.setdefault("SECONNECT_KEY_FILE", str(work / "secret.key"))
    store = open_store(args.db or f"sqlite:///{work / 'store.db'}")
    plugins = load_plugins()
    print(f"{datetime.now():%Y-%m-%d}: store {store.url}; schedule every {args.every} s for {args.seconds:g} s; "
          f"{args.orders} orders by webhook; pages with {args.big} orders")
    with Sandbox("generic", products=20, orders=50, customers=5, seed=7, state_dir=work / "cart") as sb:
        with store.begin() as conn:
            cart = carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=sb.user, password=sb.password,
                                  script_url=sb.script_url, ca_bundle=sb.ca_file)
        print(_line("scheduler drift (run start - slot due)", _drift(store, plugins, cart, args)))
    print(_line("webhook -> order in the store (BigCommerce)", _webhook_latency(store, plugins, work, args)))
    for path, seconds in _pages(store, plugins, args).items():
        print(_line(f"page {path}", seconds))
    store.close()


if __name__ == "__main__":
    main()
