"""seconnect — keep an order-management database in step with web stores.

This module is the public API for plugin authors, with :mod:`seconnect.errors` (the error families),
:mod:`seconnect.http` (the HTTP layer every cart type shares: TLS, reply caps, error mapping,
retries, one kept-alive connection per cart), :mod:`seconnect.helpers` (work in helper
processes), :mod:`seconnect.seti` (the base of SETI-speaking
types), :mod:`seconnect.cli` (commands, the ``App``) and :mod:`seconnect.run` (the jobs a plugin
command may run); everything else is internal and may change.
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
    WebhookAction,
)
from .paramdef import Param

#: The modules plugins may import, each with its names in ``__all__`` (a test holds the built-in
#: plugins and the example to these).
PUBLIC_MODULES = (
    "seconnect",
    "seconnect.errors",
    "seconnect.http",
    "seconnect.helpers",
    "seconnect.seti",
    "seconnect.cli",
    "seconnect.run",
    "seconnect.testing.conformance",
)

try:
    __version__ = version("seconnect")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "PUBLIC_MODULES",
    "errors",
    "hookimpl",
    "Capabilities",
    "Capability",
    "InventoryLevel",
    "Support",
    "CartDefinition",
    "CartType",
    "Secret",
    "Param",
    "InventoryAction",
    "InventoryOutcome",
    "InventoryResult",
    "InventoryRow",
    "OrderBatch",
    "Package",
    "ScriptVersion",
    "StatusResult",
    "StatusUpdate",
    "WebhookAction",
]
