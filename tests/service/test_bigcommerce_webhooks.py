"""BigCommerce webhooks end to end: a real `seconnect serve` (subprocess, HTTPS on loopback, SQLite)
receives the REST sandbox's signed deliveries and imports each new order long before its hourly
schedule; duplicate and forged deliveries change nothing; a hook BigCommerce deactivated is
noticed by `carts webhooks`. Latencies are recorded, never asserted against a clock target."""

from __future__ import annotations

import json
import ssl
import statistics
import time

import httpx
import pytest
from ops.helpers import cli
from sqlalchemy import func, select

from seconnect.http import CartHTTP
from seconnect.sandbox import Sandbox
from seconnect.sandbox.bigcommerce import sign
from seconnect.store import open_store, tables

from .helpers import Served

ORDERS, BURST = 100, 5
ARRIVAL_BOUND_S = 30.0  # generous: a lost delivery would wait for the hourly schedule


@pytest.fixture
def bc(tmp_path):
    # quota=None: the latency of the pipeline is measured here, not BigCommerce's rate limit
    with Sandbox("bigcommerce", state_dir=tmp_path / "bc", orders=4, products=6, customers=3, quota=None) as sb:
        yield sb
    CartHTTP.close_shared()


def _ok(db_url: str, *args: str, input: str | None = None) -> str:
    from click.testing import CliRunner

    from seconnect.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["--db", db_url, *args], input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _add_cart(db_url: str, sb: Sandbox, *secrets: str) -> None:
    _ok(db_url, "carts", "add", "Shop", "--type", "BigCommerce", "--set", f"store_hash={sb.store_hash}",
        "--set", f"api_base={sb.api_base}", "--ca-bundle", sb.ca_file, "--secret-stdin",
        input="".join(f"{s}\n" for s in secrets))


def _count(store, table, *where) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _settled(store, timeout: float = 20.0) -> None:
    """Wait until no job run is in progress (the outbox worker's `realtime` always is) and no
    schedule is wanted: every event has been acted on."""
    deadline = time.monotonic() + timeout
    while True:
        with store.connect() as conn:
            busy = conn.execute(select(func.count()).select_from(tables.runs)
                                .where(tables.runs.c.finished_at.is_(None), tables.runs.c.job != "realtime")).scalar_one()
            wanted = conn.execute(select(func.count()).select_from(tables.schedules)
                                  .where(tables.schedules.c.wanted_at.is_not(None))).scalar_one()
        if not busy and not wanted:
            return
        if time.monotonic() > deadline:
            with store.connect() as conn:
                state = (conn.execute(select(tables.runs.c.job).where(tables.runs.c.finished_at.is_(None))).all(),
                         conn.execute(select(tables.schedules)).all())
            raise AssertionError(f"the service never settled: {state}")
        time.sleep(0.05)


def _delivered(sb: Sandbox, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(sb.webhook_deliveries()) < count:
        assert time.monotonic() < deadline, "the sandbox did not deliver"
        time.sleep(0.02)
    return sb.webhook_deliveries()


def test_client_secret_is_required_to_register(sqlite_url, bc, tmp_path):
    _add_cart(sqlite_url, bc, bc.password)
    refused = cli(sqlite_url, "carts", "webhooks", "Shop", "--url", "https://127.0.0.1:8443")
    assert refused.exit_code == 2
    assert "no client_secret" in refused.stderr and "seconnect carts edit Shop --secret" in refused.stderr
    assert "Traceback" not in refused.output
    assert httpx.get(f"https://{bc.api_base}/stores/{bc.store_hash}/v3/hooks", verify=ssl.create_default_context(cafile=bc.ca_file),
                     headers={"X-Auth-Token": bc.password}).json()["data"] == []  # nothing registered
    # the hint's command works: the access token again, then the client secret
    _ok(sqlite_url, "carts", "edit", "Shop", "--secret-stdin", input=f"{bc.password}\n{bc.client_secret}\n")
    done = _ok(sqlite_url, "carts", "webhooks", "Shop", "--url", "https://127.0.0.1:8443/")
    assert done.count("registered ") == 3 and "https://127.0.0.1:8443/hooks/Shop" in done
    assert bc.client_secret not in done


def test_orders_arrive_by_webhook_duplicates_and_forgeries_change_nothing(sqlite_url, bc, tmp_path):
    _add_cart(sqlite_url, bc, bc.password, bc.client_secret)
    _ok(sqlite_url, "run", "import-orders", "--cart", "Shop")  # the schedule's first run
    _ok(sqlite_url, "schedule", "add", "--cart", "Shop", "--job", "import-orders", "--every", "1h")
    store = open_store(sqlite_url)
    cert, key = bc.service_cert(tmp_path)  # the sandbox delivers over verified HTTPS
    served = Served(sqlite_url, "--tls-cert", cert, "--tls-key", key,
                    verify=ssl.create_default_context(cafile=bc.ca_file))
    try:
        served.wait_healthy()
        done = _ok(sqlite_url, "carts", "webhooks", "Shop", "--url", served.url)
        assert f"-> {served.url}/hooks/Shop" in done

        before = _count(store, tables.orders)
        created: dict[str, float] = {}
        arrived: dict[str, float] = {}
        o = tables.orders
        for _ in range(ORDERS // BURST):
            now = time.monotonic()
            created.update((number, now) for number in bc.add_orders(BURST))
            deadline = now + ARRIVAL_BOUND_S
            while len(arrived) < len(created):
                with store.connect() as conn:
                    found = conn.execute(select(o.c.number).where(o.c.number.in_(set(created) - set(arrived)))).all()
                seen = time.monotonic()
                arrived.update((number, seen) for (number,) in found)
                assert seen < deadline, f"orders {sorted(set(created) - set(arrived))} never arrived"
                time.sleep(0.01)
        latencies = sorted(arrived[n] - created[n] for n in created)
        print(f"webhook-to-store over {ORDERS} orders: p50 {statistics.median(latencies):.3f} s, "
              f"p99 {latencies[int(0.99 * len(latencies)) - 1]:.3f} s")
        assert len(arrived) == ORDERS and _count(store, o) == before + ORDERS

        # duplicates and forgeries: answered, absorbed, nothing runs and nothing is stored
        _settled(store)
        runs, events = _count(store, tables.runs), _count(store, tables.webhook_events)
        sent = len(bc.webhook_deliveries())
        assert bc.redeliver_last()
        assert _delivered(bc, sent + 1)[-1]["status"] == 200  # 200 duplicate, not 202 queued
        body = json.dumps({"scope": "store/order/created", "hash": "f0rged", "data": {"type": "order", "id": 1},
                           "producer": f"stores/{bc.store_hash}", "created_at": int(time.time())}).encode()
        stamp = int(time.time())
        for signature in (sign("guessed-secret", "f0rged", stamp, body), "v1,AAAA", ""):
            forged = httpx.post(f"{served.url}/hooks/Shop", content=body, verify=served.verify, headers={
                "webhook-id": "f0rged", "webhook-timestamp": str(stamp), "webhook-signature": signature})
            assert (forged.status_code, forged.json()["outcome"]) == (401, "rejected")
        _settled(store)
        assert (_count(store, tables.runs), _count(store, tables.webhook_events)) == (runs, events)
        assert _count(store, o) == before + ORDERS

        # BigCommerce switched the hooks off: `carts webhooks` says so and switches them back on
        bc.deactivate_hooks()
        bc.add_orders(1)
        assert len(bc.webhook_deliveries()) == sent + 1  # nothing is delivered while they are off
        again = _ok(sqlite_url, "carts", "webhooks", "Shop", "--url", served.url)
        assert again.count("had been deactivated by BigCommerce") == 3 and "reachable over HTTPS" in again
        [number] = bc.add_orders(1)
        deadline = time.monotonic() + ARRIVAL_BOUND_S
        while not _count(store, o, o.c.number == number):
            assert time.monotonic() < deadline, "the webhook switched back on brought nothing"
            time.sleep(0.02)
        assert served.stop()[0] == 0
    finally:
        served.kill()
        store.close()
