"""BigCommerce through its legacy Stone Edge accounting gateway (SEOM cart type "Interspire").

The gateway is the Interspire Shopping Cart ``stoneedge`` module. It speaks SETI with its own
habits, which this plugin adapts on top of seconnect's shared SETI code: the script version is an
echo of the ``omversion`` sent, errors come as a ``SETIError`` document, there is no
``updatestatus``, variations are addressed as ``[VARID:n]`` and customers page only once.

The ``[VARID:n]`` rules are this plugin's alone: :func:`variation_of` gives a combination that
shares its parent's code the address ``<parent name> [VARID:<combination id>]`` (seti-protocol
§6.4), and :func:`code_level` says such codes (and ``<product>-<combination>`` WebIDs) are at the
``attribute`` inventory level.
"""

import re

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
    variation_web_id,
)

__all__ = ["CART_TYPE", "plugin", "variation_of", "code_level"]

CART_TYPE = CartType(
    id="Interspire",
    label="BigCommerce (Interspire accounting gateway)",
    # No alias: the id "BigCommerce" belongs to the REST API cart type.
    config_schema={
        "type": "object",
        "properties": {
            "user": {"type": "string", "minLength": 1, "title": "Cart ID/User Name",
                     "description": "the control-panel login the gateway checks"},
            "password": {"type": "string", "writeOnly": True, "title": "Cart Password"},
            "store_code": {"type": "string", "title": "Store Code",
                           "description": "ignored by the gateway; BigCommerce may give a store reference number"},
            "script_url": {"type": "string", "minLength": 1, "title": "Script URL"},
        },
        "required": ["user", "password", "script_url"],
    },
    capabilities=Capabilities.declare(
        supported=[C.IMPORT_ORDERS, C.IMPORT_PRODUCTS, C.IMPORT_CUSTOMERS,
                   C.INVENTORY_GET, C.INVENTORY_SEND, C.INVENTORY_REALTIME],
        unsupported=[C.STATUS_UPDATES, C.CUSTOM_ORDER_FIELDS],
        realtime_levels=[L.PRODUCT, L.ATTRIBUTE, L.SUB_SKU],
    ),
    notes={
        C.STATUS_UPDATES.value: (
            "Order Status Updates are not supported. If the vendor chooses to make this option "
            "available in the future, it will be necessary to set system parameter "
            "UseGenericStatusUpdates to TRUE."),
        C.CUSTOM_ORDER_FIELDS.value: (
            "Custom order fields are not imported: the gateway sends none (customer-entered "
            "product fields arrive as order-line options instead)."),
    },
    script_url_example="store-xyz.bigcommerce.com/accountinggateway.php?action=process&accounting=stoneedge",
    order_number_pattern=SETI_ORDER_NUMBER,
    order_number_example="1041",
)


_VARID = re.compile(r"\[VARID:(\d+)\]", re.IGNORECASE)
_WEB_ID = re.compile(r"^(\d+)-(\d+)$")


def variation_of(record: dict) -> dict:
    """Mark a product record that is one variation combination (WebID ``productid-comboid``).

    The gateway exports one record per combination: Code is the parent's code (shared by every
    combination when the parent has one) or ``<name> [VARID:<combo>]``, and Name is
    ``<name> (<value1>, <value2>)``. ``variation`` records the parent and the option values so
    core can build sub-SKUs or keep options on the parent, and, for a combination that shares
    its parent's code, the address the gateway knows it by.
    """
    match = _WEB_ID.match(str(record.get("web_id") or ""))
    if not match:
        return record
    parent_web_id, combination = match.groups()
    parent_name, values = split_variation_name(record.get("name") or "")
    code = record.get("code") or ""
    shared = not _VARID.search(code)
    variation = {"parent_web_id": parent_web_id, "combination_id": combination, "parent_name": parent_name,
                 "values": values, "code_is_shared": shared}
    if shared:
        variation["address"] = f"{parent_name or code} [VARID:{combination}]"
    return {**record, "variation": variation}


def code_level(code: str, web_id: str | None) -> L:
    """``attribute`` for a code that addresses one combination (``[VARID:n]``, or a WebID
    ``<product>-<combination>``), else ``product``."""
    return L.ATTRIBUTE if _VARID.search(code or "") else variation_web_id(code, web_id)


def _can_adjust(code: str) -> bool:
    # invupdate builds invalid SQL for [VARID:n] codes: such deltas always fail (seti-protocol 6.6-6).
    return not _VARID.search(code)


def script_warnings(client: SetiClient, version: str) -> list[str]:
    """The gateway echoes the omversion SEOM sends as its version (5.500 when none is sent,
    section 6.2); a script with a version of its own is another kind of script."""
    if echoes_omversion(client, version):
        return []
    return [f"the script reports its own version ({version}) instead of echoing the omversion sent "
            f"({client.omversion}), as BigCommerce's Stone Edge gateway does: this Script URL looks like a "
            "generic SETI script, not cart type Interspire (change it with `seconnect carts edit NAME --type "
            "Generic` if so)."]


plugin = SetiPlugin(CART_TYPE, SetiDialect(
    single_page_customers=True,  # customer paging returns nothing after the first batch (6.6-7)
    single_page_products=True,  # product paging has no ORDER BY (6.6-10)
    trusts_inventory_replies=False,  # qohreplace reports Update Error for every SKU (6.6-5)
    product_record=variation_of,
    can_adjust=_can_adjust,
    code_level=code_level,
    script_warnings=script_warnings,
))
