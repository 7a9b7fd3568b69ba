"""BigCommerce for seconnect: two cart types in one package.

* ``Interspire`` (:mod:`.interspire`): the legacy Stone Edge accounting gateway, over SETI.
* ``BigCommerce`` (:mod:`.rest`): the REST API (orders v2; catalog, inventory, customers v3).

Each module has its own plugin object, registered under its own ``seconnect`` entry point. The
package itself imports neither: a helper process reading REST orders then loads only the REST
modules, not the SETI client and the store (about 0.3 s less before the first helper can start).
"""
