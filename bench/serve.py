"""`seconnect serve`: scheduler drift and webhook-to-store latency.

A generic sandbox cart and the service in this process (its app on a loopback port, the real
scheduler and outbox worker), on a SQLite store in a temporary directory (or ``--db URL``).

* **scheduler drift**: an ``import-orders`` schedule ``--every`` N seconds runs for
  ``--seconds``; drift per run = when the run started − when its slot was due. p50 / p99 / max.
* **webhook → store**: ``--orders`` times, one after another: an order is placed at the cart, a
  webhook is POSTed to ``/hooks/<cart>`` (as a cart would, over HTTP), and the clock stops when
  the order is in the store. The cart's own schedule is a daily one far away, so only the
  webhook can bring the order in. p50 / p99 / max.

Run: ``.venv/bin/python bench/serve.py [--orders 100] [--every 1] [--seconds 20] [--db URL]``.
Traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from seconnect import WebhookAction, carts, hookimpl
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.service import Service, schedules
from seconnect.store import open_store, tables, utcnow
from seconnect.testing.service import live


class _Webhooks:
    """The generic cart's webhook side, as a plugin would provide it (any delivery asks for an import)."""

    @hookimpl
    def webhook_received(self, cart, headers, body):
        if cart.type != "Generic":
            return None
        return WebhookAction.run("import-orders", dedupe_key=json.loads(body)["id"])


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


def _webhook_latency(store, plugins, cart, sb: Sandbox, args) -> list[float]:
    with store.begin() as conn:
        far = (utcnow() + timedelta(hours=12)).astimezone()
        schedules.add(conn, plugins, cart, "import-orders", at_time=f"{far:%H:%M}")
    numbers = tables.orders.c.number
    latencies = []
    service = Service(store, plugins)
    with live(service) as url, httpx.Client() as client:
        for i in range(args.orders):
            [number] = sb.add_orders(1)
            started = time.perf_counter()
            answer = client.post(f"{url}/hooks/Shop", content=json.dumps({"id": f"order-{number}-{i}"}))
            assert answer.status_code == 202, answer.text
            while True:
                with store.connect() as conn:
                    if conn.execute(sa.select(numbers).where(numbers == number)).first():
                        break
                time.sleep(0.005)
            latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100, help="webhook deliveries timed")
    parser.add_argument("--every", type=int, default=1, help="seconds between scheduled runs (drift)")
    parser.add_argument("--seconds", type=float, default=20, help="how long the drift schedule runs")
    parser.add_argument("--db", help="store URL (default: a SQLite file in a temporary directory)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seconnect-bench-serve-"))
    os.environ.setdefault("SECONNECT_KEY_FILE", str(work / "secret.key"))
    store = open_store(args.db or f"sqlite:///{work / 'store.db'}")
    plugins = load_plugins(extra=[("bench-webhooks", _Webhooks())])
    with Sandbox("generic", products=20, orders=50, customers=5, seed=7, state_dir=work / "cart") as sb:
        with store.begin() as conn:
            carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=sb.user, password=sb.password,
                           script_url=sb.script_url, ca_bundle=sb.ca_file)
            cart = carts.get_cart(conn, "Shop")
        print(f"store {store.url}; schedule every {args.every} s for {args.seconds:g} s; {args.orders} webhooks")
        print(_line("scheduler drift (run start - slot due)", _drift(store, plugins, cart, args)))
        print(_line("webhook -> order in the store", _webhook_latency(store, plugins, cart, sb, args)))
    store.close()


if __name__ == "__main__":
    main()
