"""Talking to an ExampleCart shop: JSON over HTTPS through seconnect's shared HTTP layer.

``seconnect.http.CartHTTP`` verifies TLS (the system's trust store plus the cart's CA bundle),
bounds every reply, retries what is safe to retry and turns network failures and 5xx/429 into
seconnect's error families. This client adds what only this shop knows: how it logs in, and
which answers mean "rejected".
"""

from __future__ import annotations

from typing import Any

from seconnect import CartDefinition
from seconnect.errors import CartAuthError, CartRejected
from seconnect.http import CartHTTP


class ShopClient:
    """The shop's API at the cart's Script URL, authenticated as the cart's user."""

    def __init__(self, cart: CartDefinition):
        password = cart.password.reveal()
        # One kept-alive connection per cart and process, shared by every hook call.
        self._http = CartHTTP.for_cart(cart, auth=(cart.user, password), secrets=(password,),
                                       timeout=float(cart.param("RequestTimeout", 60)))

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, params=query)

    def call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        """One API call; the decoded JSON answer, or the seconnect error that fits the failure."""
        what = f"{method} {path}"
        # GET and PUT (absolute stock) may be repeated safely; a POSTed status may not.
        reply = self._http.request(method, path, what=what, params=params, json=body, ok=(200, 401, 403, 422),
                                   idempotent=method in ("GET", "PUT"))
        if reply.status in (401, 403):
            raise CartAuthError(f"{what}: the shop rejected the API user or key",
                                hint="Check them with `seconnect carts edit NAME --user USER --password`.")
        if reply.status == 422:  # the shop understood the call and refused it, saying why
            raise CartRejected(f"{what}: the shop refused: {_error_text(reply.json())}")
        return reply.json()


def _error_text(answer: Any) -> str:
    return str(answer.get("error", answer)) if isinstance(answer, dict) else str(answer)[:200]
