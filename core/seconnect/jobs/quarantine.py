"""The quarantine: records an import could not store, parked with their reason and payload.

``retry`` runs a parked record (order, product or customer) through the same checks and the
same storing code as its import, holding that import's lock on the cart so it never races a
running import: an order through ``import_orders``' batch code, a customer through
``import_customers``' (matched to the store file's customers as on import), a product through
``import_products.store_batch`` (the cart's attribute choice; a variation finds or makes its
parent as at the end of a download). A record that now passes is stored and marked resolved;
one that still fails is not parked again: it keeps its place with the new reason and one more
attempt counted.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ..capabilities import Capability
from ..carts import get_cart
from ..errors import NotFoundError
from ..plugins import Plugins
from ..store import Store, tables
from ..store.paging import Page, fetch_page
from .base import JobRun, RecordCheck, cart_lock

__all__ = ["list_quarantined", "retry"]


def list_quarantined(conn: Connection, *, include_resolved: bool = False, limit: int | None = None,
                     offset: int = 0) -> Page:
    """Quarantined records, oldest first (at most ``limit``; ``.total`` counts all)."""
    q, c = tables.quarantine, tables.carts
    query = select(q, c.c.name.label("cart")).join(c, c.c.id == q.c.cart_id).order_by(q.c.id)
    if not include_resolved:
        query = query.where(q.c.resolved_at.is_(None))
    rows = fetch_page(conn, query, limit, offset)
    return Page(({"id": r.id, "cart": r.cart, "kind": r.kind, "external_id": r.external_id, "reason": r.reason,
                  "attempts": r.attempts, "created_at": r.created_at.isoformat(),
                  "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
                  "payload": r.payload} for r in rows), rows.total)


def _retry_order(store: Store, conn: Connection, run: JobRun, cart, record: Any, plugins: Plugins) -> list[str]:
    from .import_orders import _order_row, _store_batch, _Unstorable

    check = RecordCheck("order")
    problems = check.problems(record)
    supported = plugins.capabilities_for(cart).supports(Capability.CUSTOM_ORDER_FIELDS)
    if not problems:
        try:
            _order_row(cart, record, supported)
        except _Unstorable as exc:
            problems = [str(exc)]
    if problems:
        return problems
    summary: Counter[str] = Counter()
    _store_batch(conn, run, plugins, cart, [record], check, supported, summary, Counter())
    return []


def _retry_product(store: Store, conn: Connection, run: JobRun, cart, record: Any, plugins: Plugins) -> list[str]:
    from .import_products import store_batch

    # The import parks a record that still fails (the same payload once); the savepoint undoes
    # that, so the row being retried just gets the new reason.
    savepoint = conn.begin_nested()
    summary = store_batch(store, conn, cart, [record])
    problems = [p.get("reason") or "not stored" for p in summary["planned"] if p["action"] == "quarantine"]
    if problems:
        savepoint.rollback()
    else:
        savepoint.commit()
    return problems


def _retry_customer(store: Store, conn: Connection, run: JobRun, cart, record: Any, plugins: Plugins) -> list[str]:
    from .import_customers import _store_batch

    check = RecordCheck("customer")
    problems = check.problems(record)
    if problems:
        return problems
    _store_batch(conn, run, cart, [record], check, Counter(), Counter())
    return []


_RETRY = {"order": _retry_order, "product": _retry_product, "customer": _retry_customer}


def _import_job(kind: str) -> str:
    """The import job that parks records of ``kind``: a retry holds its lock on the cart."""
    from . import import_customers, import_orders, import_products

    return {"order": import_orders.JOB, "product": import_products.JOB, "customer": import_customers.JOB}[kind]


def retry(store: Store, plugins: Plugins, ids: list[int] | None) -> list[dict[str, Any]]:
    """Retry the given quarantine ids (all parked ones when ``ids`` is None)."""
    q = tables.quarantine
    with store.begin() as conn:
        query = select(q).where(q.c.resolved_at.is_(None)).order_by(q.c.id)
        if ids is not None:
            query = query.where(q.c.id.in_(ids))
        rows = conn.execute(query).all()
        cart_names = dict(conn.execute(select(tables.carts.c.id, tables.carts.c.name)).all())
    if ids is not None:
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise NotFoundError(f"no parked record with id {', '.join(map(str, missing))}.",
                                hint="See `seconnect quarantine list`.")
    results = []
    for row in rows:
        with store.begin() as conn:
            cart = get_cart(conn, cart_names[row.cart_id])
        retry_kind = _RETRY.get(row.kind)
        lock = cart_lock(store, _import_job(row.kind), cart) if retry_kind else nullcontext()
        with JobRun(store, "quarantine-retry", cart) as run, lock, store.begin() as conn:
            if retry_kind is None:
                problems = [f"{row.kind} records cannot be retried (only orders, products and customers)"]
            else:
                problems = retry_kind(store, conn, run, cart, json.loads(row.payload or "null"), plugins)
            values: dict[str, Any] = {"attempts": row.attempts + 1}
            if problems:
                values["reason"] = "; ".join(problems)[:2000]
            else:
                values["resolved_at"] = datetime.now(UTC)
            conn.execute(update(q).where(q.c.id == row.id).values(**values))
            run.summary = {"quarantine_id": row.id, "stored": not problems}
        results.append({"id": row.id, "stored": not problems, "reason": "; ".join(problems)})
    return results
