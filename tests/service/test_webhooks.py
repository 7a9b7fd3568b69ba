"""`POST /hooks/<cart>` over real HTTP: the plugin judges, duplicates are absorbed, forged
deliveries change nothing, a burst becomes one run (one more if it came during a run), and
`carts webhooks` hands registration to the plugin."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from click.testing import CliRunner
from ops.helpers import add_cart
from sqlalchemy import func, select

from seconnect import WebhookAction, hookimpl
from seconnect.cli import build_cli
from seconnect.plugins import load_plugins
from seconnect.service import Service, schedules
from seconnect.store import tables
from seconnect.testing.service import bearer, live

from .test_schedules import _run_pass

TOKEN = "hook-s3cret"


class HookCart:
    """A cart type's webhook side, as a plugin would write it (for the generic sandbox's carts)."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, bool]] = []

    @hookimpl
    def webhook_received(self, cart, headers, body):
        if cart.type != "Generic":
            return None
        if headers.get("x-token") != TOKEN:
            return WebhookAction.reject("bad token")
        event = json.loads(body)
        if event["scope"] != "store/order/created":
            return WebhookAction.ignore("not about orders")
        return WebhookAction.run("import-orders", dedupe_key=str(event["id"]))

    @hookimpl
    def register_webhooks(self, cart, url, remove):
        if cart.type != "Generic":
            return None
        self.registered.append((url, remove))
        return [f"{'removed' if remove else 'registered'} store/order/created -> {url}"]


@pytest.fixture
def hook_cart() -> HookCart:
    return HookCart()


@pytest.fixture
def plugins(hook_cart):
    return load_plugins(extra=[("hookcart", hook_cart)])


def post(url: str, cart: str, event_id: int, *, token: str = TOKEN, scope: str = "store/order/created"):
    return httpx.post(f"{url}/hooks/{cart}", headers={"X-Token": token},
                      content=json.dumps({"id": event_id, "scope": scope}))


def _count(store, table) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _import_runs(store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.runs)
                            .where(tables.runs.c.job == "import-orders")).scalar_one()


def test_hook_webhook_received_a_burst_becomes_one_run_duplicates_and_forgeries_change_nothing(store, plugins, gen):
    add_cart(store, plugins, gen)
    service = Service(store, plugins)
    with live(service, start=False) as url:  # the scheduler is driven by hand below
        answers = [post(url, "Shop", n) for n in range(1, 21)]
        assert {(a.status_code, a.json()["outcome"]) for a in answers} == {(202, "queued")}
        again = post(url, "Shop", 7)
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
        forged = post(url, "Shop", 99, token="guess")
        assert (forged.status_code, forged.json()["outcome"]) == (401, "rejected")
        other = post(url, "Shop", 100, scope="store/product/updated")
        assert (other.status_code, other.json()["outcome"]) == (200, "ignored")
        assert post(url, "Nope", 1).status_code == 404
        assert httpx.post(f"{url}/hooks/Shop", headers={"X-Token": TOKEN},
                          content=b"x" * (2 << 20)).status_code == 413
        metrics = httpx.get(f"{url}/metrics", headers=bearer(store)).text
    assert _count(store, tables.webhook_events) == 20  # the duplicate and the forgery are not kept
    assert 'seconnect_webhook_events_total{cart="Shop",outcome="queued"} 20.0' in metrics
    assert 'seconnect_webhook_events_total{cart="Shop",outcome="rejected"} 1.0' in metrics
    assert 'seconnect_webhook_events_total{cart="",outcome="unknown-cart"} 1.0' in metrics

    with store.begin() as conn:
        [wanted] = schedules.list_schedules(conn)
    assert (wanted.job, wanted.timing, wanted.wanted_at is not None) == ("import-orders", "on webhooks only", True)
    _run_pass(store, plugins)
    _run_pass(store, plugins)
    assert _import_runs(store) == 1  # twenty events, one run
    assert _count(store, tables.orders) == 12

    # Events while a run is in progress: exactly one more run after it, no more.
    with store.begin() as conn:
        [claimed] = schedules.claim_due(conn, "elsewhere", 30, 5) or [None]
    assert claimed is None  # nothing wanted now
    with live(service, start=False) as url:
        post(url, "Shop", 21)
        with store.begin() as conn:
            [claimed] = schedules.claim_due(conn, "elsewhere", 30, 5)
        gen.add_orders(2)
        assert post(url, "Shop", 22).status_code == 202
        assert post(url, "Shop", 23).status_code == 202
    with store.begin() as conn:
        schedules.finish(conn, "elsewhere", claimed, None)
    _run_pass(store, plugins)
    _run_pass(store, plugins)
    assert _import_runs(store) == 2
    assert _count(store, tables.orders) == 14


def test_a_webhook_brings_a_new_order_in_while_the_schedule_is_far_away(store, plugins, gen):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        schedules.add(conn, plugins, cart, "import-orders", at_time="03:00")
    service = Service(store, plugins, poll_s=600)  # only the webhook's wake-up can start the run in time
    with live(service) as url:
        deadline = time.monotonic() + 20
        assert post(url, "Shop", 1).status_code == 202
        while _count(store, tables.orders) < 12:
            assert time.monotonic() < deadline, "the webhook's import never ran"
            time.sleep(0.05)
        [number] = gen.add_orders(1)
        assert post(url, "Shop", 2).status_code == 202
        while _count(store, tables.orders) < 13:
            assert time.monotonic() < deadline, "the second webhook's import never ran"
            time.sleep(0.05)
    with store.connect() as conn:
        assert conn.execute(select(tables.orders.c.id).where(tables.orders.c.number == number)).first()
        [schedule] = schedules.list_schedules(conn)
    assert schedule.wanted_at is None and schedule.timing == "daily at 03:00"


def test_a_cart_type_without_webhooks_answers_404(store, plugins, isc):
    add_cart(store, plugins, isc, name="Interspire Shop")
    with live(Service(store, plugins), start=False) as url:
        answer = post(url, "Interspire%20Shop", 1)
    assert (answer.status_code, answer.json()["outcome"]) == (404, "unsupported")


def test_hook_register_webhooks_through_carts_webhooks(store, plugins, gen, isc, hook_cart, db_url):
    add_cart(store, plugins, gen, name="My Shop")
    add_cart(store, plugins, isc, name="Old")

    def cli(*args):
        return CliRunner().invoke(build_cli(plugins), ["--db", db_url, "carts", "webhooks", *args])

    done = cli("My Shop", "--url", "https://sync.example.com/")
    assert done.exit_code == 0, done.output
    assert hook_cart.registered == [("https://sync.example.com/hooks/My%20Shop", False)]
    assert "registered store/order/created -> https://sync.example.com/hooks/My%20Shop" in done.stdout
    assert cli("My Shop", "--url", "https://sync.example.com", "--remove").exit_code == 0
    assert hook_cart.registered[-1] == ("https://sync.example.com/hooks/My%20Shop", True)

    plain = cli("My Shop", "--url", "http://sync.example.com")
    assert plain.exit_code == 2 and "plain HTTP" in plain.stderr and "TLS" in plain.stderr
    unsupported = cli("Old", "--url", "https://sync.example.com")
    assert unsupported.exit_code == 2 and "cannot register webhooks" in unsupported.stderr
    assert len(hook_cart.registered) == 2
