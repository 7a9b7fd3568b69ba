"""`seconnect run import-customers` — "Import customer records from the website".

Every customer record the cart holds is downloaded (the plugin works around scripts whose
paging is broken, such as the Interspire module's, by asking for everything at once), checked
against ``customer.schema.json`` and matched to the store file's customers by the ordered
``CustomerSearchField1..4`` rules (:mod:`seconnect.matching`): a match links the cart's
customer id to the existing customer and fills only that customer's blank fields; no match
creates a customer. ``WebID`` is optional (some carts have GUID ids or none): a record without
one is matched by the rules alone, and quarantined only when it offers no key to any of them
(importing it would create a new customer on every run). Each download batch is written in one transaction; an invalid record is
quarantined with the reason and the rest of the batch imports. A rerun creates nothing new:
every record then finds its customer through the identity link.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from ..capabilities import Capability
from ..cartdef import CartDefinition
from ..matching import CREATED, CustomerMatcher, facts_from_customer
from ..plugins import Plugins
from ..store import Store
from .base import JobRun, RecordCheck, cart_lock, quarantine_record

__all__ = ["JOB", "import_customers"]

JOB = "import-customers"
SOURCE = "customer import"
_MAX_LISTED = 100
_UNFINDABLE = ("the record has no WebID and nothing the CustomerSearchField rules ({rules}) can match it by, "
               "so every import would create it again")


def import_customers(store: Store, plugins: Plugins, cart: CartDefinition, *,
                     progress: Callable[[int], None] | None = None,
                     on_wait: Callable[[], None] | None = None) -> dict[str, Any]:
    """Import the cart's customer records; returns the run's summary.

    Summary: ``cart``, ``received`` (records downloaded), ``created`` (new customers),
    ``matched`` (``{rule: count}``, ``"web id link"`` for records already linked),
    ``filled`` (existing customers whose blank fields were filled) and ``quarantined``.

    :param progress: called with the number of records handled after each batch.
    :param on_wait: called once if another customer import of this cart holds the lock.
    """
    plugins.require(cart, Capability.IMPORT_CUSTOMERS)  # refuse before recording a run
    check = RecordCheck("customer")
    matched: Counter[str] = Counter()
    summary: dict[str, Any] = {"cart": cart.name, "received": 0, "created": 0, "matched": {},
                               "filled": 0, "quarantined": 0}
    with JobRun(store, JOB, cart) as run, cart_lock(store, JOB, cart, on_wait=on_wait):
        run.summary = summary  # a failed run still records what was stored before the failure
        batches = plugins.call("import_customers", cart, Capability.IMPORT_CUSTOMERS,
                               batch_size=int(cart.param("DownloadBatchSize", 50)))
        try:
            for records in batches:
                with store.begin() as conn:
                    _store_batch(conn, run, cart, records, check, summary, matched)
                if progress:
                    progress(len(records))
        finally:
            summary["created"] = matched.pop(CREATED, 0)
            summary["matched"] = dict(sorted(matched.items()))
    return summary


def _store_batch(conn: Connection, run: JobRun, cart: CartDefinition, records: Sequence[Any],
                 check: RecordCheck, summary: dict[str, Any], matched: Counter[str]) -> None:
    summary["received"] += len(records)
    matcher = CustomerMatcher(conn, cart, source=SOURCE, fill_blanks=True)
    good: list[dict] = []
    for record in records:
        problems = check.problems(record)
        if not problems and not matcher.can_find(facts_from_customer(record)):
            problems = [_UNFINDABLE.format(rules=", ".join(matcher.rules) or "none")]
        if not problems:
            good.append(record)
            continue
        web_id = record.get("web_id") if isinstance(record, dict) else None
        web_id = str(web_id) if web_id is not None else None
        quarantine_record(conn, cart, "customer", web_id, "; ".join(problems), record)
        run.event(conn, "customer-quarantined", web_id=web_id, reason=problems[0])
        summary["quarantined"] += 1
    ambiguous: list[dict[str, Any]] = []
    for record, result in zip(good, matcher.match_many([facts_from_customer(r) for r in good]), strict=True):
        matched[result.rule] += 1
        if result.filled:
            summary["filled"] += 1
        if result.detail:
            ambiguous.append({"web_id": record.get("web_id"), "customer_id": result.customer_id, "rule": result.rule,
                              "detail": result.detail})
    if ambiguous:
        # One event per batch: a store where many customers share a phone must not turn the audit
        # log into one row per record.
        run.event(conn, "customer-matches-ambiguous", count=len(ambiguous), records=ambiguous[:_MAX_LISTED])
