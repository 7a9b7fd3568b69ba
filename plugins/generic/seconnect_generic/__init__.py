"""A generic SETI cart: any script that follows Stone Edge's generic-cart protocol.

This plugin is deliberately small: it declares the cart type and hands every operation to
seconnect's shared SETI code. It is also the example the plugin-author tutorial builds on.
"""

from seconnect import Capabilities, CartType
from seconnect import Capability as C
from seconnect import InventoryLevel as L
from seconnect.seti.plugin import SetiPlugin

__all__ = ["CART_TYPE", "plugin"]

CART_TYPE = CartType(
    id="Generic",
    label="Generic SETI script",
    aliases=("seti", "custom"),
    field_labels={
        "user": "User Name",
        "password": "Password",
        "store_code": "Store Code",
        "script_url": "Script URL",
    },
    config_schema={
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "store_code": {"type": "string"},
            "script_url": {"type": "string", "minLength": 1},
        },
        "required": ["script_url"],
    },
    capabilities=Capabilities.declare(
        supported=list(C),
        realtime_levels=[L.PRODUCT, L.ATTRIBUTE, L.SUB_SKU],
    ),
    script_url_example="shop.example.com/seti/stoneedge.php",
)


# The spec-style protocol needs no dialect adjustments.
plugin = SetiPlugin(CART_TYPE)
