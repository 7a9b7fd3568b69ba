"""ExampleCart for seconnect: the cart type and its hooks are in ``plugin``, the shop's API in
``client``, and a fake shop to test against in ``fake``."""
