"""BigCommerce through its legacy Stone Edge accounting gateway (SEOM cart type "Interspire").

The gateway is the Interspire Shopping Cart ``stoneedge`` module. It speaks SETI with its own
habits, which this plugin adapts on top of seconnect's shared SETI code: the script version is an
echo of the ``omversion`` sent, errors come as a ``SETIError`` document, there is no
``updatestatus``, variations are addressed as ``[VARID:n]`` and customers page only once.
"""

from seconnect import Capabilities, CartType, hookimpl
from seconnect import Capability as C
from seconnect import InventoryLevel as L

__all__ = ["CART_TYPE"]

CART_TYPE = CartType(
    id="Interspire",
    label="BigCommerce (Interspire accounting gateway)",
    aliases=("bigcommerce",),
    field_labels={
        "user": "Cart ID/User Name",
        "password": "Cart Password",
        "store_code": "Store Code",
        "script_url": "Script URL",
    },
    config_schema={
        "type": "object",
        "properties": {
            "user": {"type": "string", "minLength": 1,
                     "description": "the control-panel login the gateway checks"},
            "store_code": {"type": "string",
                           "description": "ignored by the gateway; BigCommerce may give a store reference number"},
            "script_url": {"type": "string", "minLength": 1},
        },
        "required": ["user", "script_url"],
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
)


@hookimpl
def seconnect_cart_types():
    return [CART_TYPE]
