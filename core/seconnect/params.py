"""System parameters: names, types, defaults and scope (SEOM's "System Parameters" screen).

A parameter is either ``global`` or ``cart`` scoped. A cart-scoped parameter ("cart-based" in
SEOM's words) may also be given a global value, which then serves every cart that has no value
of its own: effective value = cart value, else global value, else the default.

Values are stored as text and typed on the way in and out. Booleans accept TRUE/FALSE, yes/no,
y/n, 1/0 and on/off in any case (the error for anything else lists them all); they are shown as
TRUE/FALSE, as SEOM does. Whole numbers are ASCII digits with an optional sign.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from .errors import NotFoundError, UsageError
from .store import tables

__all__ = ["Param", "PARAMS", "lookup", "resolve", "set_value", "unset_value", "CUSTOMER_SEARCH_CHOICES"]

# Pairs in the order the error message lists them.
_BOOL_SPELLINGS = (("true", "false"), ("yes", "no"), ("y", "n"), ("1", "0"), ("on", "off"))
_TRUE = {t for t, _ in _BOOL_SPELLINGS}
_FALSE = {f for _, f in _BOOL_SPELLINGS}
_WHOLE = re.compile(r"[+-]?[0-9]+")  # int() would also take '١٢' or '1_000'

CUSTOMER_SEARCH_CHOICES = ("Email", "Phone", "Phone - No Formatting", "WebID", "Name, Address, Zip", "None")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "bool" | "int" | "choice" | "text"
    default: Any
    scope: str  # "global" | "cart"
    description: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, raw: str) -> Any:
        """Type a value typed by a user; a UsageError lists what is valid."""
        text = raw.strip()
        if any(c in raw for c in "\r\n\x00"):
            raise UsageError(f"{self.name}: values cannot contain line breaks or NUL characters.")
        if self.kind == "bool":
            if text.casefold() in _TRUE:
                return True
            if text.casefold() in _FALSE:
                return False
            raise UsageError(f"{self.name} is TRUE or FALSE, not {raw!r}.",
                             hint="Accepted, in any case: " + ", ".join("/".join(p) for p in _BOOL_SPELLINGS) + ".")
        if self.kind == "int":
            if not _WHOLE.fullmatch(text):
                raise UsageError(f"{self.name} is a whole number (digits 0-9), not {raw!r}.")
            value = int(text)
            if (self.minimum is not None and value < self.minimum) or (
                    self.maximum is not None and value > self.maximum):
                raise UsageError(f"{self.name} must be between {self.minimum} and {self.maximum}, not {value}.")
            return value
        if self.kind == "choice":
            for choice in self.choices:
                if _fold(choice) == _fold(text):
                    return choice
            raise UsageError(f"{self.name} cannot be {raw!r}.",
                             hint="Valid values: " + "; ".join(self.choices) + ".")
        if len(text) > 200:
            raise UsageError(f"{self.name} is at most 200 characters long.")
        return text

    def format(self, value: Any) -> str:
        if self.kind == "bool":
            return "TRUE" if value else "FALSE"
        return str(value)

    def decode(self, stored: str) -> Any:
        """Type a stored value (already validated when it was set)."""
        return self.parse(stored)

    def describe_type(self) -> str:
        if self.kind == "bool":
            return "TRUE/FALSE"
        if self.kind == "int":
            return f"whole number {self.minimum}..{self.maximum}"
        if self.kind == "choice":
            return "one of: " + "; ".join(self.choices)
        return "text"


def _fold(text: str) -> str:
    return " ".join(text.replace(",", " , ").split()).casefold()


def _search_field(n: int, default: str) -> Param:
    return Param(f"CustomerSearchField{n}", "choice", default, "global",
                 f"Customer match rule number {n}: tried in order 1..4 when an order or customer "
                 "is imported; the first rule that finds exactly one existing customer wins.",
                 choices=CUSTOMER_SEARCH_CHOICES)


PARAMS: Mapping[str, Param] = {p.name: p for p in (
    Param("UseStatusUpdates", "bool", False, "global",
          "Enables Status Events: order status changes are queued for carts that accept them."),
    Param("StatusLabels", "text", "", "global",
          "Extra order status labels, separated by ';' (besides Order Received, Payment Received, "
          "Shipped, Cancelled)."),
    Param("UseGenericStatusUpdates", "bool", False, "cart",
          "Send order status updates to this cart with the generic SETI updatestatus call, even "
          "when its cart type does not declare status-update support."),
    Param("GenericStatusSendXML", "bool", False, "cart",
          "Send generic status updates as XML in the update field instead of form fields."),
    Param("GenericQOHChangeSendAsXML", "bool", False, "cart",
          "Send inventory updates as XML instead of SKU~QTY lists (only for scripts that accept it)."),
    Param("SynchQOH", "bool", False, "cart",
          "Synchronize inventory with this cart: local quantity changes are sent in real time."),
    Param("BuildSubSKUs", "bool", False, "cart",
          "Default attribute handling for product import: build sub-SKUs (parent SKU + delimiter "
          "+ option codes) instead of keeping options on the order line."),
    Param("SubSKUDelimiter", "text", "-", "cart",
          "Delimiter between the parent SKU and option codes in built sub-SKUs. Do not change it "
          "once sub-SKUs exist (translation of order lines would break)."),
    Param("DownloadBatchSize", "int", 50, "cart",
          "Records per download request (SEOM's Order Download Batch; lower it on timeouts).",
          minimum=1, maximum=1000),
    Param("MaxConcurrentRequests", "int", 2, "cart",
          "Requests seconnect may have in flight to this cart at once. Keep it low: carts share "
          "their request quota with every other app of the store.", minimum=1, maximum=8),
    Param("RequestTimeout", "int", 60, "cart",
          "Seconds to wait for the cart's script to answer one request.", minimum=1, maximum=600),
    _search_field(1, "Email"),
    _search_field(2, "Phone"),
    _search_field(3, "None"),
    _search_field(4, "None"),
)}


def lookup(name: str) -> Param:
    """The parameter with this name (case-insensitive), or an error listing the valid names."""
    folded = {p.name.casefold(): p for p in PARAMS.values()}
    key = name.strip().casefold()
    if key in folded:
        return folded[key]
    near = [folded[k].name for k in difflib.get_close_matches(key, folded, n=3, cutoff=0.6)]
    raise NotFoundError(f"unknown system parameter {name!r}.",
                        hint=(f"Did you mean {' or '.join(near)}? " if near else "")
                        + "Valid parameters: " + ", ".join(PARAMS) + ".")


# -- stored values ------------------------------------------------------------------------------

def resolve(conn: Connection, cart_id: int | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Every parameter's effective value for a cart (global values when cart_id is None), and
    where each comes from: "cart", "global" or "default"."""
    table = tables.params
    query = select(table.c.name, table.c.cart_id, table.c.value)
    query = query.where(table.c.cart_id.is_(None) if cart_id is None
                        else (table.c.cart_id == cart_id) | table.c.cart_id.is_(None))
    values = {name: p.default for name, p in PARAMS.items()}
    sources = dict.fromkeys(PARAMS, "default")
    # Global values first, then the cart's own override them.
    for row in sorted(conn.execute(query).all(), key=lambda r: r.cart_id is not None):
        param = PARAMS.get(row.name)
        if param is not None:
            values[param.name] = param.decode(row.value)
            sources[param.name] = "global" if row.cart_id is None else "cart"
    return values, sources


def _settable(name: str, cart_id: int | None) -> Param:
    param = lookup(name)
    if param.scope == "global" and cart_id is not None:
        raise UsageError(f"{param.name} is a global parameter; it cannot be set per cart.",
                         hint=f"Run `seconnect params set|unset {param.name}` without --cart.")
    return param


def set_value(conn: Connection, name: str, raw: str, cart_id: int | None) -> tuple[Param, Any]:
    """Validate and store a value; cart-scoped values need a cart, global ones refuse one."""
    param = _settable(name, cart_id)
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


def unset_value(conn: Connection, name: str, cart_id: int | None) -> tuple[Param, bool]:
    """Remove a stored value (the cart's own with ``cart_id``, else the global one), so the
    fallback applies again; returns the parameter and whether a value was stored."""
    param = _settable(name, cart_id)
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
