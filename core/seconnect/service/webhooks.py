"""``POST /hooks/<cart>``: a cart tells the service something changed.

The cart's plugin judges the delivery (``webhook_received`` hook → :class:`seconnect.WebhookAction`).
A delivery that asks for a job is stored under its dedupe key (a repeat is absorbed) and marks
the cart's schedule for that job as wanted (:func:`seconnect.service.schedules.want`); the
scheduler runs it once for a burst. The job never runs inside the request, so the cart gets its
answer at once. Kept events are pruned after :data:`KEEP_DAYS` days.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from ..cartdef import CartDefinition
from ..carts import get_cart
from ..errors import NotFoundError, SeconnectError, UsageError
from ..operations import WebhookAction
from ..plugins import Plugins
from ..store import Store, tables, utcnow
from . import schedules

__all__ = ["Answer", "MAX_BODY", "KEEP_DAYS", "receive", "prune", "hook_url", "register"]

log = logging.getLogger(__name__)

#: The largest delivery accepted (cart webhooks send small JSON notices).
MAX_BODY = 1 << 20
#: Deliveries are remembered this long to absorb duplicates (carts retry for up to a day or two).
KEEP_DAYS = 7


@dataclass(frozen=True)
class Answer:
    status: int
    outcome: str  # queued | duplicate | ignored | rejected | unknown-cart | unsupported | error
    detail: str = ""

    def body(self) -> dict[str, str]:
        return {"outcome": self.outcome, **({"detail": self.detail} if self.detail else {})}


def receive(store: Store, plugins: Plugins, cart_name: str, headers: Mapping[str, str], body: bytes) -> Answer:
    """Judge and record one delivery (blocking: the app calls it in a worker thread)."""
    try:
        with store.begin() as conn:
            cart = get_cart(conn, cart_name)
    except NotFoundError:
        return Answer(404, "unknown-cart", "no cart has this name")
    try:
        action = plugins.pm.hook.webhook_received(cart=cart, headers=dict(headers), body=body)
    except SeconnectError as exc:
        log.warning("webhook for cart %s: %s", cart.name, exc.message)
        return Answer(500, "error", "the cart's plugin could not judge the delivery")
    if action is None:
        return Answer(404, "unsupported", "this cart's type takes no webhooks")
    if not isinstance(action, WebhookAction) or action.outcome not in ("run", "ignore", "reject"):
        log.error("webhook for cart %s: the plugin answered %r, not a WebhookAction", cart.name, action)
        return Answer(500, "error", "the cart's plugin could not judge the delivery")
    if action.outcome == "reject":
        log.warning("webhook for cart %s rejected: %s", cart.name, action.reason or "not from the cart")
        return Answer(401, "rejected")
    if action.outcome == "ignore":
        return Answer(200, "ignored", action.reason)
    if action.job not in schedules.JOBS:
        log.error("webhook for cart %s: the plugin asked for job %r, not one of %s", cart.name, action.job,
                  ", ".join(schedules.JOBS))
        return Answer(500, "error", "the cart's plugin asked for an unknown job")
    try:
        with store.begin() as conn:
            conn.execute(insert(tables.webhook_events).values(
                cart_id=cart.id, dedupe_key=action.dedupe_key, job=action.job, received_at=utcnow()))
            schedules.want(conn, cart, action.job)
    except IntegrityError:  # this cart already sent this event: nothing more to do
        return Answer(200, "duplicate")
    return Answer(202, "queued", action.job)


def prune(store: Store) -> int:
    """Forget deliveries older than :data:`KEEP_DAYS` (the scheduler calls it now and then)."""
    with store.begin() as conn:
        return conn.execute(delete(tables.webhook_events).where(
            tables.webhook_events.c.received_at < utcnow() - timedelta(days=KEEP_DAYS))).rowcount


def hook_url(public_url: str, cart_name: str) -> str:
    """``PUBLIC_URL/hooks/<cart>`` for a cart; the service's public URL must be HTTPS (plain HTTP
    only to this machine, for trials): carts send webhooks across the internet."""
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"--url {public_url!r} is not the service's public base URL.",
                         hint="Give it like https://seconnect.example.com (where carts can reach `seconnect serve`).")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(f"--url {public_url!r} is plain HTTP: the cart's deliveries could be read and forged.",
                         hint="Put the service behind HTTPS (--tls-cert/--tls-key, or a TLS proxy) and give that URL.")
    return f"{public_url.strip().rstrip('/')}/hooks/{quote(cart_name, safe='')}"


def register(plugins: Plugins, cart: CartDefinition, public_url: str, remove: bool) -> list[str]:
    """`seconnect carts webhooks`: the cart's plugin registers (or removes) its webhooks."""
    url = hook_url(public_url, cart.name)
    done = plugins.pm.hook.register_webhooks(cart=cart, url=url, remove=remove)
    if done is None:
        raise UsageError(f"cart {cart.name!r} (type {cart.type}) cannot register webhooks.",
                         hint="Its cart type takes no webhooks; its schedules keep it up to date.")
    return list(done)
