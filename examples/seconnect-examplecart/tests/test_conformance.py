"""seconnect's conformance kit, run against the fake shop."""

from seconnect_examplecart.fake import FakeShop

from seconnect.testing.conformance import CartTypeSuite


class TestExampleCart(CartTypeSuite):
    cart_type = "ExampleCart"
    cart_factory = FakeShop
