"""``/metrics``: the service's state in the Prometheus text format (prometheus_client).

Figures that live in the store (orders, runs, outbox, last successes) are read at each scrape,
so every instance sharing a store reports the same numbers; webhook deliveries are counted by the
instance that received them. Each :class:`Metrics` has its own registry (never the global one),
so several services in one process (tests) do not mix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from ..outbox import state_counts
from ..store import tables

if TYPE_CHECKING:
    from .core import Service

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreCollector(Collector):
    def __init__(self, service: Service):
        self.service = service

    def collect(self) -> Iterator[Metric]:
        t, c = tables, tables.carts
        with self.service.store.connect() as conn:
            orders = GaugeMetricFamily("seconnect_orders", "Orders in the store, by the cart they came from",
                                       labels=["cart"])
            for cart, n in conn.execute(select(c.c.name, func.count(t.orders.c.id))
                                        .select_from(t.orders.join(c, c.c.id == t.orders.c.cart_id))
                                        .group_by(c.c.name)):
                orders.add_metric([cart], n)
            yield orders

            # Finished runs only in the counter (it must never go down); running ones are a gauge.
            runs = CounterMetricFamily("seconnect_runs", "Finished job runs, by job and outcome",
                                       labels=["job", "outcome"])
            running = GaugeMetricFamily("seconnect_runs_running", "Job runs in progress", labels=["job"])
            for job, status, n in conn.execute(select(t.runs.c.job, t.runs.c.status, func.count())
                                               .group_by(t.runs.c.job, t.runs.c.status)):
                if status == "running":
                    running.add_metric([job], n)
                else:
                    runs.add_metric([job, status], n)
            yield runs
            yield running

            outbox = GaugeMetricFamily("seconnect_outbox_rows", "Outbox rows by state (pending + sending: the "
                                       "depth; parked: waiting for the merchant)", labels=["state"])
            for state, n in state_counts(conn).items():
                outbox.add_metric([state], n)
            yield outbox

            last = GaugeMetricFamily("seconnect_last_success_timestamp_seconds",
                                     "When each cart's job last finished ok (Unix time)", labels=["cart", "job"])
            r = t.runs
            for cart, job, at in conn.execute(select(c.c.name, r.c.job, func.max(r.c.finished_at))
                                              .select_from(r.join(c, c.c.id == r.c.cart_id))
                                              .where(r.c.status == "ok").group_by(c.c.name, r.c.job)):
                last.add_metric([cart, job], at.timestamp())
            yield last


class Metrics:
    def __init__(self, service: Service):
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(service))
        self.webhook_events = Counter("seconnect_webhook_events", "Webhook deliveries this instance received, "
                                      "by cart and outcome", ["cart", "outcome"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
