"""BigCommerce webhooks for the REST cart type: register, list and remove ``/v3/hooks``, verify a
delivery, and say which job an event should start.

The cart type's ``webhook_received`` and ``register_webhooks`` hooks (rest.py) call them. A delivery is
verified the Standard Webhooks way: ``webhook-signature`` holds ``v1,<base64 HMAC-SHA256>`` values
of ``{webhook-id}.{webhook-timestamp}.{raw body}`` keyed with the cart's ``client_secret`` bytes,
and the timestamp must be within 5 minutes. The payload only names what changed, so an event
maps to a job that reads the cart (orders → incremental import-orders, stock → inventory-get);
the payload's ``hash`` is the key for dropping a delivery seen before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from seconnect import CartDefinition
from seconnect.errors import CartRejected, UsageError

from .rest_client import RestClient

__all__ = ["SCOPES", "TOLERANCE_SECONDS", "register_hooks", "list_hooks", "remove_hooks", "verify_delivery",
           "dedupe_key", "job_for"]

#: What seconnect listens to: every order change, and stock changes of products and variants.
SCOPES = ("store/order/*", "store/product/inventory/updated", "store/sku/inventory/updated")
TOLERANCE_SECONDS = 300

_JOBS = (("store/order/", "import-orders"), ("store/product/inventory/", "inventory-get"),
         ("store/sku/inventory/", "inventory-get"))


def list_hooks(cart: CartDefinition, client: RestClient | None = None) -> list[dict]:
    """The store's hooks (every page)."""
    client = client or RestClient(cart)
    return [hook for rows in client.v3_pages("/v3/hooks", {}) for hook in rows]


def register_hooks(cart: CartDefinition, destination: str, scopes: Iterable[str] = SCOPES,
                   client: RestClient | None = None) -> list[dict]:
    """Make sure a hook for each scope delivers to ``destination`` (an https URL); hooks already
    there (same scope and destination) are switched on rather than created twice. Returns them."""
    if not destination.startswith("https://"):
        raise UsageError(f"webhook destination {destination!r} must be an https:// URL.",
                         hint="BigCommerce delivers only to HTTPS on port 443: give the service's public address.")
    client = client or RestClient(cart)
    existing = {(h.get("scope"), h.get("destination")): h for h in list_hooks(cart, client)}
    hooks = []
    for scope in scopes:
        hook = existing.get((scope, destination))
        if hook is None:
            _status, answer = client.call("POST", "/v3/hooks", body={
                "scope": scope, "destination": destination, "is_active": True, "headers": {}}, idempotent=False)
        elif not hook.get("is_active"):
            _status, answer = client.call("PUT", f"/v3/hooks/{hook['id']}", body={"is_active": True})
        else:
            hooks.append(hook)
            continue
        hooks.append((answer or {}).get("data") or {})
    return hooks


def remove_hooks(cart: CartDefinition, destination: str | None = None, client: RestClient | None = None) -> int:
    """Delete the hooks delivering to ``destination`` (every hook of the store when None); how many."""
    client = client or RestClient(cart)
    removed = 0
    for hook in list_hooks(cart, client):
        if destination is None or hook.get("destination") == destination:
            client.call("DELETE", f"/v3/hooks/{hook['id']}")
            removed += 1
    return removed


def verify_delivery(headers: Mapping[str, str], body: bytes, client_secret: str, *,
                    now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """The delivery's payload, once its signature and timestamp check out; CartRejected if not
    (the endpoint answers 401/400 and BigCommerce retries a genuine one)."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                                 lower.get("webhook-signature"))
    if not (msg_id and stamp and signatures):
        raise CartRejected("webhook delivery without webhook-id, webhook-timestamp and webhook-signature headers")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise CartRejected(f"webhook-timestamp {stamp[:40]!r} is not a Unix time") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise CartRejected("webhook delivery timestamp is more than 5 minutes away from now (replayed or clock skew)")
    mac = hmac.new(client_secret.encode(), f"{msg_id}.{sent_at}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    if not any(hmac.compare_digest(expected, value.partition(",")[2])
               for value in signatures.split() if value.startswith("v1,")):
        raise CartRejected("webhook signature does not match: check the cart's client_secret setting")
    try:
        payload = json.loads(body)
    except ValueError:
        raise CartRejected("webhook payload is not JSON") from None
    if not isinstance(payload, dict):
        raise CartRejected("webhook payload is not a JSON object")
    return payload


def dedupe_key(payload: Mapping[str, Any]) -> str:
    """The same event delivered twice carries the same ``hash``."""
    return str(payload.get("hash") or "")


def job_for(scope: str) -> str | None:
    """The job an event of ``scope`` starts (None: an event seconnect does not act on)."""
    return next((job for prefix, job in _JOBS if scope.startswith(prefix)), None)
