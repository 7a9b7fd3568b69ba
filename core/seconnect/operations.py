"""Values exchanged between core and cart plugins (hook arguments and results).

Records (orders, products, customers) travel as plain dicts shaped by the JSON Schemas in
``seconnect_schemas``; everything else a hook takes or returns is one of these small frozen
dataclasses, so a plugin never depends on the store layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ScriptVersion",
    "OrderBatch",
    "InventoryAction",
    "InventoryRow",
    "InventoryOutcome",
    "InventoryResult",
    "Package",
    "StatusUpdate",
    "StatusResult",
    "WebhookAction",
]


class ScriptVersion(str):
    """What ``test_script`` may return instead of a plain ``str``: the version, plus ``warnings``
    where the script's replies do not look like the declared cart type (e.g. a generic script
    behind a cart defined as Interspire). The plugin decides what "looks like" means; core only
    prints the warnings. ``credentials_checked`` says the test proved the credentials even when
    not asked to (a REST API answers nothing without them). It is a ``str``, so code that expects
    the version keeps working."""

    warnings: tuple[str, ...]
    credentials_checked: bool

    def __new__(cls, version: str, warnings: Iterable[str] = (), *, credentials_checked: bool = False
                ) -> ScriptVersion:
        obj = super().__new__(cls, version)
        obj.warnings = tuple(warnings)
        obj.credentials_checked = credentials_checked
        return obj


@dataclass(frozen=True)
class OrderBatch:
    """Orders of one download batch, and where to resume once they are stored.

    Core stores ``records`` and ``checkpoint`` in one transaction, so after a crash the next
    run passes ``checkpoint`` back to ``import_orders`` and nothing is lost or repeated.
    ``expected`` (optional) is how many orders the cart announced for the whole import: the
    progress bar shows it as the total, with an ETA.
    """

    records: list[dict]
    checkpoint: str
    expected: int | None = None


class InventoryAction(StrEnum):
    GET = "get"  # read quantities on hand from the cart
    SEND = "send"  # set absolute quantities at the cart
    ADJUST = "adjust"  # apply signed deltas at the cart (real-time, where absolute is not possible)


@dataclass(frozen=True)
class InventoryRow:
    """A quantity on hand as the cart reports it. ``qoh`` is None when the cart does not track it;
    ``code`` is ``""`` for a row the cart sent without one (core skips and counts it)."""

    code: str
    qoh: int | None
    web_id: str | None = None


class InventoryOutcome(StrEnum):
    OK = "ok"
    NOT_FOUND = "not-found"
    NOT_TRACKED = "not-tracked"
    ERROR = "error"
    UNVERIFIED = "unverified"  # the cart's answer cannot be trusted; core verifies by reading back


@dataclass(frozen=True)
class InventoryResult:
    code: str
    outcome: InventoryOutcome
    qoh: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Package:
    tracking_number: str
    carrier: str = ""
    pickup_date: str = ""
    method: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    """A status label (and tracking) to push for one order, as the cart numbered it."""

    order_number: str
    status: str
    ref_number: str = ""
    note: str = ""
    packages: tuple[Package, ...] = ()


@dataclass(frozen=True)
class StatusResult:
    accepted: bool
    notes: str = ""


@dataclass(frozen=True)
class WebhookAction:
    """What the ``webhook_received`` hook decides about one delivery to ``POST /hooks/<cart>``.

    Build it with :meth:`run`, :meth:`ignore` or :meth:`reject`:

    - ``run(job, dedupe_key)``: the event means ``job`` (e.g. ``"import-orders"``) should run for
      the cart soon. Deliveries with a ``dedupe_key`` already received are absorbed; a burst of
      events becomes one run, never one per event.
    - ``ignore(reason)``: genuine, but nothing to do (answered 200).
    - ``reject(reason)``: not from the cart (a bad signature or secret): answered 401, nothing stored.
    """

    outcome: str
    job: str | None = None
    dedupe_key: str | None = None
    reason: str = ""

    @classmethod
    def run(cls, job: str, dedupe_key: str | None = None) -> WebhookAction:
        return cls("run", job=job, dedupe_key=dedupe_key)

    @classmethod
    def ignore(cls, reason: str = "") -> WebhookAction:
        return cls("ignore", reason=reason)

    @classmethod
    def reject(cls, reason: str = "") -> WebhookAction:
        return cls("reject", reason=reason)
