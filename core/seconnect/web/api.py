"""The JSON API under /api/: the dashboard's data and actions for scripts (docs/api.md).

Authenticated by ``Authorization: Bearer TOKEN`` (`seconnect users token NAME`) or the
dashboard's session (then a POST needs the ``X-CSRF-Token`` header). Errors are
``{"error", "hint", "exit_code"}`` with an HTTP status (400 bad input, 404 not found, 409 not
supported by the cart type, 502 the cart failed).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..cli.types import DELTA, ID, QUANTITY
from ..errors import UsageError
from . import data
from .auth import check_csrf

__all__ = ["routes"]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_default, ensure_ascii=False).encode("utf-8")


def _page(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


async def _body(request: Request) -> dict[str, Any]:
    """A POST's JSON object, after the CSRF check for session callers."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise UsageError("the request body is not JSON.", hint="Send a JSON object, e.g. {\"ids\": [3]}.") from None
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object.", hint="e.g. {\"ids\": [3]}.")
    return body


def _get(fn):
    async def endpoint(request: Request) -> Response:
        return _Json(await run_in_threadpool(fn, request, request.app.state))
    return endpoint


def _post(fn):
    async def endpoint(request: Request) -> Response:
        body = await _body(request)
        return _Json(await run_in_threadpool(fn, request, request.app.state, body))
    return endpoint


def _ids(body: dict) -> list[int]:
    ids = body.get("ids", [])
    if not isinstance(ids, list):
        raise UsageError("ids must be a list of row ids.", hint="e.g. {\"ids\": [3, 4]}.")
    return [ID.convert(i, None, None) for i in ids]


def _qoh(request, s, body):
    sku = request.path_params["sku"]
    if "set" in body:
        return data.change_qoh(s.store, s.plugins, sku, set_to=QUANTITY.convert(body["set"], None, None),
                               reason=body.get("reason"))
    if "adjust" in body:
        return data.change_qoh(s.store, s.plugins, sku, adjust_by=DELTA.convert(body["adjust"], None, None),
                               reason=body.get("reason"))
    raise UsageError("say what to do with the quantity.", hint="Send {\"set\": 12} or {\"adjust\": -2}.")


def _schedules(request, s):
    if s.schedules is None:
        return []
    with s.store.begin() as conn:
        return s.schedules(conn)


def routes() -> list[Route]:
    q = lambda r, name: r.query_params.get(name) or None  # noqa: E731
    return [
        Route("/carts", _get(lambda r, s: data.carts(s.store, s.plugins))),
        Route("/carts/{name}", _get(lambda r, s: data.cart(s.store, s.plugins, r.path_params["name"]))),
        Route("/carts/{name}/test", _post(lambda r, s, b: {"passed": True, "lines": data.test_cart(
            s.store, s.plugins, r.path_params["name"], bool(b.get("check_credentials")))}), methods=["POST"]),
        Route("/runs", _get(lambda r, s: data.run_history(s.store, cart_name=q(r, "cart"), job=q(r, "job"),
                                                          page=_page(r)))),
        Route("/outbox", _get(lambda r, s: data.outbox_rows(s.store, state=q(r, "state"), page=_page(r)))),
        Route("/outbox/retry", _post(lambda r, s, b: data.retry_outbox(
            s.store, s.plugins, _ids(b), all_parked=bool(b.get("all")),
            resend_unconfirmed=bool(b.get("resend_unconfirmed")))), methods=["POST"]),
        Route("/quarantine", _get(lambda r, s: data.quarantined(s.store, include_resolved=bool(q(r, "all")),
                                                                page=_page(r)))),
        Route("/quarantine/retry", _post(lambda r, s, b: data.retry_quarantine(s.store, s.plugins, _ids(b))),
              methods=["POST"]),
        Route("/orders", _get(lambda r, s: data.order_list(
            s.store, cart_name=q(r, "cart"), number=q(r, "number"), customer=q(r, "customer"),
            since=q(r, "since"), until=q(r, "until"), status_label=q(r, "status"), page=_page(r)))),
        Route("/orders/{cart}/{number}", _get(lambda r, s: data.order(s.store, s.plugins, r.path_params["cart"],
                                                                      r.path_params["number"]))),
        Route("/orders/{cart}/{number}/status", _post(lambda r, s, b: data.set_order_status(
            s.store, s.plugins, r.path_params["cart"], r.path_params["number"], str(b.get("label", "")),
            tracking=[str(t) for t in b.get("tracking", [])], carrier=str(b.get("carrier", "")),
            note=str(b.get("note", "")))), methods=["POST"]),
        Route("/products", _get(lambda r, s: data.products(s.store, search=q(r, "search"), page=_page(r)))),
        Route("/products/{sku:path}/qoh", _post(_qoh), methods=["POST"]),
        Route("/products/{sku:path}", _get(lambda r, s: data.product(s.store, r.path_params["sku"]))),
        Route("/params", _get(lambda r, s: data.parameters(s.store, s.plugins, q(r, "cart")))),
        Route("/params", _post(lambda r, s, b: data.set_parameter(s.store, s.plugins, str(b.get("name", "")),
                                                                  str(b.get("value", "")), b.get("cart"))),
              methods=["POST"]),
        Route("/schedules", _get(_schedules)),
    ]
