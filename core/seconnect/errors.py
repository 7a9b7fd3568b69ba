"""Errors, grouped by what the caller should do about them.

Every error seconnect raises on purpose derives from :class:`SeconnectError`. Its message is one
line a merchant can act on; ``hint`` (optional) names the fix. The CLI prints both without a
traceback and exits with ``exit_code``.

::

    SeconnectError                      root; never raised directly (exit 1, see below)
    ├── UsageError                      bad input from the user: fix the command or file (exit 2)
    │   └── NotFoundError               a named cart, parameter, order ... does not exist
    ├── StoreError                      the store database cannot be opened or upgraded (exit 3)
    │   └── JobBusy                     another run of the same job holds its lock
    ├── PluginError                     a plugin is broken or missing (exit 4)
    ├── CapabilityError                 the cart type does not support the operation (exit 5)
    └── CartError                       talking to a cart failed (exit 6, or one of its own:)
        ├── CartUnreachable             DNS, refused, reset, timeout   exit 10  retriable
        ├── CartTLSError                certificate not trusted        exit 11  fatal
        ├── CartHTTPError               non-200 HTTP status            exit 12  retriable if 5xx/429
        ├── CartProtocolError           the reply is not SETI          exit 13  fatal (shows first bytes)
        └── CartRejected                the cart answered a SETI error exit 14  fatal
            └── CartAuthError           credentials rejected           exit 15  fatal

    AttentionNeeded                     the job ran but left work that needs the merchant (exit 7)

Two more codes are not an error class: 1 for a command that stopped before it finished without
one of the errors above (Ctrl-C, a declined confirmation, a sandbox that cannot listen, or a bug,
which prints a traceback), and 6 with ``--all`` when at least one cart failed (each cart's own
error is printed; 6 is also a plugin's :class:`CartError` of no more specific kind).

``retriable`` says whether the same call may succeed later unchanged; the retry policy and the
outbox read it, nothing else decides retries. ``may_have_reached_cart`` (on CartError) says whether
the cart may have received the request; it is set where the error is raised (seconnect.http),
and decides whether a call that is not idempotent may be sent again.

Error texts must never contain secrets: callers pass only what is safe to show.
"""

from __future__ import annotations

__all__ = [
    "SeconnectError",
    "UsageError",
    "NotFoundError",
    "StoreError",
    "JobBusy",
    "PluginError",
    "CapabilityError",
    "CartError",
    "CartUnreachable",
    "CartTLSError",
    "CartHTTPError",
    "CartProtocolError",
    "CartRejected",
    "CartAuthError",
    "AttentionNeeded",
]


class SeconnectError(Exception):
    """Root of every error seconnect raises on purpose."""

    exit_code = 1
    retriable = False

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"

    def __reduce__(self) -> tuple:
        # Errors cross process boundaries (download helpers): rebuild without calling __init__,
        # whose keyword-only arguments the default pickling cannot supply.
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[SeconnectError], args: tuple, state: dict) -> SeconnectError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(SeconnectError):
    """Bad input from the user (command line, file, parameter value)."""

    exit_code = 2


class NotFoundError(UsageError):
    """A named thing (cart, parameter, order, product...) does not exist."""


class StoreError(SeconnectError):
    """The store database cannot be opened, reached or upgraded."""

    exit_code = 3


class JobBusy(StoreError):
    """Another run of the same job (for the same cart, or the one service) holds its lock:
    callers that expect this say what it means in their own words."""


class PluginError(SeconnectError):
    """A plugin failed to load, or no installed plugin handles a cart type."""

    exit_code = 4


class CapabilityError(SeconnectError):
    """The cart's type does not support the requested operation."""

    exit_code = 5


class CartError(SeconnectError):
    """A call to a cart's script failed."""

    exit_code = 6
    may_have_reached_cart = True  # unless whoever raises it knows better


class CartUnreachable(CartError):
    """The script could not be reached (DNS, refused, reset, timeout)."""

    exit_code = 10
    retriable = True


class CartTLSError(CartError):
    """The cart's certificate could not be verified."""

    exit_code = 11


class CartHTTPError(CartError):
    """The script answered with an HTTP status other than 200."""

    exit_code = 12

    def __init__(self, message: str, *, status: int, retry_after: float | None = None,
                 hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after
        self.retriable = status >= 500 or status == 429
        # 429 and 503 are answered before the request is acted on
        self.may_have_reached_cart = status not in (429, 503)


class CartProtocolError(CartError):
    """The reply is not a SETI reply we can read (HTML page, truncated XML...)."""

    exit_code = 13


class CartRejected(CartError):
    """The cart understood the call and answered with a SETI error."""

    exit_code = 14


class CartAuthError(CartRejected):
    """The cart rejected the user name, password or store code."""

    exit_code = 15


class AttentionNeeded(SeconnectError):
    """The job did its work but left some for the merchant: outbox rows it parked, codes the cart
    does not know, records still in quarantine. Raised after the summary is printed."""

    exit_code = 7
