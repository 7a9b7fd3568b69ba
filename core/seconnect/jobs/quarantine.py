"""The quarantine: records an import could not store, parked with their reason and payload.

``retry`` runs a parked record through the same checks and the same storing code as its
import; a record that now passes is stored and marked resolved, one that still fails keeps its
place with the new reason and one more attempt counted.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ..capabilities import Capability
from ..carts import get_cart
from ..errors import NotFoundError
from ..plugins import Plugins
from ..store import Store, tables
from .base import JobRun, RecordCheck

__all__ = ["list_quarantined", "retry"]


def list_quarantined(conn: Connection, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    q, c = tables.quarantine, tables.carts
    query = select(q, c.c.name.label("cart")).join(c, c.c.id == q.c.cart_id).order_by(q.c.id)
    if not include_resolved:
        query = query.where(q.c.resolved_at.is_(None))
    return [{"id": r.id, "cart": r.cart, "kind": r.kind, "external_id": r.external_id, "reason": r.reason,
             "attempts": r.attempts, "created_at": r.created_at.isoformat(),
             "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
             "payload": r.payload} for r in conn.execute(query)]


def _retry_order(conn: Connection, run: JobRun, cart, record: Any, plugins: Plugins) -> list[str]:
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


_RETRY = {"order": _retry_order}


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
        with JobRun(store, "quarantine-retry", cart) as run, store.begin() as conn:
            if retry_kind is None:
                problems = [f"{row.kind} records are retried by importing them again: "
                            f"`seconnect run import-{row.kind}s --cart {cart.name!r}`"]
            else:
                problems = retry_kind(conn, run, cart, json.loads(row.payload or "null"), plugins)
            values: dict[str, Any] = {"attempts": row.attempts + 1}
            if problems:
                values["reason"] = "; ".join(problems)[:2000]
            else:
                values["resolved_at"] = datetime.now(UTC)
            conn.execute(update(q).where(q.c.id == row.id).values(**values))
            run.summary = {"quarantine_id": row.id, "stored": not problems}
        results.append({"id": row.id, "stored": not problems, "reason": "; ".join(problems)})
    return results
