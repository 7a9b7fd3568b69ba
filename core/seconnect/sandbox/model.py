"""The cart as the profiles see it: catalogue in memory, everything mutable in SQLite.

Product and combination documents never change while the sandbox runs (only their stock
does), so they are loaded once per start; stock, orders, statuses and customers are always
read from :class:`~seconnect.sandbox.state.State`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from . import generator
from .state import State


@dataclass
class CartConfig:
    """What the merchant configured: credentials and the shop's own URL (for image links)."""

    user: str
    password: str
    store_code: str
    shop_url: str
    seed: int


@dataclass
class Catalog:
    products: dict[int, dict] = field(default_factory=dict)
    combos: dict[int, dict] = field(default_factory=dict)
    combos_of: dict[int, list[dict]] = field(default_factory=dict)

    @classmethod
    def load(cls, state: State) -> Catalog:
        cat = cls()
        for product in state.products():
            product.pop("stock", None)
            cat.products[product["id"]] = product
        for combo in state.combos():
            combo.pop("stock", None)
            cat.combos[combo["id"]] = combo
            cat.combos_of.setdefault(combo["product_id"], []).append(combo)
        return cat

    def rows(self) -> list[tuple[int, int | None]]:
        """(product id, combination id or None), one per sellable row, sorted by id."""
        out: list[tuple[int, int | None]] = []
        for pid in sorted(self.products):
            combos = self.combos_of.get(pid)
            if combos:
                out.extend((pid, c["id"]) for c in combos)
            else:
                out.append((pid, None))
        return out


class CartModel:
    """State + catalogue + configuration shared by a profile and the control API."""

    def __init__(self, state: State, config: CartConfig):
        self.state = state
        self.config = config
        self.catalog = Catalog.load(state)
        self._add_lock = threading.Lock()

    def add_orders(self, count: int, tracked: Callable[[int, int | None], bool] | None = None,
                   rows: Callable[[int, int | None], tuple[str, int] | None] | None = None) -> list[int]:
        """Append ``count`` new downloadable orders after the existing ones (thread-safe), and
        take their lines off the stock the cart tracks, as a shop does when an order is placed
        (the generated history is already reflected in the stock the cart was made with).
        ``tracked(product id, combination id)`` says which rows keep stock (the profile's rule,
        so that what the cart reports is what it decrements); by default every row does.
        ``rows(product id, combination id)`` instead names the stock row a line takes off
        (``("products", id)``, ``("combos", id)`` or None), for carts that keep a variation's
        stock on its product."""
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._add_lock:
            last = self.state.last_order()
            number = last[0] + 1 if last else generator.FIRST_ORDER_NUMBER
            after = dt.datetime.fromisoformat(last[1]) if last else generator.ORDER_EPOCH
            factory = generator.OrderFactory(
                [self.catalog.products[p] for p in sorted(self.catalog.products)],
                [self.catalog.combos[c] for c in sorted(self.catalog.combos)],
                self.state.customer_docs())
            orders = generator.generate_orders(factory, self.config.seed, count,
                                               first_index=self.state.count_orders(),
                                               first_number=number, after=after, downloadable_only=True)
            self.state.append_orders(orders, self.sold(orders, tracked or (lambda pid, cid: True), rows))
        return [o["id"] for o in orders]

    def sold(self, orders: list[dict], tracked: Callable[[int, int | None], bool],
             rows: Callable[[int, int | None], tuple[str, int] | None] | None = None) -> list[tuple[str, int, int]]:
        """``(table, id, quantity)`` the orders' lines take off: the variation's stock for a line
        of one, else the product's, where that row keeps stock (or the row ``rows`` names)."""
        taken: dict[tuple[str, int], int] = {}
        for order in orders:
            for line in order["lines"]:
                pid, cid = line["product_id"], line["combo_id"] or None
                if rows is not None:
                    key = rows(pid, cid)
                else:
                    key = (("combos", cid) if cid else ("products", pid)) if tracked(pid, cid) else None
                if key is not None:
                    taken[key] = taken.get(key, 0) + int(line["qty"])
        return [(table, row_id, qty) for (table, row_id), qty in sorted(taken.items())]
