"""What a cart type can do, declared as data (SEOM's per-cart capability list, in code).

Each cart type declares a :class:`Capabilities` value. Core reads it *before* calling a plugin,
so an unsupported operation is refused with an explanation and never looks like "no plugin
answered". Three states, because SEOM's own matrix has them: a cart type may say it does not
know (``unknown``), which core treats as "not supported" but words differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

__all__ = ["Capability", "Support", "InventoryLevel", "Capabilities"]


class Capability(StrEnum):
    """An operation a cart type may support. Values are the names shown to users."""

    IMPORT_ORDERS = "import-orders"
    """Order information is imported directly from the website."""
    IMPORT_PRODUCTS = "import-products"
    """Product records are imported directly from the website."""
    IMPORT_CUSTOMERS = "import-customers"
    """Customer records are imported directly from the website."""
    CUSTOM_ORDER_FIELDS = "custom-order-fields"
    """Extra order fields arrive as name/value custom fields."""
    INVENTORY_GET = "inventory-get"
    """Manual inventory synchronization, cart to store file (Get QOH)."""
    INVENTORY_SEND = "inventory-send"
    """Manual inventory synchronization, store file to cart (Send QOH)."""
    INVENTORY_REALTIME = "inventory-realtime"
    """Every local quantity change reaches the cart; see ``realtime_levels``."""
    STATUS_UPDATES = "status-updates"
    """Order status labels and tracking numbers are pushed to the cart."""

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Capability.IMPORT_ORDERS: "order import",
    Capability.IMPORT_PRODUCTS: "product import",
    Capability.IMPORT_CUSTOMERS: "customer import",
    Capability.CUSTOM_ORDER_FIELDS: "custom order fields",
    Capability.INVENTORY_GET: "manual inventory Get (cart to store file)",
    Capability.INVENTORY_SEND: "manual inventory Send (store file to cart)",
    Capability.INVENTORY_REALTIME: "real-time inventory synchronization",
    Capability.STATUS_UPDATES: "order status updates",
}


class Support(StrEnum):
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"


class InventoryLevel(StrEnum):
    """Where real-time inventory can be tracked (SEOM: product / attribute / sub-SKU)."""

    PRODUCT = "product"
    ATTRIBUTE = "attribute"
    SUB_SKU = "sub-sku"


@dataclass(frozen=True)
class Capabilities:
    """A cart type's capability matrix. Anything not listed is ``unknown``."""

    support: Mapping[Capability, Support] = field(default_factory=dict)
    realtime_levels: frozenset[InventoryLevel] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "support", MappingProxyType(
            {Capability(k): Support(v) for k, v in dict(self.support).items()}))
        object.__setattr__(self, "realtime_levels",
                           frozenset(InventoryLevel(x) for x in self.realtime_levels))

    @classmethod
    def declare(cls, supported: Iterable[Capability] = (), unsupported: Iterable[Capability] = (),
                realtime_levels: Iterable[InventoryLevel] = ()) -> Capabilities:
        support = {c: Support.SUPPORTED for c in supported}
        support.update({c: Support.UNSUPPORTED for c in unsupported})
        levels = frozenset(realtime_levels)
        if levels and support.get(Capability.INVENTORY_REALTIME) != Support.SUPPORTED:
            raise ValueError("realtime_levels given but inventory-realtime is not supported")
        return cls(support, levels)

    def state(self, capability: Capability) -> Support:
        return self.support.get(capability, Support.UNKNOWN)

    def supports(self, capability: Capability) -> bool:
        return self.state(capability) is Support.SUPPORTED

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {c.value: self.state(c).value for c in Capability}
        out["realtime-levels"] = sorted(level.value for level in self.realtime_levels)
        return out
