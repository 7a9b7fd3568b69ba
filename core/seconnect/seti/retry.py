"""The one retry policy for cart calls, built on tenacity.

Rules (read from the error's ``retriable`` flag, see :mod:`seconnect.errors`):

* Retried: :class:`~seconnect.errors.CartUnreachable` (DNS, refused, reset, timeout) and
  :class:`~seconnect.errors.CartHTTPError` with ``retriable`` true (5xx, 429).
* Never retried: CartRejected, CartAuthError, CartTLSError, CartProtocolError, UsageError —
  the same call would fail the same way.
* Calls that are not idempotent (``invupdate`` adds a delta; ``updatestatus`` may e-mail the
  customer and add tracking rows each time) are retried only when the cart certainly did not
  process the request: the connection was never made (connect error, connect timeout, no free
  pooled connection) or the cart answered 429 / 503. A read timeout or a reset after sending
  is not retried: the cart may have applied the change.
* Waits grow exponentially with random jitter (``initial * 2**n`` up to ``max_wait``, plus up to
  ``jitter`` seconds). A ``Retry-After`` from the cart replaces that wait, capped at
  ``max_retry_after``. At most ``attempts`` tries, and no wait that would end past
  ``total_seconds`` after the first try starts.

Tests inject ``sleep`` (e.g. ``RetryPolicy.no_wait()``) so no real time passes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import tenacity

from ..errors import CartHTTPError, CartUnreachable

__all__ = ["RetryPolicy", "certainly_unprocessed"]

T = TypeVar("T")
log = logging.getLogger("seconnect.seti")

# httpx errors raised before any byte of the request reached the cart.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def certainly_unprocessed(exc: BaseException) -> bool:
    """True when the cart cannot have acted on the request that raised ``exc``."""
    if isinstance(exc, CartHTTPError):
        return exc.status in (429, 503)
    return isinstance(exc, CartUnreachable) and isinstance(exc.__cause__, _NOT_SENT)


def _no_sleep(_seconds: float) -> None:
    return None


class _StopBeforeTotal(tenacity.stop.stop_base):
    """Like tenacity's stop_before_delay, but time slept through an injected ``sleep`` counts
    too (``idle_for``), so the bound holds the same with real and with fake sleeping."""

    def __init__(self, total: float):
        self.total = total

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        elapsed = max(state.seconds_since_start or 0.0, state.idle_for)
        return elapsed + state.upcoming_sleep >= self.total


@dataclass(frozen=True)
class RetryPolicy:
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
            stop=tenacity.stop_after_attempt(self.attempts) | _StopBeforeTotal(self.total_seconds),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda e: self.should_retry(e, idempotent=idempotent)),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
