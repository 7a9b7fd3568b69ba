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

import email.utils
import html
import logging
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from importlib import metadata
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

import httpx

from ..cartdef import CartDefinition, Secret
from ..errors import (
    CartHTTPError,
    CartProtocolError,
    CartTLSError,
    CartUnreachable,
    SeconnectError,
    UsageError,
)
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
from .retry import RetryPolicy
from .values import seti_date

__all__ = ["SetiClient", "parse_retry_after"]

T = TypeVar("T")
log = logging.getLogger("seconnect.seti")

NOT_FOUND_HINT = ("Verify the Script URL matches the one on the cart's Stone Edge settings page and ask the "
                  "web host to verify the secure URL and location of the integration script.")
TLS_HINT = ("If the cart uses a self-signed or private-CA certificate, give that CA's PEM file with "
            "--ca-bundle (kept in the cart definition); do not turn verification off.")

try:
    _VERSION = metadata.version("seconnect")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    _VERSION = "0"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _script_url(url: str) -> str:
    """Merchants type the Script URL without ``https://`` (SEOM adds it); accept both."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"the Script URL {url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"the Script URL {url!r} must be an https:// address with a host name")
    return url


def _verify(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """A context trusting ``ca_bundle``; else True: httpx's default store, which honours
    SSL_CERT_FILE / SSL_CERT_DIR."""
    if not ca_bundle:
        return True
    path = os.path.expanduser(ca_bundle)
    if not os.path.isfile(path):
        raise UsageError(f"CA bundle {ca_bundle!r} not found",
                         hint="Give the PEM file of the CA that signed the cart's certificate with --ca-bundle.")
    try:
        return ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        raise UsageError(f"CA bundle {ca_bundle!r} is not a PEM certificate file ({exc.reason})") from None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_DNS_MARKERS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
                "getaddrinfo failed", "no address associated", "name resolution")


class SetiClient:
    """Talks SETI to one cart's integration script. Use as a context manager, or call close()."""

    def __init__(self, url: str, *, user: str = "", password: Secret | None = None, store_code: str = "",
                 omversion: str = "6.000", ca_bundle: str | None = None, timeout: float = 30.0,
                 max_reply_bytes: int = 64 * 2**20, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.url = _script_url(url)
        self.host = httpx.URL(self.url).host
        self.user = check_field("Cart ID/User Name", user)
        self.store_code = check_field("Store Code", store_code)
        self.omversion = check_field("omversion", omversion)
        self._password = password if password is not None else Secret("")
        if any(c in self._password.reveal() for c in "\r\n\x00"):
            raise UsageError("the Cart Password contains a line break or NUL, which cannot be sent")
        secret = self._password.reveal()
        # the forms in which a broken script could echo the password back into a reply
        self._secret_forms = tuple({secret, quote_plus(secret), quote(secret, safe=""), html.escape(secret)}) \
            if secret else ()
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes
        self.retry = retry if retry is not None else RetryPolicy()
        self._http = httpx.Client(
            transport=transport, verify=_verify(ca_bundle), timeout=timeout, follow_redirects=False,
            # identity: never inflate a compressed body beyond what max_reply_bytes accounts for
            headers={"User-Agent": f"seconnect/{_VERSION}", "Accept-Encoding": "identity"},
        )

    @classmethod
    def for_cart(cls, cart: CartDefinition, **kw: Any) -> SetiClient:
        """A client for a stored cart definition; keyword arguments override its values."""
        options: dict[str, Any] = {
            "user": cart.user, "password": cart.password, "store_code": cart.store_code,
            "ca_bundle": cart.ca_bundle, "timeout": float(cart.param("RequestTimeout", 30)),
        }
        options.update(kw)
        return cls(cart.url, **options)

    def __repr__(self) -> str:
        return f"SetiClient({self.url!r}, user={self.user!r})"

    def close(self) -> None:
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
        return self.retry.run(lambda: self._exchange(function, form, parse), idempotent=idempotent,
                              what=f"{function} at {self.host}")

    def _exchange(self, function: str, form: dict[str, str], parse: Callable[[Iterator[bytes]], T]) -> T:
        try:
            try:
                with hiding(*self._secret_forms), self._http.stream("POST", self.url, data=form) as response:
                    self._check_status(response, function)
                    log.debug("%s at %s: HTTP 200", function, self.host)
                    return parse(self._body(response, function))
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, function) from exc
        except SeconnectError as err:
            raise self._scrub(err) from err.__cause__

    def _scrub(self, err: SeconnectError) -> SeconnectError:
        """Mask the password in an error's texts: broken scripts echo the request, and a SETIError
        description may quote it. (Reply excerpts are masked as they are cut, see ``hiding``.)"""
        for attr in ("message", "hint"):
            value = getattr(err, attr)
            for form in self._secret_forms:
                if value and form in value:
                    value = value.replace(form, "********")
            setattr(err, attr, value)
        err.args = (err.message,)
        return err

    def _check_status(self, response: httpx.Response, function: str) -> None:
        status = response.status_code
        if status == 200:
            return
        message = f"{function}: {self.host} answered HTTP {status} {response.reason_phrase}".rstrip()
        if status == 404:
            hint: str | None = NOT_FOUND_HINT
        elif 300 <= status < 400:
            location = response.headers.get("location", "")
            hint = (f"The Script URL redirects to {location[:200]!r}: enter the final address as the "
                    "Script URL (a redirected POST loses its fields).")
        elif status in (401, 403):
            hint = ("The web server refused the request before the script ran (HTTP authentication, "
                    "firewall or security rule): ask the web host to allow POSTs to the script.")
        elif status == 429 or status >= 500:
            hint = "The cart is overloaded or failing; the call is retried. If it persists, check the web server."
        else:
            hint = ("SETI scripts answer every call with HTTP 200: check the Script URL and the web server's "
                    "error log.")
        raise CartHTTPError(message, status=status, hint=hint,
                            retry_after=parse_retry_after(response.headers.get("retry-after")))

    def _body(self, response: httpx.Response, function: str) -> Iterator[bytes]:
        """The reply's bytes, stopping with an error once more than max_reply_bytes arrived or the
        whole reply took longer than the timeout (httpx's timeouts are per read, so a script that
        trickles bytes forever would otherwise never time out)."""
        deadline = time.monotonic() + self.timeout
        cap = self.max_reply_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_big(function)
        seen = 0
        for chunk in response.iter_bytes():
            seen += len(chunk)
            if seen > cap:
                raise self._too_big(function)
            if time.monotonic() > deadline:
                raise CartUnreachable(
                    f"{function}: {self.host} did not finish its reply within {self.timeout:g} s (timed out)",
                    hint="The script is very slow: lower DownloadBatchSize or raise RequestTimeout for this cart.")
            yield chunk

    def _too_big(self, function: str) -> CartProtocolError:
        return CartProtocolError(f"{function}: the reply is larger than {self.max_reply_bytes:,} bytes; "
                                 "stopped reading it",
                                 hint="Lower the batch size (Order Download Batch) or raise the reply size limit.")

    def _transport_error(self, exc: httpx.HTTPError, function: str) -> SeconnectError:
        host = self.host
        detail = str(exc)[:160]
        if isinstance(exc, httpx.TimeoutException):
            what = {httpx.ConnectTimeout: f"timed out connecting to {host}",
                    httpx.ReadTimeout: f"{host} sent no reply within {self.timeout:g}s",
                    httpx.WriteTimeout: f"timed out sending the request to {host}",
                    }.get(type(exc), f"no free connection to {host} within {self.timeout:g}s")
            return CartUnreachable(f"{function}: {what}",
                                   hint="Raise RequestTimeout or lower the batch size if the cart is slow.")
        tls = next((e for e in _causes(exc) if isinstance(e, ssl.SSLError)), None)
        if tls is not None or "CERTIFICATE_VERIFY_FAILED" in detail or "[SSL" in detail:
            reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or detail
            if isinstance(tls, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in detail:
                return CartTLSError(f"{function}: the certificate of {host} could not be verified ({reason})",
                                    hint=TLS_HINT)
            return CartTLSError(f"{function}: the TLS handshake with {host} failed ({reason})",
                                hint="Check that the Script URL is served over HTTPS on that port. " + TLS_HINT)
        if isinstance(exc, httpx.ConnectError):
            causes = list(_causes(exc))
            lowered = detail.lower()
            if any(isinstance(e, socket.gaierror) for e in causes) or any(m in lowered for m in _DNS_MARKERS):
                return CartUnreachable(f"{function}: cannot resolve the host name {host!r} ({detail})",
                                       hint="Check the Script URL's host name and this machine's DNS.")
            if any(isinstance(e, ConnectionRefusedError) for e in causes) or "refused" in lowered:
                return CartUnreachable(f"{function}: {host} refused the connection ({detail})",
                                       hint="The web server is not accepting connections on that port; "
                                            "check the Script URL and that the site is up.")
            return CartUnreachable(f"{function}: cannot connect to {host} ({detail})",
                                   hint="Check the Script URL and this machine's network connection.")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return UsageError(f"the Script URL {self.url!r} is not an http(s) address")
        if isinstance(exc, httpx.DecodingError):
            return CartProtocolError(f"{function}: the reply's content encoding could not be decoded ({detail})",
                                     hint="The web server sent a compressed reply it did not compress correctly; "
                                          "ask the web host to check its compression settings.")
        if isinstance(exc, httpx.TransportError):
            return CartUnreachable(f"{function}: the connection to {host} was reset or closed before the reply "
                                   f"was complete ({detail})",
                                   hint="A proxy, firewall or the web server dropped the connection; "
                                        "it is retried where that is safe.")
        return CartProtocolError(f"{function}: HTTP exchange with {host} failed ({detail})")


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
