"""System parameters' stored values (SEOM's "System Parameters" screen).

A parameter is either ``global`` or ``cart`` scoped. A cart-scoped parameter ("cart-based" in
SEOM's words) may also be given a global value, which then serves every cart that has no value
of its own: effective value = cart value, else global value, else the default.

Which parameters exist is a *catalogue* (name → :class:`~seconnect.paramdef.Param`): core's own
(:data:`PARAMS`, the default here) plus the ones each cart type declares, which apply only to
carts of that type (``Plugins.params`` / ``Plugins.params_for``). Values are stored as text and
typed on the way in and out.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .errors import NotFoundError, UsageError
from .paramdef import CUSTOMER_SEARCH_CHOICES, PARAMS, Param
from .store import tables

__all__ = ["Param", "PARAMS", "lookup", "resolve", "set_value", "unset_value", "CUSTOMER_SEARCH_CHOICES"]

Catalogue = Mapping[str, Param]


def lookup(name: str, catalogue: Catalogue = PARAMS, *, everywhere: Catalogue | None = None,
           subject: str = "") -> Param:
    """The parameter with this name (case-insensitive) in ``catalogue``, or an error listing the
    valid names. With ``everywhere`` (every installed type's too), a parameter of other cart types
    is refused saying whose it is and that it does not apply to ``subject`` (e.g. "cart 'Shop'
    (type ExampleCart)")."""
    folded = {p.name.casefold(): p for p in catalogue.values()}
    key = name.strip().casefold()
    if key in folded:
        return folded[key]
    other = next((p for p in (everywhere or {}).values() if p.name.casefold() == key), None)
    if other is not None:
        raise UsageError(f"{other.name} is a parameter of cart type {' and '.join(other.cart_types)}; "
                         f"it does not apply to {subject or 'this cart'}.",
                         hint="`seconnect params list --cart NAME` lists the parameters of a cart.")
    near = [folded[k].name for k in difflib.get_close_matches(key, folded, n=3, cutoff=0.6)]
    raise NotFoundError(f"unknown system parameter {name!r}.",
                        hint=(f"Did you mean {' or '.join(near)}? " if near else "")
                        + "Valid parameters: " + ", ".join(catalogue) + ".")


# -- stored values ------------------------------------------------------------------------------

def resolve(conn: Connection, cart_id: int | None, catalogue: Catalogue = PARAMS
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """Every catalogue parameter's effective value for a cart (global values when cart_id is
    None), typed, and where each comes from: "cart", "global" or "default".

    Stored values of parameters outside the catalogue (a cart type's own, when the catalogue is
    core's) are included as stored text, so a cart definition carries them to its plugin, which
    types them with :meth:`Param.of`."""
    table = tables.params
    query = select(table.c.name, table.c.cart_id, table.c.value)
    query = query.where(table.c.cart_id.is_(None) if cart_id is None
                        else (table.c.cart_id == cart_id) | table.c.cart_id.is_(None))
    values: dict[str, Any] = {name: p.default for name, p in catalogue.items()}
    sources = dict.fromkeys(catalogue, "default")
    # Global values first, then the cart's own override them.
    for row in sorted(conn.execute(query).all(), key=lambda r: r.cart_id is not None):
        param = catalogue.get(row.name)
        if param is None:
            values[row.name] = row.value
            continue
        values[param.name] = param.decode(row.value)
        sources[param.name] = "global" if row.cart_id is None else "cart"
    return values, sources


def _settable(name: str, cart_id: int | None, catalogue: Catalogue) -> Param:
    param = lookup(name, catalogue)
    if param.scope == "global" and cart_id is not None:
        raise UsageError(f"{param.name} is a global parameter; it cannot be set per cart.",
                         hint=f"Run `seconnect params set|unset {param.name}` without --cart.")
    return param


def set_value(conn: Connection, name: str, raw: str, cart_id: int | None, catalogue: Catalogue = PARAMS
              ) -> tuple[Param, Any]:
    """Validate and store a value; cart-scoped values need a cart, global ones refuse one.
    ``catalogue``: the parameters that may be set (core's by default; the CLI passes the cart's
    type's or, for global values, every installed type's)."""
    param = _settable(name, cart_id, catalogue)
    value = param.parse(raw)
    if param.name == "SubSKUDelimiter":
        _refuse_if_sub_skus_exist(conn, cart_id, raw)
    table = tables.params
    where = (table.c.name == param.name) & (
        table.c.cart_id.is_(None) if cart_id is None else table.c.cart_id == cart_id)
    if conn.execute(select(table.c.name).where(where)).first():
        conn.execute(update(table).where(where).values(value=param.format(value)))
    else:
        conn.execute(insert(table).values(name=param.name, cart_id=cart_id, value=param.format(value)))
    return param, value


def unset_value(conn: Connection, name: str, cart_id: int | None, catalogue: Catalogue = PARAMS
                ) -> tuple[Param, bool]:
    """Remove a stored value (the cart's own with ``cart_id``, else the global one), so the
    fallback applies again; returns the parameter and whether a value was stored."""
    param = _settable(name, cart_id, catalogue)
    if param.name == "SubSKUDelimiter":
        _refuse_if_sub_skus_exist(conn, cart_id, None)
    table = tables.params
    removed = conn.execute(delete(table).where(
        table.c.name == param.name,
        table.c.cart_id.is_(None) if cart_id is None else table.c.cart_id == cart_id)).rowcount
    return param, bool(removed)


def _refuse_if_sub_skus_exist(conn: Connection, cart_id: int | None, raw: str | None) -> None:
    """SEOM warns that changing the sub-SKU build settings once sub-SKUs exist breaks the
    translation of order lines; refuse instead of silently breaking it, and give the way round:
    unmap the sub-SKUs (options mode), change the delimiter, build them again."""
    codes, products, carts = tables.product_cart_codes, tables.products, tables.carts
    query = (select(carts.c.name).distinct()
             .select_from(codes.join(products, products.c.id == codes.c.product_id)
                          .join(carts, carts.c.id == codes.c.cart_id))
             .where(products.c.parent_id.is_not(None)).order_by(carts.c.name))
    if cart_id is not None:
        query = query.where(codes.c.cart_id == cart_id)
    names = list(conn.execute(query).scalars())
    if not names:
        return

    def rebuild(name: str, mode: str) -> str:
        return f"`seconnect run import-products --cart {shlex.quote(name)} --attributes {mode} --rebuild`"

    verb = "unset SubSKUDelimiter" if raw is None else f"set SubSKUDelimiter {shlex.quote(raw)}"
    change = f"`seconnect params {verb}" + ("`" if cart_id is None else f" --cart {shlex.quote(names[0])}`")
    # For the global value every cart with sub-SKUs is unmapped first and rebuilt last.
    ordered = [*(rebuild(n, "options") for n in names), change, *(rebuild(n, "sub-skus") for n in names)]
    raise UsageError(f"sub-SKUs of cart{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)} exist: changing "
                     "SubSKUDelimiter now would break the translation of order lines to them.",
                     hint="To change it, back up the store file, then run in this order: " + ", then ".join(ordered)
                          + ". The old sub-SKUs stay, unmapped, with their stock and history.")
