"""System parameters as declared: name, type, default, scope, description (light: no store).

Core declares the cart-type-neutral parameters here (:data:`PARAMS`); a cart type declares its
own through the ``seconnect_cart_params`` hook, with the same :class:`Param`, and they apply only
to carts of that type. Stored values and their resolution live in :mod:`seconnect.params`.

Booleans accept TRUE/FALSE, yes/no, y/n, 1/0 and on/off in any case (the error for anything else
lists them all); they are shown as TRUE/FALSE, as SEOM does. Whole numbers are ASCII digits with
an optional sign.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

__all__ = ["Param", "PARAMS", "CUSTOMER_SEARCH_CHOICES"]

# Pairs in the order the error message lists them.
_BOOL_SPELLINGS = (("true", "false"), ("yes", "no"), ("y", "n"), ("1", "0"), ("on", "off"))
_TRUE = {t for t, _ in _BOOL_SPELLINGS}
_FALSE = {f for _, f in _BOOL_SPELLINGS}
_WHOLE = re.compile(r"[+-]?[0-9]+")  # int() would also take '١٢' or '1_000'

CUSTOMER_SEARCH_CHOICES = ("Email", "Phone", "Phone - No Formatting", "WebID", "Name, Address, Zip", "None")


@dataclass(frozen=True)
class Param:
    """One system parameter. ``kind`` is ``bool``, ``int`` (``minimum``..``maximum``), ``choice``
    (one of ``choices``) or ``text``; ``scope`` is ``global`` or ``cart`` (cart-based: a global
    value serves every cart without its own)."""

    name: str
    kind: str  # "bool" | "int" | "choice" | "text"
    default: Any
    scope: str  # "global" | "cart"
    description: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: The cart types the parameter applies to; empty for core's own (every cart). Set by core
    #: from the ``seconnect_cart_params`` declarations, not by the plugin.
    cart_types: tuple[str, ...] = ()

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

    def of(self, cart: Any) -> Any:
        """This parameter's effective value for ``cart`` (a :class:`~seconnect.CartDefinition`),
        typed. A cart type reads its own parameters this way: core types only its own in
        ``cart.params`` and hands a cart type's stored values over as stored text."""
        value = cart.params.get(self.name, self.default)
        return self.decode(value) if isinstance(value, str) and self.kind != "text" else value

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
