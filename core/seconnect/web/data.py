"""What the dashboard and /api/ read and do: thin calls into the same services the CLI uses.

Each function takes the store and plugins and plain arguments and returns plain data (dicts and
lists), which pages render and the API returns as JSON. Listings are paged (``PER_PAGE`` rows
after an offset) over indexed orderings, so a page costs the same with 100k orders.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from .. import carts as carts_service
from .. import inventory, orders, outbox, runs, status
from ..cli import carts as carts_cli
from ..cli import params as params_cli
from ..cli.products import list_products, product_detail
from ..errors import UsageError
from ..jobs import quarantine

PER_PAGE = 50


def offset_of(page: int) -> int:
    return (max(page, 1) - 1) * PER_PAGE


def _day(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UsageError(f"{name} {text!r} is not a date.", hint="Write it as YYYY-MM-DD, e.g. 2024-03-01.") from None


def paged(rows: list, total: int, page: int) -> dict[str, Any]:
    return {"rows": list(rows), "total": total, "page": max(page, 1), "per_page": PER_PAGE,
            "pages": max(1, -(-total // PER_PAGE))}


def carts(store, plugins) -> list[dict[str, Any]]:
    with store.begin() as conn:
        listed = carts_service.list_carts(conn)
        result = []
        for row in listed:
            cart = carts_service.get_cart(conn, row.name)
            ctype = plugins.find_type(cart.type)
            result.append({"name": row.name, "type": row.type, "active": bool(row.active),
                           "capabilities": plugins.capabilities_for(cart).as_dict() if ctype else None,
                           "last_runs": runs.last_runs(conn, cart.id)})
    return result


def cart_names(store) -> list[str]:
    with store.begin() as conn:
        return [row.name for row in carts_service.list_carts(conn)]


def cart(store, plugins, name: str) -> dict[str, Any]:
    return carts_cli.cart_details(store, plugins, name)


def test_cart(store, plugins, name: str, check_credentials: bool = False) -> list[str]:
    with store.begin() as conn:
        definition = carts_service.get_cart(conn, name)
    return carts_cli.test_connection(plugins, definition, check_credentials)


def run_history(store, *, cart_name: str | None = None, job: str | None = None, page: int = 1) -> dict[str, Any]:
    runs.reap_quietly(store)
    with store.begin() as conn:
        cart_id = carts_service.get_cart(conn, cart_name).id if cart_name else None
        rows, total = runs.list_runs(conn, cart_id=cart_id, job=job or None, limit=PER_PAGE, offset=offset_of(page))
    return paged(rows, total, page)


def outbox_rows(store, *, state: str | None = None, page: int = 1) -> dict[str, Any]:
    states = (state,) if state else ("pending", "sending", "parked")
    with store.begin() as conn:
        rows = outbox.list_rows(conn, states=states, limit=PER_PAGE, offset=offset_of(page))
        counts = outbox.state_counts(conn)
    return {**paged(rows, rows.total, page), "counts": counts}


def retry_outbox(store, plugins, ids: list[int], *, all_parked: bool = False,
                 resend_unconfirmed: bool = False) -> dict[str, Any]:
    if bool(ids) == all_parked:
        raise UsageError("name the parked rows to retry, or ask for all of them.")
    with store.begin() as conn:
        result = outbox.retry_parked(conn, plugins.outbox_kinds, ids=ids, resend_unconfirmed=resend_unconfirmed)
    if result.problems and not result.retried:  # as `outbox retry` says it
        raise UsageError(f"nothing was re-queued: {'; '.join(result.problems)}.",
                         hint="Only parked rows can be retried; see the outbox's parked rows.")
    return asdict(result)


def quarantined(store, *, include_resolved: bool = False, page: int = 1) -> dict[str, Any]:
    with store.begin() as conn:
        rows = quarantine.list_quarantined(conn, include_resolved=include_resolved, limit=PER_PAGE,
                                           offset=offset_of(page))
    return paged(rows, rows.total, page)


def retry_quarantine(store, plugins, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        raise UsageError("name the quarantined records to retry.")
    return quarantine.retry(store, plugins, ids=ids)


def order_list(store, *, cart_name: str | None = None, number: str | None = None, customer: str | None = None,
               since: str | None = None, until: str | None = None, status_label: str | None = None,
               page: int = 1) -> dict[str, Any]:
    with store.begin() as conn:
        rows = orders.list_orders(conn, cart_name or None, PER_PAGE, since=_day(since, "From"),
                                  until=_day(until, "To"), status=status_label or None, number=number or None,
                                  customer=customer or None, offset=offset_of(page))
    return paged(rows, rows.total, page)


def order(store, plugins, cart_name: str, number: str) -> dict[str, Any]:
    with store.begin() as conn:
        details = orders.order_details(conn, cart_name, number)
        definition = carts_service.get_cart(conn, cart_name)
    details["labels"] = status.known_labels(definition)
    details["push_refusal"] = status.push_refusal(plugins, definition)
    return details


def set_order_status(store, plugins, cart_name: str, number: str, label: str, *, tracking: list[str] = (),
                     carrier: str = "", note: str = "") -> dict[str, Any]:
    packages = status.parse_packages([t for t in tracking if t.strip()], carrier=carrier)
    with store.begin() as conn:
        change = status.set_status(conn, plugins, cart_name, number, label, packages=packages, note=note)
    return change.as_dict()


def products(store, *, search: str | None = None, page: int = 1) -> dict[str, Any]:
    with store.begin() as conn:
        rows = list_products(conn, search=search or None, limit=PER_PAGE, offset=offset_of(page))
    return paged(rows, rows.total, page)


def product(store, sku: str) -> dict[str, Any]:
    with store.begin() as conn:
        return product_detail(conn, sku)


def change_qoh(store, plugins, sku: str, *, set_to: int | None = None, adjust_by: int | None = None,
               reason: str | None = None) -> dict[str, Any]:
    if (set_to is None) == (adjust_by is None):
        raise UsageError("give either a quantity to set or an amount to adjust by.")
    with store.begin() as conn:
        if set_to is not None:
            applied = inventory.set_quantity(conn, plugins, sku, set_to, reason=reason or None)
        else:
            applied = inventory.adjust_quantity(conn, plugins, sku, adjust_by, reason=reason or None)
    return {"sku": applied.sku, "before": applied.before, "after": applied.after, "delta": applied.delta,
            "queued_for": list(applied.queued), "unchanged": applied.skipped is not None}


def parameters(store, plugins, cart_name: str | None = None) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return params_cli.list_params(plugins, conn, cart_name or None)


def set_parameter(store, plugins, name: str, value: str, cart_name: str | None = None) -> dict[str, Any]:
    with store.begin() as conn:
        param, typed = params_cli.set_param(plugins, conn, name, value, cart_name or None)
    return {"name": param.name, "value": param.format(typed), "cart": cart_name or None}
