"""Both built-in plugins pass the conformance kit, each against its own sandbox profile."""

from seconnect.testing.conformance import CartTypeSuite


class TestGenericConformance(CartTypeSuite):
    cart_type = "Generic"


class TestInterspireConformance(CartTypeSuite):
    cart_type = "Interspire"
