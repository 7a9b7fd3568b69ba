"""SETI client: one method per ``setifunction``, over httpx (protocol sections 1-5).

Every call is a form-encoded POST to the Script URL (its query string kept, as Interspire needs
``action=process&accounting=stoneedge``) carrying ``setifunction``, ``setiuser``, ``password``,
``code`` (empty when blank), ``omversion`` and the function's fields. ``sendversion`` carries no
credentials. Credentials never go into the URL, and the password is revealed only while the
form is built; error texts are scrubbed of it before they leave this module.

Replies are streamed and capped at ``max_reply_bytes``; XML documents are parsed record by
record (:mod:`.documents`). Failures become :mod:`seconnect.errors` types with a hint that
names the fix, and every call runs under a :class:`~.retry.RetryPolicy`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import httpx

from ..cartdef import CartDefinition, Secret
from ..errors import CartProtocolError, UsageError
from ..http import CartHTTP, RetryPolicy, https_url, parse_retry_after
from .encoders import (
    StatusUpdate,
    check_field,
    encode_inventory,
    encode_inventory_xml,
    status_form,
    status_xml,
)
from .reader import read_records, read_text
from .replies import (
    InvUpdateResult,
    StatusResult,
    TextReply,
    hiding,
    parse_count,
    parse_inv_update,
    parse_qoh_results,
    parse_status,
    snippet,
)
from .values import seti_date

__all__ = ["SetiClient", "parse_retry_after"]

T = TypeVar("T")

NOT_FOUND_HINT = ("Verify the Script URL matches the one on the cart's Stone Edge settings page and ask the "
                  "web host to verify the secure URL and location of the integration script.")


def _status_hint(status: int, response: httpx.Response) -> str | None:
    """What a non-200 answer means for a SETI script (they answer every call with 200)."""
    if status == 404:
        return NOT_FOUND_HINT
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return (f"The Script URL redirects to {location[:200]!r}: enter the final address as the "
                "Script URL (a redirected POST loses its fields).")
    if status in (401, 403):
        return ("The web server refused the request before the script ran (HTTP authentication, "
                "firewall or security rule): ask the web host to allow POSTs to the script.")
    if status == 429 or status >= 500:
        return None  # the shared wording: retried, check the web server if it persists
    return "SETI scripts answer every call with HTTP 200: check the Script URL and the web server's error log."


class SetiClient:
    """Talks SETI to one cart's integration script. Use as a context manager, or call close()."""

    def __init__(self, url: str, *, user: str = "", password: Secret | None = None, store_code: str = "",
                 omversion: str = "6.000", ca_bundle: str | None = None, timeout: float = 30.0,
                 max_reply_bytes: int = 64 * 2**20, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, http: CartHTTP | None = None):
        self.url = https_url(url, "the Script URL")
        self.host = httpx.URL(self.url).host
        self.user = check_field("Cart ID/User Name", user)
        self.store_code = check_field("Store Code", store_code)
        self.omversion = check_field("omversion", omversion)
        self._password = password if password is not None else Secret("")
        if any(c in self._password.reveal() for c in "\r\n\x00"):
            raise UsageError("the Cart Password contains a line break or NUL, which cannot be sent")
        self.retry = retry if retry is not None else RetryPolicy()
        # ``http`` is a client kept per cart (for_cart); otherwise this client owns its own.
        self._owns_http = http is None
        self._http = http or CartHTTP(self.url, **self.http_options(self._password, ca_bundle=ca_bundle,
                                                                    timeout=timeout, max_reply_bytes=max_reply_bytes),
                                      transport=transport)
        self._secret_forms = self._http.secrets
        self.timeout = self._http.timeout
        self.max_reply_bytes = self._http.max_reply_bytes

    @staticmethod
    def http_options(password: Secret, **options: Any) -> dict[str, Any]:
        """CartHTTP options for a SETI script: its status hints, and the forms in which a broken
        script could echo the password back into a reply, masked in every error."""
        secret = password.reveal()
        forms = tuple(sorted({secret, quote_plus(secret), quote(secret, safe=""), html.escape(secret)})) \
            if secret else ()
        return {"status_hints": _status_hint, "secrets": forms, **options}

    @classmethod
    def for_cart(cls, cart: CartDefinition, **kw: Any) -> SetiClient:
        """A client for a stored cart definition; keyword arguments override its values. Without
        ``transport`` or ``max_reply_bytes`` overrides it uses the cart's kept-alive
        connection (:meth:`seconnect.http.CartHTTP.for_cart`)."""
        options: dict[str, Any] = {
            "user": cart.user, "password": cart.password, "store_code": cart.store_code,
            "ca_bundle": cart.ca_bundle, "timeout": float(cart.param("RequestTimeout", 30)),
        }
        options.update(kw)
        if not {"transport", "max_reply_bytes", "http"} & kw.keys():
            options["http"] = CartHTTP.for_cart(cart, **cls.http_options(
                options["password"], ca_bundle=options.pop("ca_bundle"), timeout=options.pop("timeout")))
        return cls(cart.url, **options)

    def __repr__(self) -> str:
        return f"SetiClient({self.url!r}, user={self.user!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SetiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- functions -------------------------------------------------------------------------------

    def send_version(self, omversion: str | None = None) -> str:
        """The script's version (what follows ``version=``). Sends no credentials (section 3.1).
        ``omversion`` replaces this client's for the one call (to see whether the script echoes it)."""
        fields = {"omversion": check_field("omversion", omversion)} if omversion else {}
        reply = self._text("sendversion", fields, credentials=False)
        version = reply.get("version")
        if not version:
            raise CartProtocolError(f"sendversion: the reply has no 'version=': {snippet(reply.text)}")
        return version

    def order_count(self, lastorder: str | int = "All", lastdate: str | date = "All") -> int:
        reply = self._text("ordercount", {"lastorder": _lastorder(lastorder), "lastdate": _lastdate(lastdate)})
        return parse_count(reply, "ordercount", function="ordercount")

    def download_orders(self, *, lastorder: str | int, startnum: int, batchsize: int,
                        lastdate: str | date = "All") -> list[dict[str, Any]]:
        fields = {"lastorder": _lastorder(lastorder), "lastdate": _lastdate(lastdate),
                  **_paging(startnum, batchsize), "dkey": ""}
        return self._records("downloadorders", fields, "orders")

    def product_count(self) -> int:
        return parse_count(self._text("getproductscount", {}), "itemcount", function="getproductscount")

    def download_products(self, *, startnum: int, batchsize: int) -> list[dict[str, Any]]:
        return self._records("downloadprods", _paging(startnum, batchsize), "products")

    def download_qoh(self, *, startnum: int, batchsize: int) -> list[dict[str, Any]]:
        """Rows ``{"code", "web_id", "qoh"}``; qoh is None where the cart says NA (not tracked)."""
        return self._records("downloadqoh", _paging(startnum, batchsize), "qoh")

    def customer_count(self) -> int:
        return parse_count(self._text("getcustomerscount", {}), "itemcount", function="getcustomerscount")

    def download_customers(self, *, startnum: int, batchsize: int) -> list[dict[str, Any]]:
        return self._records("downloadcustomers", _paging(startnum, batchsize), "customers")

    def qoh_replace(self, items: Sequence[tuple[str, int]], *, as_xml: bool = False,
                    trailing_bar: bool = False) -> dict[str, str]:
        """Set absolute quantities; returns sku → "OK" | "NF" | "NA" | "ERR" | the cart's own text
        (Interspire: "Update Error", section 6.6-5). ``trailing_bar`` only affects the delimited form."""
        if as_xml:
            update, count = encode_inventory_xml(items), len(items)
        else:
            update, count = encode_inventory(items, trailing_bar=trailing_bar)
        reply = self._text("qohreplace", {"update": update, "count": str(count)})
        return parse_qoh_results(reply)

    def inv_update(self, sku: str, delta: int, *, as_xml: bool = False) -> InvUpdateResult:
        """Apply a signed stock change. Not idempotent, so retried only when surely not applied."""
        item = [(sku, delta)]
        update = encode_inventory_xml(item) if as_xml else encode_inventory(item)[0]
        reply = self._text("invupdate", {"update": update}, idempotent=False)
        return parse_inv_update(reply, sku)

    def update_status(self, update: StatusUpdate, *, as_xml: bool = False) -> StatusResult:
        """Push a status label and tracking (section 5); ``ok`` False when the cart declined."""
        fields = {"update": status_xml(update)} if as_xml else status_form(update)
        return parse_status(self._text("updatestatus", fields, idempotent=False))

    # --- transport -------------------------------------------------------------------------------

    def _text(self, function: str, fields: dict[str, str], *, credentials: bool = True,
              idempotent: bool = True) -> TextReply:
        return self._call(function, fields, lambda body: read_text(body, function=function),
                          credentials=credentials, idempotent=idempotent)

    def _records(self, function: str, fields: dict[str, str], kind: str) -> list[dict[str, Any]]:
        return self._call(function, fields, lambda body: read_records(body, function=function, kind=kind))

    def _call(self, function: str, fields: dict[str, str], parse: Callable[[Iterator[bytes]], T], *,
              credentials: bool = True, idempotent: bool = True) -> T:
        form = {"setifunction": function}
        if credentials:
            form.update(setiuser=self.user, password=self._password.reveal(), code=self.store_code)
        form.update(fields)
        form.setdefault("omversion", self.omversion)
        with hiding(*self._secret_forms):
            return self._http.request("POST", what=function, data=form, parse=parse, idempotent=idempotent,
                                      retry=self.retry)


def _paging(startnum: int, batchsize: int) -> dict[str, str]:
    for name, value in (("startnum", startnum), ("batchsize", batchsize)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a whole number of at least 1, not {value!r}")
    return {"startnum": str(startnum), "batchsize": str(batchsize)}


def _lastorder(value: str | int) -> str:
    """``All`` or the last order number already imported (numbers are accepted as ints too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return check_field("lastorder", value)


def _lastdate(value: str | date) -> str:
    """``All`` or a date; dates are sent the way real SEOM does, e.g. ``2-Dec-2019``."""
    if isinstance(value, date):
        return seti_date(value)
    return check_field("lastdate", value)
