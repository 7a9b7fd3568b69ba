"""seconnect — keep an order-management database in step with web stores.

This module is the public API for plugin authors; everything else is internal and may change.
"""

from importlib.metadata import PackageNotFoundError, version

from . import errors
from .capabilities import Capabilities, Capability, InventoryLevel, Support
from .cartdef import CartDefinition, CartType, Secret
from .hookspecs import hookimpl
from .operations import (
    InventoryAction,
    InventoryOutcome,
    InventoryResult,
    InventoryRow,
    OrderBatch,
    Package,
    ScriptVersion,
    StatusResult,
    StatusUpdate,
)

try:
    __version__ = version("seconnect")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "errors",
    "hookimpl",
    "Capabilities",
    "Capability",
    "InventoryLevel",
    "Support",
    "CartDefinition",
    "CartType",
    "Secret",
    "InventoryAction",
    "InventoryOutcome",
    "InventoryResult",
    "InventoryRow",
    "OrderBatch",
    "Package",
    "ScriptVersion",
    "StatusResult",
    "StatusUpdate",
]
