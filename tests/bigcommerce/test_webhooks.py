"""Webhooks of the BigCommerce REST type: /v3/hooks management against the REST sandbox, and
delivery verification (Standard Webhooks) as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from seconnect import CartDefinition, Secret
from seconnect.errors import CartRejected, UsageError
from seconnect.http import CartHTTP
from seconnect.sandbox import Sandbox
from seconnect_bigcommerce import webhooks

SECRET = "client-secret-xyz"
BODY = json.dumps({"producer": "stores/abc", "hash": "dd70c0", "created_at": 1561479335, "store_id": "1",
                   "scope": "store/order/created", "data": {"type": "order", "id": 250}}).encode()


def _signed(body: bytes = BODY, stamp: int = 1_700_000_000, msg_id: str = "msg_1", secret: str = SECRET) -> dict:
    mac = hmac.new(secret.encode(), f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"Webhook-Id": msg_id, "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": "v1,bm90IGl0 v1," + base64.b64encode(mac).decode()}


def test_a_signed_delivery_is_accepted_and_keyed_by_its_hash():
    payload = webhooks.verify_delivery(_signed(), BODY, SECRET, now=1_700_000_100)
    assert payload["data"] == {"type": "order", "id": 250}
    assert webhooks.dedupe_key(payload) == "dd70c0"
    assert webhooks.job_for(payload["scope"]) == "import-orders"


@pytest.mark.parametrize("change", ["body", "secret", "old", "future", "no-headers"])
def test_a_forged_stale_or_unsigned_delivery_is_refused(change):
    headers, body, now = _signed(), BODY, 1_700_000_000
    if change == "body":
        body = BODY.replace(b"250", b"251")
    elif change == "secret":
        headers = _signed(secret="other")
    elif change == "old":
        now += 301
    elif change == "future":
        now -= 301
    else:
        headers = {}
    with pytest.raises(CartRejected):
        webhooks.verify_delivery(headers, body, SECRET, now=now)


def test_the_sandbox_signature_verifies():
    from seconnect.sandbox.bigcommerce import sign  # the sandbox's own signer, written apart from ours

    headers = {"webhook-id": "h1", "webhook-timestamp": "1700000000",
               "webhook-signature": sign(SECRET, "h1", 1_700_000_000, BODY)}
    assert webhooks.verify_delivery(headers, BODY, SECRET, now=1_700_000_000)["hash"] == "dd70c0"


@pytest.mark.parametrize("scope, job", [("store/order/statusUpdated", "import-orders"),
                                        ("store/order/archived", "import-orders"),
                                        ("store/product/inventory/updated", "inventory-get"),
                                        ("store/sku/inventory/order/updated", "inventory-get"),
                                        ("store/customer/created", None)])
def test_events_map_to_jobs(scope, job):
    assert webhooks.job_for(scope) == job


def test_register_list_and_remove_hooks_at_the_sandbox(tmp_path):
    with Sandbox("bigcommerce", state_dir=tmp_path / "bc", orders=2, products=2) as sb:
        cart = CartDefinition("Shop", "BigCommerce", settings={"store_hash": sb.store_hash, "api_base": sb.api_base},
                              secrets={"access_token": Secret(sb.password)}, ca_bundle=sb.ca_file, id=1)
        destination = "https://127.0.0.1:9/seconnect/hooks/Shop"
        first = webhooks.register_hooks(cart, destination)
        again = webhooks.register_hooks(cart, destination)  # nothing created twice
        listed = webhooks.list_hooks(cart)
        assert sorted(h["scope"] for h in listed) == sorted(webhooks.SCOPES)
        assert {h["id"] for h in first} == {h["id"] for h in again}
        assert webhooks.remove_hooks(cart, destination) == len(webhooks.SCOPES)
        assert webhooks.list_hooks(cart) == []
        with pytest.raises(UsageError):
            webhooks.register_hooks(cart, "http://127.0.0.1:9/hooks")
    CartHTTP.close_shared()


@pytest.mark.parametrize("scope, outcome, job", [("store/order/created", "run", "import-orders"),
                                                 ("store/sku/inventory/updated", "run", "inventory-get"),
                                                 ("store/customer/created", "ignore", None)])
def test_the_webhook_received_hook_names_the_job(scope, outcome, job):
    from seconnect_bigcommerce.rest import plugin

    body = BODY.replace(b"store/order/created", scope.encode())
    cart = CartDefinition("Shop", "BigCommerce", settings={"store_hash": "abc"},
                          secrets={"access_token": Secret("t"), "client_secret": Secret(SECRET)}, id=1)
    headers = {k.lower(): v for k, v in _signed(body, stamp=int(time.time())).items()}
    action = plugin.webhook_received(cart=cart, headers=headers, body=body)
    assert (action.outcome, action.job) == (outcome, job)
    if outcome == "run":
        assert action.dedupe_key == "dd70c0"
    assert plugin.webhook_received(cart=cart, headers=headers, body=body + b" ").outcome == "reject"
    unset = CartDefinition("Shop", "BigCommerce", settings={"store_hash": "abc"},
                           secrets={"access_token": Secret("t")}, id=1)
    assert plugin.webhook_received(cart=unset, headers=headers, body=body).outcome == "reject"
    assert plugin.webhook_received(cart=CartDefinition("S", "Generic", id=2), headers=headers, body=body) is None
