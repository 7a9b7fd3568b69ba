"""The HTTP layer every cart type shares: TLS, timeouts, a reply size cap, errors and retries.

A plugin talks to its cart through a :class:`CartHTTP` — usually ``CartHTTP.for_cart(cart, …)``,
which keeps one client (and its TLS connection) per cart and process, so hook calls do not each
pay a new handshake. Each :meth:`CartHTTP.request` runs under the cart's :class:`RetryPolicy`,
reads the reply within ``max_reply_bytes`` and one whole-reply deadline, and turns every failure
into a :mod:`seconnect.errors` type whose hint names the fix. Every :class:`~seconnect.errors.CartError`
says whether the request may have reached the cart (``may_have_reached_cart``), decided where
the error is raised; the retry policy and the outbox read that, never the exception chain.
"""

from __future__ import annotations

import atexit
import email.utils
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, TypeVar

import httpx
import tenacity

from .cartdef import CartDefinition
from .errors import (
    CartError,
    CartHTTPError,
    CartProtocolError,
    CartTLSError,
    CartUnreachable,
    SeconnectError,
    UsageError,
)
from .tls import ENV_CERT_FILE, UnusableTrust, default_trust, trust_context

__all__ = [
    "CartHTTP",
    "Reply",
    "RetryPolicy",
    "certainly_unprocessed",
    "https_url",
    "parse_retry_after",
    "transport_error",
    "tls_context",
    "USER_AGENT",
]

T = TypeVar("T")
log = logging.getLogger("seconnect.http")

try:
    USER_AGENT = f"seconnect/{metadata.version('seconnect')}"
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    USER_AGENT = "seconnect/0"

TLS_HINT = ("If the cart uses a self-signed or private-CA certificate, give that CA's PEM file with "
            "--ca-bundle (kept in the cart definition); do not turn verification off.")
_DNS_MARKERS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
                "getaddrinfo failed", "no address associated", "name resolution")
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def certainly_unprocessed(exc: BaseException) -> bool:
    """True when the cart cannot have acted on the request that raised ``exc``."""
    return isinstance(exc, CartError) and not exc.may_have_reached_cart


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


def tls_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """A context trusting ``ca_bundle``; else the one SSL_CERT_FILE / SSL_CERT_DIR ask for; else
    True: httpx's default store. Verification is never switched off."""
    if not ca_bundle:
        try:
            return default_trust() or True
        except UnusableTrust as exc:
            raise CartTLSError(f"the trusted certificates cannot be loaded: {exc}",
                               hint=f"Point {ENV_CERT_FILE} at a readable PEM file of CA certificates, or unset it "
                                    "to use the built-in ones; a cart's own CA goes in its --ca-bundle.") from None
    try:
        return trust_context(ca_bundle)
    except UnusableTrust as exc:
        raise UsageError(f"CA bundle {ca_bundle!r} cannot be used: {exc}",
                         hint="Give the PEM file of the CA that signed the cart's certificate with "
                              "`seconnect carts edit NAME --ca-bundle FILE`.") from None


# --- retries -------------------------------------------------------------------------------------

def _no_sleep(_seconds: float) -> None:
    return None


class _StopBeforeTotal(tenacity.stop.stop_base):
    """Like tenacity's stop_before_delay, but time slept through an injected ``sleep`` counts
    too (``idle_for``), so the bound holds the same with real and with fake sleeping."""

    def __init__(self, total: float, already: float = 0.0):
        self.total, self.already = total, already  # already: seconds spent before tenacity started

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        elapsed = max((state.seconds_since_start or 0.0) + self.already, state.idle_for)
        return elapsed + state.upcoming_sleep >= self.total


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy for cart calls (tenacity).

    * Retried: :class:`~seconnect.errors.CartUnreachable` (DNS, refused, reset, timeout) and
      :class:`~seconnect.errors.CartHTTPError` with ``retriable`` true (5xx, 429). Nothing else:
      the same call would fail the same way.
    * Calls that are not idempotent (a stock delta, a status push that may e-mail the customer)
      are retried only when the cart certainly did not get them (``may_have_reached_cart`` false:
      no connection was made, or the cart answered 429 / 503).
    * Waits grow exponentially with jitter (``initial * 2**n`` up to ``max_wait``, plus up to
      ``jitter`` s). A wait the cart asked for (``retry_after`` on the error: Retry-After or a
      rate-limit reset header the cart type names) replaces it, capped at ``max_retry_after``.
      At most ``attempts`` tries, and no wait that would end past ``total_seconds``.

    Tests inject ``sleep`` (e.g. ``RetryPolicy.no_wait()``) so no real time passes.
    """

    attempts: int = 4
    total_seconds: float = 120.0
    initial_wait: float = 1.0
    max_wait: float = 30.0
    jitter: float = 1.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def no_wait(cls, attempts: int = 4) -> RetryPolicy:
        """Same decisions, no real sleeping: for tests and dry runs."""
        return cls(attempts=attempts, sleep=_no_sleep)

    @classmethod
    def never(cls) -> RetryPolicy:
        """One try only (e.g. the interactive Test Script URL)."""
        return cls(attempts=1)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        if not isinstance(exc, (CartUnreachable, CartHTTPError)) or not exc.retriable:
            return False
        return idempotent or certainly_unprocessed(exc)

    def run(self, fn: Callable[[], T], *, idempotent: bool = True, what: str = "cart call") -> T:
        """Call ``fn`` under this policy; the last error is re-raised as is when giving up."""
        started = time.monotonic()
        try:  # the first try alone: most calls succeed, and building the retry machinery costs
            return fn()  # as much as a third of a kept-alive request's own CPU time
        except BaseException as exc:
            if self.attempts <= 1 or not self.should_retry(exc, idempotent=idempotent):
                raise
            failed = [exc]

        def again() -> T:  # tenacity's first attempt is the one that just failed
            if failed:
                raise failed.pop()
            return fn()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            message = getattr(exc, "message", type(exc).__name__)
            log.warning("%s failed (%s); try %d of %d in %.1fs", what, message,
                        state.attempt_number + 1, self.attempts, state.upcoming_sleep)

        backoff = tenacity.wait_exponential_jitter(multiplier=self.initial_wait, max=self.max_wait,
                                                   jitter=self.jitter)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                return max(0.0, min(float(retry_after), self.max_retry_after))
            return backoff(state)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts) | _StopBeforeTotal(self.total_seconds,
                                                                               time.monotonic() - started),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda e: self.should_retry(e, idempotent=idempotent)),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(again)


# --- the client ----------------------------------------------------------------------------------

StatusHints = Callable[[int, httpx.Response], str | None]


@dataclass(frozen=True)
class Reply:
    """A whole reply, for callers that decide by its status themselves (``ok`` lists those)."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is a CartProtocolError showing its start."""
        try:
            return _JSON.decode(self.body.decode(json.detect_encoding(self.body), "surrogatepass"))
        except ValueError:  # UnicodeDecodeError too
            raise CartProtocolError(f"the answer is not JSON: {self.body[:80]!r}") from None


def _not_json(token: str) -> Any:
    # json.loads takes NaN and Infinity, which JSON does not have (nor could a record carry them on)
    raise ValueError(f"{token} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_not_json)  # made once: json.loads(..., parse_constant=) makes one a call


def _default_hint(status: int, response: httpx.Response) -> str | None:
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return (f"The cart's address redirects to {location[:200]!r}: enter the final address "
                "(a redirected POST loses its fields).")
    if status in (401, 403):
        return "The cart refused the request: check the cart's credentials and the web server's access rules."
    if status == 429 or status >= 500:
        return "The cart is overloaded or failing; the call is retried. If it persists, check the web server."
    return None


class CartHTTP:
    """HTTPS to one cart: a kept-alive httpx client plus the rules above. A context manager.

    ``base_url`` gets ``https://`` when typed without a scheme. ``wait_headers`` maps a reply
    header to seconds per unit for the wait a 429/503 asks for (``{"retry-after": 1}`` by default;
    a type adds e.g. a rate-limit reset header in milliseconds as ``0.001``); ``status_hints``
    gives a cart type's own hint per HTTP status; ``secrets`` are masked in every error text;
    ``on_response`` sees each reply's headers (rate-limit pacing).
    """

    def __init__(self, base_url: str, *, ca_bundle: str | None = None, timeout: float = 30.0,
                 max_reply_bytes: int = 64 * 2**20, retry: RetryPolicy | None = None,
                 headers: Mapping[str, str] | None = None, auth: httpx.Auth | tuple[str, str] | None = None,
                 wait_headers: Mapping[str, float] | None = None, status_hints: StatusHints | None = None,
                 secrets: tuple[str, ...] = (), on_response: Callable[[httpx.Response], None] | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = https_url(base_url)
        self.host = httpx.URL(self.base_url).host
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes
        self.retry = retry if retry is not None else RetryPolicy()
        self.wait_headers = {k.lower(): v for k, v in (wait_headers or {"retry-after": 1.0}).items()}
        self.status_hints = status_hints
        self.secrets = tuple(s for s in secrets if s)
        self.on_response = on_response
        self._http = httpx.Client(
            transport=transport, verify=tls_context(ca_bundle), timeout=timeout, follow_redirects=False,
            auth=auth,
            # identity: never inflate a compressed body beyond what max_reply_bytes accounts for
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})},
        )

    # One client per cart, kind and settings, for the life of the process (helpers have their own);
    # the least recently used are closed beyond SHARED_MAX, so a long-lived process keeps few sockets.
    SHARED_MAX = 32
    _shared: dict[tuple, CartHTTP] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def for_cart(cls, cart: CartDefinition, base_url: str | None = None, **options: Any) -> CartHTTP:
        """The process's kept-alive client for this cart and these options (made on first use).

        Options are those of the constructor; any change of them (a new CA bundle, token or
        timeout after ``carts edit``) gives a new client. ``transport`` and ``retry`` are not
        shared: pass them to the constructor instead.
        """
        options.setdefault("ca_bundle", cart.ca_bundle)
        options.setdefault("timeout", float(cart.param("RequestTimeout", 30)))
        url = base_url or cart.url
        key = (cart.id, cart.name, url, tuple(sorted((k, _frozen(v)) for k, v in options.items())))
        with cls._shared_lock:
            client = cls._shared.pop(key, None)
            if client is None or client.is_closed:
                client = cls(url, **options)
            cls._shared[key] = client  # most recently used last
            stale = list(cls._shared)[:-cls.SHARED_MAX]
            for old in stale:
                cls._shared.pop(old).close()
            return client

    @classmethod
    def close_shared(cls) -> None:
        """Close every kept client (at exit, and in tests that want fresh connections)."""
        with cls._shared_lock:
            clients, cls._shared = list(cls._shared.values()), {}
        for client in clients:
            client.close()

    def __repr__(self) -> str:
        return f"CartHTTP({self.base_url!r})"

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CartHTTP:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, method: str, path: str = "", *, what: str,
                parse: Callable[[Iterator[bytes]], T] | None = None, ok: tuple[int, ...] = (200,),
                idempotent: bool = True, retry: RetryPolicy | None = None, **kwargs: Any) -> T | Reply:
        """One call under the retry policy: ``parse`` gets the reply's byte chunks (capped and
        time-bounded) and its result is returned; without ``parse``, a :class:`Reply`. A status
        outside ``ok`` raises :class:`~seconnect.errors.CartHTTPError`. ``kwargs`` go to httpx
        (``params``, ``data``, ``json``, ``headers``)."""
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if path else self.base_url
        policy = retry or self.retry
        return policy.run(lambda: self._exchange(method, url, what, parse, ok, kwargs),
                          idempotent=idempotent, what=f"{what} at {self.host}")

    def _exchange(self, method: str, url: str, what: str, parse: Callable[[Iterator[bytes]], T] | None,
                  ok: tuple[int, ...], kwargs: dict[str, Any]) -> T | Reply:
        try:
            try:
                with self._http.stream(method, url, **kwargs) as response:
                    if self.on_response is not None:
                        self.on_response(response)
                    if response.status_code not in ok:
                        raise self._status_error(response, what)
                    log.debug("%s at %s: HTTP %d", what, self.host, response.status_code)
                    if parse is None:
                        return Reply(response.status_code, response.headers, b"".join(self._body(response, what)))
                    return parse(self._body(response, what))
            except httpx.HTTPError as exc:
                raise transport_error(exc, what=what, host=self.host, timeout=self.timeout) from exc
        except SeconnectError as err:
            raise self._scrub(err) from err.__cause__

    def _status_error(self, response: httpx.Response, what: str) -> CartHTTPError:
        status = response.status_code
        hint = (self.status_hints(status, response) if self.status_hints else None) or _default_hint(status, response)
        return CartHTTPError(f"{what}: {self.host} answered HTTP {status} {response.reason_phrase}".rstrip(),
                             status=status, hint=hint, retry_after=self._asked_wait(response))

    def _asked_wait(self, response: httpx.Response) -> float | None:
        for header, unit in self.wait_headers.items():
            value = response.headers.get(header)
            if header == "retry-after":
                seconds = parse_retry_after(value)
            else:
                try:
                    seconds = float(value) * unit if value else None
                except ValueError:
                    seconds = None
            if seconds is not None:
                return max(0.0, seconds)
        return None

    def _body(self, response: httpx.Response, what: str) -> Iterator[bytes]:
        """The reply's bytes, stopping with an error once more than max_reply_bytes arrived or the
        whole reply took longer than the timeout (httpx's timeouts are per read, so a cart that
        trickles bytes forever would otherwise never time out)."""
        deadline = time.monotonic() + self.timeout
        cap = self.max_reply_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._too_big(what)
        seen = 0
        for chunk in response.iter_bytes():
            seen += len(chunk)
            if seen > cap:
                raise self._too_big(what)
            if time.monotonic() > deadline:
                raise CartUnreachable(
                    f"{what}: {self.host} did not finish its reply within {self.timeout:g} s (timed out)",
                    hint="The cart is very slow: lower DownloadBatchSize or raise RequestTimeout for this cart.")
            yield chunk

    def _too_big(self, what: str) -> CartProtocolError:
        return CartProtocolError(f"{what}: the reply is larger than {self.max_reply_bytes:,} bytes; stopped reading it",
                                 hint="Lower the batch size (DownloadBatchSize) or raise the reply size limit.")

    def _scrub(self, err: SeconnectError) -> SeconnectError:
        """Mask the secrets in an error's texts: broken carts echo the request back."""
        for attr in ("message", "hint"):
            value = getattr(err, attr)
            for secret in self.secrets:
                if value and secret in value:
                    value = value.replace(secret, "********")
            setattr(err, attr, value)
        err.args = (err.message,)
        return err


def https_url(url: str, label: str = "the cart's address") -> str:
    """Merchants type cart addresses without ``https://``; accept both. ``label`` names the
    field in the error (a cart type's own word for it, e.g. "the Script URL")."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"{label} {url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"{label} {url!r} must be an https:// address with a host name")
    return url


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value if isinstance(value, str | int | float | bool | type(None)) else id(value)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_error(exc: httpx.HTTPError, *, what: str, host: str, timeout: float) -> SeconnectError:
    """The seconnect error for an httpx failure, with ``may_have_reached_cart`` decided here."""
    error = _transport_error(exc, what, host, timeout)
    if isinstance(error, CartError):
        error.may_have_reached_cart = not isinstance(exc, _NOT_SENT)
    return error


def _transport_error(exc: httpx.HTTPError, what: str, host: str, timeout: float) -> SeconnectError:
    detail = str(exc)[:160]
    if isinstance(exc, httpx.TimeoutException):
        text = {httpx.ConnectTimeout: f"timed out connecting to {host}",
                httpx.ReadTimeout: f"{host} sent no reply within {timeout:g}s",
                httpx.WriteTimeout: f"timed out sending the request to {host}",
                }.get(type(exc), f"no free connection to {host} within {timeout:g}s")
        return CartUnreachable(f"{what}: {text}",
                               hint="Raise RequestTimeout or lower the batch size if the cart is slow.")
    tls = next((e for e in _causes(exc) if isinstance(e, ssl.SSLError)), None)
    if tls is not None or "CERTIFICATE_VERIFY_FAILED" in detail or "[SSL" in detail:
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or detail
        if isinstance(tls, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in detail:
            return CartTLSError(f"{what}: the certificate of {host} could not be verified ({reason})",
                                hint=TLS_HINT)
        return CartTLSError(f"{what}: the TLS handshake with {host} failed ({reason})",
                            hint="Check that the cart's address is served over HTTPS on that port. " + TLS_HINT)
    if isinstance(exc, httpx.ConnectError):
        causes = list(_causes(exc))
        lowered = detail.lower()
        if any(isinstance(e, socket.gaierror) for e in causes) or any(m in lowered for m in _DNS_MARKERS):
            return CartUnreachable(f"{what}: cannot resolve the host name {host!r} ({detail})",
                                   hint="Check the cart's host name and this machine's DNS.")
        if any(isinstance(e, ConnectionRefusedError) for e in causes) or "refused" in lowered:
            return CartUnreachable(f"{what}: {host} refused the connection ({detail})",
                                   hint="The web server is not accepting connections on that port; "
                                        "check the cart's address and that the site is up.")
        return CartUnreachable(f"{what}: cannot connect to {host} ({detail})",
                               hint="Check the cart's address and this machine's network connection.")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UsageError(f"the cart's address for {host!r} is not an http(s) address")
    if isinstance(exc, httpx.DecodingError):
        return CartProtocolError(f"{what}: the reply's content encoding could not be decoded ({detail})",
                                 hint="The web server sent a compressed reply it did not compress correctly; "
                                      "ask the web host to check its compression settings.")
    if isinstance(exc, httpx.TransportError):
        return CartUnreachable(f"{what}: the connection to {host} was reset or closed before the reply "
                               f"was complete ({detail})",
                               hint="A proxy, firewall or the web server dropped the connection; "
                                    "it is retried where that is safe.")
    return CartProtocolError(f"{what}: HTTP exchange with {host} failed ({detail})")


atexit.register(CartHTTP.close_shared)
