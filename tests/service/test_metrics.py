"""`/metrics`: orders, runs by outcome, outbox depth and parked rows, last success per cart and job,
read from the store at each scrape (Prometheus text, parsed with the client library's parser)."""

from __future__ import annotations

import httpx
from ops.helpers import add_cart, cli
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from seconnect.service import Service
from seconnect.store import tables, utcnow
from seconnect.testing.service import bearer, live


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_report_the_store(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    assert cli(db_url, "run", "import-orders", "--cart", "Shop").exit_code == 0
    gen.set_faults("badauth")
    assert cli(db_url, "run", "import-customers", "--cart", "Shop").exit_code != 0
    with store.begin() as conn:
        for state in ("pending", "pending", "parked"):
            conn.execute(insert(tables.outbox).values(cart_id=cart.id, kind="inventory", key="SKU-1", payload={},
                                                      state=state, next_attempt_at=utcnow(), created_at=utcnow()))
    before = utcnow().timestamp()
    with live(Service(store, plugins), start=False) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401  # the dashboard's login guards it
        answer = httpx.get(f"{url}/metrics", headers=bearer(store))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    got = _samples(answer.text)
    assert got[("seconnect_orders", (("cart", "Shop"),))] == 12
    assert got[("seconnect_runs_total", (("job", "import-orders"), ("outcome", "ok")))] == 1
    assert got[("seconnect_runs_total", (("job", "import-customers"), ("outcome", "failed")))] == 1
    with store.begin() as conn:
        conn.execute(insert(tables.runs).values(job="import-products", cart_id=cart.id, status="running",
                                                started_at=utcnow(), heartbeat_at=utcnow(), host="elsewhere"))
    with live(Service(store, plugins), start=False) as url:
        got = _samples(httpx.get(f"{url}/metrics", headers=bearer(store)).text)
    assert got[("seconnect_runs_running", (("job", "import-products"),))] == 1
    assert not [k for k in got if k[0] == "seconnect_runs_total" and ("outcome", "running") in k[1]]
    assert got[("seconnect_outbox_rows", (("state", "pending"),))] == 2
    assert got[("seconnect_outbox_rows", (("state", "parked"),))] == 1
    last = got[("seconnect_last_success_timestamp_seconds", (("cart", "Shop"), ("job", "import-orders")))]
    assert before - 120 < last <= before
    assert ("seconnect_last_success_timestamp_seconds", (("cart", "Shop"), ("job", "import-customers"))) not in got
