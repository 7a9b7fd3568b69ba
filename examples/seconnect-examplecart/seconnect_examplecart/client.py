"""Talking to an ExampleCart shop: JSON over HTTPS, and the shop's failures as seconnect errors.

seconnect decides what to do about a failure by its family: CartUnreachable and CartHTTPError
for 5xx/429 are tried again later, CartAuthError, CartTLSError and CartRejected wait for the
merchant. Raising the right one is most of a plugin's error handling.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from seconnect import CartDefinition
from seconnect.errors import (
    CartAuthError,
    CartHTTPError,
    CartProtocolError,
    CartRejected,
    CartTLSError,
    CartUnreachable,
)


class ShopClient:
    """The shop's API at the cart's Script URL, authenticated as the cart's user; a context manager."""

    def __init__(self, cart: CartDefinition):
        tls = ssl.create_default_context()  # the system's trust store (and SSL_CERT_FILE)...
        if cart.ca_bundle:
            tls.load_verify_locations(cart.ca_bundle)  # ...plus the CA given for this cart
        self.host = httpx.URL(cart.url).host
        self._http = httpx.Client(base_url=cart.url, auth=(cart.user, cart.password.reveal()), verify=tls,
                                  timeout=float(cart.param("RequestTimeout", 60)))

    def __enter__(self) -> ShopClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.close()

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, params=query)

    def call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        """One API call; the decoded JSON answer, or the seconnect error that fits the failure."""
        what = f"{method} {path}"
        try:
            response = self._http.request(method, path, params=params, json=body)
        except httpx.HTTPError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise CartTLSError(f"{what}: the certificate of {self.host} could not be verified",
                                   hint="Give the shop's CA with `seconnect carts edit NAME --ca-bundle FILE`.") from exc
            raise CartUnreachable(f"{what}: cannot reach {self.host} ({exc})",
                                  hint="Check the Script URL and that the shop is up.") from exc
        status = response.status_code
        if status in (401, 403):
            raise CartAuthError(f"{what}: {self.host} rejected the API user or key",
                                hint="Check them with `seconnect carts edit NAME --user USER --password`.")
        if status == 422:  # the shop understood the call and refused it, saying why
            raise CartRejected(f"{what}: {self.host} refused: {_error_text(response)}")
        if status != 200:
            retry_after = response.headers.get("Retry-After", "")
            raise CartHTTPError(f"{what}: {self.host} answered HTTP {status}", status=status,
                                retry_after=float(retry_after) if retry_after.isdigit() else None)
        try:
            return response.json()
        except ValueError:
            raise CartProtocolError(f"{what}: the answer is not JSON: {response.text[:80]!r}") from None


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text[:200]))
    except ValueError:
        return response.text[:200]
