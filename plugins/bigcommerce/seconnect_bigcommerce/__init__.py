"""BigCommerce for seconnect: two cart types in one package.

* ``Interspire`` (:mod:`.interspire`): the legacy Stone Edge accounting gateway, over SETI.
* ``BigCommerce`` (:mod:`.rest`): the REST API (orders v2; catalog, inventory, customers v3).

Each module has its own plugin object, registered under its own ``seconnect`` entry point.
"""

from .interspire import CART_TYPE, code_level, plugin, variation_of

__all__ = ["CART_TYPE", "plugin", "variation_of", "code_level"]
