"""A generic SETI cart: any script that follows Stone Edge's generic-cart protocol.

This plugin is deliberately small: it declares the cart type and hands every operation to
seconnect's shared SETI code. It is also the example the plugin-author tutorial builds on.

It warns when the script answers like BigCommerce's gateway (:func:`script_warnings`). Its one
adaptation: a generic script exports each variant as a product of its own carrying a
``ParentCode`` custom field; :func:`variation_of` marks such records so product import can
build sub-SKUs or map the variant onto its parent.
"""

from seconnect import Capabilities, CartType
from seconnect import Capability as C
from seconnect import InventoryLevel as L
from seconnect.seti import (
    SETI_ORDER_NUMBER,
    SetiClient,
    SetiDialect,
    SetiPlugin,
    echoes_omversion,
    split_variation_name,
)

__all__ = ["CART_TYPE", "plugin", "variation_of"]

CART_TYPE = CartType(
    id="Generic",
    label="Generic SETI script",
    aliases=("seti", "custom"),
    config_schema={
        "type": "object",
        "properties": {
            "user": {"type": "string", "title": "User Name"},
            "password": {"type": "string", "writeOnly": True, "title": "Password"},
            "store_code": {"type": "string", "title": "Store Code"},
            "script_url": {"type": "string", "minLength": 1, "title": "Script URL"},
        },
        "required": ["user", "password", "script_url"],
    },
    capabilities=Capabilities.declare(
        supported=list(C),
        realtime_levels=[L.PRODUCT, L.ATTRIBUTE, L.SUB_SKU],
    ),
    script_url_example="shop.example.com/seti/stoneedge.php",
    order_number_pattern=SETI_ORDER_NUMBER,
    order_number_example="1041",
)


def variation_of(record: dict) -> dict:
    """Mark a record with a ``ParentCode`` custom field as a variation of that parent.

    WebID ``<parent id>-<combination id>`` gives the parent's WebID; the name
    ``<parent name> (<value>, …)`` gives the chosen values. Records without the field pass as sent.
    """
    parent = next((f.get("value") for f in record.get("custom_fields") or ()
                   if f.get("name", "").casefold() == "parentcode" and f.get("value")), None)
    if parent is None:
        return record
    parent_web_id, dash, combination = str(record.get("web_id") or "").partition("-")
    parent_name, values = split_variation_name(record.get("name") or "")
    return {**record, "variation": {
        "parent_code": parent, "parent_web_id": parent_web_id if dash else None,
        "combination_id": combination or None, "parent_name": parent_name, "values": values,
        "code_is_shared": record.get("code") == parent,
    }}


def script_warnings(client: SetiClient, version: str) -> list[str]:
    """A generic script reports its own version; BigCommerce's gateway echoes SEOM's."""
    if echoes_omversion(client, version):
        return [f"the script echoes the omversion sent ({version}) as its version, as BigCommerce's "
                "Stone Edge gateway does: this Script URL looks like cart type Interspire, not Generic "
                "(change it with `seconnect carts edit NAME --type Interspire` if so)."]
    return []


plugin = SetiPlugin(CART_TYPE, SetiDialect(product_record=variation_of, script_warnings=script_warnings))
