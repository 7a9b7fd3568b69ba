"""The store setup wizard: add or edit a cart like SEOM's Shopping Carts screen, then its next steps.

1. Store Name and Cart Type (the installed plugins' types);
2. the type's settings, as a form generated from its ``config_schema``: each property's title is
   the label and its description the help, a ``writeOnly`` (secret) one is a password input typed
   twice, never pre-filled (left blank when editing: kept);
3. the next steps in order on the cart's setup page: Test Script URL / connection, the attribute
   policy with the product import, customers, parameters, schedules.

Saving goes through :func:`seconnect.carts.add_cart` / :func:`~seconnect.carts.edit_cart`, and the
jobs through the same functions as `seconnect run …`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import carts as carts_service
from ..cartdef import CartDefinition, CartType
from ..errors import UsageError
from ..settings import form_fields as fields_of
from ..store import tables
from .auth import checked_form
from .pages import act, render

__all__ = ["routes"]


def _types(request: Request) -> list[CartType]:
    return [reg.cart_type for reg in request.app.state.plugins.cart_types()]


def _read_form(ctype: CartType, form, *, editing: bool) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(settings, secrets, settings to unset) from a submitted settings form."""
    settings, secrets, unset = {}, {}, []
    for field in fields_of(ctype):
        name = field["name"]
        if field["secret"]:
            value, again = str(form.get(f"secret.{name}", "")), str(form.get(f"again.{name}", ""))
            if value != again:
                raise UsageError(f"the two entries of {field['label']} do not match; nothing was saved.",
                                 hint="Type the same value in both boxes.")
            if value:
                secrets[name] = value
            continue
        if field["input"] == "checkbox":
            settings[name] = "true" if form.get(f"set.{name}") else "false"
            continue
        value = str(form.get(f"set.{name}", "")).strip()
        if value:
            settings[name] = value
        elif editing and not field["required"]:
            unset.append(name)
    return settings, secrets, unset


def new_cart(request: Request) -> Response:
    types = _types(request)
    chosen = request.query_params.get("type")
    ctype = request.app.state.plugins.resolve_type(chosen) if chosen else None
    return render(request, "wizard.html", types=types, ctype=ctype, fields=fields_of(ctype) if ctype else [],
                  name=request.query_params.get("name", ""), editing=None, ca_bundle="")


async def create_cart(request: Request) -> Response:
    form = await checked_form(request)
    state = request.app.state
    name, type_id = str(form.get("name", "")), str(form.get("type", ""))

    def save():
        ctype = state.plugins.resolve_type(type_id)
        settings, secrets, _ = _read_form(ctype, form, editing=False)
        with state.store.begin() as conn:
            return carts_service.add_cart(conn, state.plugins, name=name, cart_type=type_id, settings=settings,
                                          secrets=secrets, ca_bundle=str(form.get("ca_bundle", "")).strip() or None)

    return await act(request, f"/carts/new?type={quote(type_id)}&name={quote(name)}", save,
                     lambda cart: [f"Cart {cart.name} ({cart.type}) saved. Next: test it, then the steps below in order."],
                     then=_setup_page_of)


def edit_page(request: Request) -> Response:
    state = request.app.state
    with state.store.begin() as conn:
        cart = carts_service.get_cart(conn, request.path_params["name"])
    ctype = state.plugins.resolve_type(cart.type)
    return render(request, "wizard.html", types=_types(request), ctype=ctype, fields=fields_of(ctype, cart),
                  name=cart.name, editing=cart.name, ca_bundle=cart.ca_bundle or "")


async def save_edit(request: Request) -> Response:
    form = await checked_form(request)
    state = request.app.state
    old = request.path_params["name"]

    def save():
        with state.store.begin() as conn:
            cart = carts_service.get_cart(conn, old)
            ctype = state.plugins.resolve_type(cart.type)
            settings, secrets, unset = _read_form(ctype, form, editing=True)
            new_name = str(form.get("name", "")).strip() or None
            return carts_service.edit_cart(conn, state.plugins, old, new_name=new_name if new_name != cart.name else None,
                                           settings=settings, secrets=secrets or None, unset=unset,
                                           ca_bundle=str(form.get("ca_bundle", "")).strip())

    return await act(request, f"/carts/{quote(old)}/edit", save, lambda cart: [f"Cart {cart.name} updated."],
                     then=_setup_page_of)


def _setup_page_of(cart: CartDefinition) -> str:
    return f"/carts/{quote(cart.name)}/setup"


def setup_page(request: Request) -> Response:
    from . import data

    state = request.app.state
    cart = data.cart(state.store, state.plugins, request.path_params["name"])
    with state.store.begin() as conn:
        mode = conn.execute(tables.carts.select().with_only_columns(tables.carts.c.attribute_mode)
                            .where(tables.carts.c.name_key == cart["name"].casefold())).scalar()
    return render(request, "setup.html", cart=cart, attribute_mode=mode, modes=tables.ATTRIBUTE_MODES)


async def run_job(request: Request) -> Response:
    """Run an import for the cart now (the same functions as `seconnect run import-…`)."""
    from ..jobs.import_customers import import_customers
    from ..jobs.import_products import import_products

    form = await checked_form(request)
    state = request.app.state
    name, job = request.path_params["name"], request.path_params["job"]
    attributes = str(form.get("attributes", "")) or None

    def go():
        with state.store.begin() as conn:
            cart = carts_service.get_cart(conn, name)
        if job == "import-products":
            return import_products(state.store, state.plugins, cart, attributes=attributes)
        if job == "import-customers":
            return import_customers(state.store, state.plugins, cart)
        raise UsageError(f"no job {job!r} here.", hint="The setup page offers import-products and import-customers.")

    def describe(summary: dict) -> list[str]:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items() if isinstance(v, int))
        return [f"{job} finished: {counts}." + (" Some records were parked: see Quarantine."
                                                if summary.get("quarantined") else "")]

    return await act(request, f"/carts/{quote(name)}/setup", go, describe)


def routes() -> list[Route]:
    return [
        Route("/carts/new", new_cart, methods=["GET"]),
        Route("/carts/new", create_cart, methods=["POST"]),
        Route("/carts/{name}/edit", edit_page, methods=["GET"]),
        Route("/carts/{name}/edit", save_edit, methods=["POST"]),
        Route("/carts/{name}/setup", setup_page, methods=["GET"]),
        Route("/carts/{name}/run/{job}", run_job, methods=["POST"]),
    ]
