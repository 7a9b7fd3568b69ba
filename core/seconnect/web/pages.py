"""The dashboard's pages: each GET renders a template from :mod:`seconnect.web.data`; each POST
does one action through the same services as the CLI, then redirects back with a message
(post/redirect/get, so reloading never repeats an action)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import users
from ..cli.orders import status_text
from ..cli.types import DELTA, ID, QUANTITY
from ..errors import SeconnectError
from . import data
from .auth import checked_form, csrf_token

__all__ = ["routes", "error_page", "render", "act", "flash"]


def render(request: Request, template: str, status_code: int = 200, /, **context: Any) -> Response:
    templates = request.app.state.templates
    context = {"user": getattr(request.state, "user", None), "csrf": csrf_token(request),
               "flash": request.session.pop("flash", []), "path": request.url.path, "q": request.query_params,
               "has_schedules": request.app.state.schedules is not None, **context}
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, message: str, hint: str | None, status_code: int) -> Response:
    return render(request, "error.html", status_code, message=message, hint=hint)


def flash(request: Request, text: str, kind: str = "ok", hint: str | None = None) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text, "hint": hint})
    request.session["flash"] = request.session["flash"]  # mark the session changed


async def act(request: Request, back: str, action, describe, then=None) -> RedirectResponse:
    """Run ``action`` off the event loop; flash what ``describe`` says of its result, or the error.
    Go ``back``, or on success to the page ``then`` gives for the result."""
    try:
        result = await run_in_threadpool(action)
    except SeconnectError as exc:
        flash(request, exc.message, "error", exc.hint)
        return RedirectResponse(back, status_code=303)
    for line in describe(result):
        flash(request, line)
    return RedirectResponse(then(result) if then else back, status_code=303)


def _page(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _ids(values: list[str]) -> list[int]:
    return [ID.convert(v, None, None) for v in values if v.strip()]


def _safe_next(target: str | None) -> str:
    # "//host" and "/\host" are other sites to a browser: only a path on this one is followed.
    return target if target and target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


# --- login -----------------------------------------------------------------------------------------

def _user_count(request: Request) -> int:
    with request.app.state.store.begin() as conn:
        return users.count_users(conn)


async def login_page(request: Request) -> Response:
    count = await run_in_threadpool(_user_count, request)
    return render(request, "login.html", no_users=count == 0, next=_safe_next(request.query_params.get("next")),
                  failed=False)


async def login(request: Request) -> Response:
    form = await checked_form(request)
    name, password = str(form.get("name", "")), str(form.get("password", ""))

    def check():
        with request.app.state.store.begin() as conn:
            return users.check_password(conn, name, password), users.count_users(conn)

    user, count = await run_in_threadpool(check)
    if user is None:
        return render(request, "login.html", 401, no_users=count == 0, next=_safe_next(str(form.get("next", ""))),
                      failed=True)
    request.session.clear()  # a new session: nothing chosen before the login carries over
    request.session["uid"] = user.id
    csrf_token(request)
    return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- carts -----------------------------------------------------------------------------------------

def home(request: Request) -> Response:
    return RedirectResponse("/carts", status_code=303)


def carts_page(request: Request) -> Response:
    listed = data.carts(request.app.state.store, request.app.state.plugins)
    return render(request, "carts.html", carts=listed)


def cart_page(request: Request) -> Response:
    name = request.path_params["name"]
    return render(request, "cart.html", cart=data.cart(request.app.state.store, request.app.state.plugins, name))


async def cart_test(request: Request) -> Response:
    name = request.path_params["name"]
    form = await checked_form(request)
    state = request.app.state
    return await act(request, f"/carts/{quote(name)}",
                      lambda: data.test_cart(state.store, state.plugins, name, bool(form.get("check_credentials"))),
                      lambda lines: lines)


# --- runs, outbox, quarantine -------------------------------------------------------------------------

def runs_page(request: Request) -> Response:
    q = request.query_params
    history = data.run_history(request.app.state.store, cart_name=q.get("cart") or None, job=q.get("job") or None,
                               page=_page(request))
    return render(request, "runs.html", runs=history)


def outbox_page(request: Request) -> Response:
    state = request.query_params.get("state") or None
    return render(request, "outbox.html", outbox=data.outbox_rows(request.app.state.store, state=state,
                                                                   page=_page(request)), state=state)


async def outbox_retry(request: Request) -> Response:
    form = await checked_form(request)
    ids, everything = _ids(form.getlist("id")), bool(form.get("all"))
    resend = bool(form.get("resend_unconfirmed"))
    state = request.app.state

    def describe(result: dict) -> list[str]:
        n = len(result["retried"])
        return [f"{n} parked row{'' if n == 1 else 's'} re-queued; the worker delivers them.", *result["problems"]]

    return await act(request, "/outbox", lambda: data.retry_outbox(state.store, state.plugins, ids,
                                                                    all_parked=everything, resend_unconfirmed=resend),
                      describe)


def quarantine_page(request: Request) -> Response:
    everything = bool(request.query_params.get("all"))
    return render(request, "quarantine.html", records=data.quarantined(
        request.app.state.store, include_resolved=everything, page=_page(request)), everything=everything)


async def quarantine_retry(request: Request) -> Response:
    form = await checked_form(request)
    ids = _ids(form.getlist("id"))
    state = request.app.state
    return await act(request, "/quarantine", lambda: data.retry_quarantine(state.store, state.plugins, ids),
                      lambda results: [f"Record {r['id']}: " + ("stored." if r["stored"] else
                                                                f"still parked: {r['reason']}") for r in results])


# --- orders ----------------------------------------------------------------------------------------

def orders_page(request: Request) -> Response:
    q = request.query_params
    found = data.order_list(request.app.state.store, cart_name=q.get("cart"), number=q.get("number"),
                            customer=q.get("customer"), since=q.get("since"), until=q.get("until"),
                            status_label=q.get("status"), page=_page(request))
    base = "?" + urlencode([(k, v) for k, v in q.multi_items() if k != "page"]) + "&"
    return render(request, "orders.html", orders=found, base=base)


def order_page(request: Request) -> Response:
    p = request.path_params
    return render(request, "order.html", order=data.order(request.app.state.store, request.app.state.plugins,
                                                          p["cart"], p["number"]))


async def order_status(request: Request) -> Response:
    p = request.path_params
    form = await checked_form(request)
    state = request.app.state
    return await act(request, f"/orders/{quote(p['cart'])}/{quote(p['number'])}",
                      lambda: data.set_order_status(state.store, state.plugins, p["cart"], p["number"],
                                                    str(form.get("label", "")),
                                                    tracking=str(form.get("tracking", "")).split(),
                                                    carrier=str(form.get("carrier", "")),
                                                    note=str(form.get("note", ""))),
                      lambda change: status_text(change).replace("`seconnect run realtime`", "the worker").splitlines())


# --- products and quantities -----------------------------------------------------------------------

def products_page(request: Request) -> Response:
    q = request.query_params
    return render(request, "products.html", products=data.products(request.app.state.store, search=q.get("search"),
                                                                   page=_page(request)))


def product_page(request: Request) -> Response:
    return render(request, "product.html", product=data.product(request.app.state.store, request.path_params["sku"]))


async def product_qoh(request: Request) -> Response:
    sku = request.path_params["sku"]
    form = await checked_form(request)
    state = request.app.state

    def change():
        amount = str(form.get("amount", ""))
        if form.get("mode") == "adjust":
            return data.change_qoh(state.store, state.plugins, sku, adjust_by=DELTA.convert(amount, None, None),
                                   reason=str(form.get("reason", "")))
        return data.change_qoh(state.store, state.plugins, sku, set_to=QUANTITY.convert(amount, None, None),
                               reason=str(form.get("reason", "")))

    def describe(d: dict) -> list[str]:
        if d["unchanged"]:
            return [f"{d['sku']}: unchanged."]
        queued = ("queued for " + ", ".join(d["queued_for"])) if d["queued_for"] else "no cart synchronizes it in real time"
        return [f"{d['sku']}: {d['before']} → {d['after']}; {queued}."]

    return await act(request, f"/products/{quote(sku)}", change, describe)


# --- parameters and schedules ----------------------------------------------------------------------

def params_page(request: Request) -> Response:
    cart_name = request.query_params.get("cart") or None
    state = request.app.state
    return render(request, "params.html", params=data.parameters(state.store, state.plugins, cart_name),
                  cart=cart_name, carts=data.cart_names(state.store))


async def params_set(request: Request) -> Response:
    form = await checked_form(request)
    cart_name = str(form.get("cart", "")) or None
    state = request.app.state
    return await act(request, "/params" + (f"?cart={quote(cart_name)}" if cart_name else ""),
                      lambda: data.set_parameter(state.store, state.plugins, str(form.get("name", "")),
                                                 str(form.get("value", "")), cart_name),
                      lambda d: [f"{d['name']} = {d['value']}" + (f" for cart {d['cart']}" if d["cart"] else "")])


def schedules_page(request: Request) -> Response:
    lister = request.app.state.schedules
    rows = None
    if lister is not None:
        with request.app.state.store.begin() as conn:
            rows = lister(conn)
    return render(request, "schedules.html", schedules=rows)


def routes() -> list[Route]:
    from . import wizard

    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/carts", carts_page),
        *wizard.routes(),
        Route("/carts/{name}", cart_page),
        Route("/carts/{name}/test", cart_test, methods=["POST"]),
        Route("/runs", runs_page),
        Route("/outbox", outbox_page),
        Route("/outbox/retry", outbox_retry, methods=["POST"]),
        Route("/quarantine", quarantine_page),
        Route("/quarantine/retry", quarantine_retry, methods=["POST"]),
        Route("/orders", orders_page),
        Route("/orders/{cart}/{number}", order_page),
        Route("/orders/{cart}/{number}/status", order_status, methods=["POST"]),
        Route("/products", products_page),
        Route("/products/{sku:path}/qoh", product_qoh, methods=["POST"]),
        Route("/products/{sku:path}", product_page),
        Route("/params", params_page),
        Route("/params", params_set, methods=["POST"]),
        Route("/schedules", schedules_page),
    ]
