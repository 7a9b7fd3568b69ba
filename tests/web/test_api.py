"""The JSON API's actions, with a token: each goes through the CLI's service and reaches the cart
once the worker has run; bad input is a 4xx with the error and its hint, and changes nothing."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from seconnect import users
from seconnect.jobs.realtime import run_realtime
from seconnect.store import tables

from .helpers import USER


@pytest.fixture
def api(served):
    with served.store.begin() as conn:
        token = users.new_token(conn, USER)
    with httpx.Client(base_url=served.url + "/api", headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        yield c


def test_api_actions_reach_the_cart(api, served, shop, gen):
    number = [o["number"] for o in gen.orders()][2]
    detail = api.get(f"/orders/Shop/{number}").json()
    assert "Shipped" in detail["labels"] and detail["push_refusal"] is None and detail["record"]["lines"]
    change = api.post(f"/orders/Shop/{number}/status", json={"label": "shipped", "tracking": ["1Z5"],
                                                              "carrier": "UPS"}).json()
    assert change["push"] == "queued" and change["label"] == "Shipped"
    sku = gen.products()[0]["sku"]
    assert api.post(f"/products/{sku}/qoh", json={"set": 10}).json()["after"] == 10
    adjusted = api.post(f"/products/{sku}/qoh", json={"adjust": -3, "reason": "broken"}).json()
    assert (adjusted["before"], adjusted["after"], adjusted["queued_for"]) == (10, 7, ["Shop"])
    assert api.get("/outbox").json()["counts"]["pending"] == 3  # one status, two quantities
    run_realtime(served.store, served.plugins)
    assert gen.status_updates()[-1]["order"] == number and gen.qoh(sku) == 7
    runs = api.get("/runs").json()
    assert runs["total"] >= 2 and {r["job"] for r in runs["rows"]} >= {"import-orders", "import-products"}
    assert api.post("/carts/Shop/test", json={"check_credentials": True}).json()["passed"] is True


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("/outbox/retry", {"ids": [999]}, 400, "nothing"),
    ("/outbox/retry", {}, 400, "name the parked rows"),
    ("/quarantine/retry", {"ids": "all"}, 400, "ids must be a list"),
    ("/products/NOPE/qoh", {"set": 5}, 404, "no product"),
    ("/products/X/qoh", {"set": -1}, 400, "out of range"),
    ("/products/X/qoh", {}, 400, "say what to do"),
    ("/orders/Shop/999999/status", {"label": "Shipped"}, 404, "no order"),
    ("/orders/Nowhere/1/status", {"label": "Shipped"}, 404, "Nowhere"),
    ("/params", {"name": "SynchQOH", "value": "maybe", "cart": "Shop"}, 400, "SynchQOH"),
])
def test_bad_api_input_is_a_clear_4xx_and_changes_nothing(api, served, shop, path, body, status, words):
    before = _snapshot(served.store)
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    assert words.lower() in (r.json()["error"] + " " + (r.json().get("hint") or "")).lower()
    assert _snapshot(served.store) == before


def test_a_body_that_is_not_json_is_refused(api, shop):
    r = api.post("/outbox/retry", content=b"ids=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "not JSON" in r.json()["error"]


def _snapshot(store) -> tuple:
    with store.begin() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (tables.outbox, tables.order_status_history, tables.inventory_changes, tables.params))
