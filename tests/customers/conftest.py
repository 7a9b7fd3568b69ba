"""Fixtures for the customer tests: carts in a real store, shared sandboxes, and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner

from seconnect import params
from seconnect.cartdef import CartDefinition
from seconnect.carts import add_cart, get_cart
from seconnect.cli import build_cli
from seconnect.cli import customers as customers_cli
from seconnect.matching import CustomerFacts, CustomerMatcher, MatchResult
from seconnect.plugins import Plugins, load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store

SHOP_URL = "shop.example.test/seti.php"


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins()


@pytest.fixture
def make_cart(store: Store, plugins: Plugins) -> Callable[..., CartDefinition]:
    """``make_cart("Shop A", script_url=...)``: a generic cart definition in the store."""

    def factory(name: str = "Shop", *, script_url: str = SHOP_URL, cart_type: str = "generic",
                sb: Sandbox | None = None) -> CartDefinition:
        with store.begin() as conn:
            if sb is not None:
                return add_cart(conn, plugins, name=name, cart_type=cart_type, user=sb.user, password=sb.password,
                                script_url=sb.script_url, ca_bundle=sb.ca_file)
            return add_cart(conn, plugins, name=name, cart_type=cart_type, user="seom.sync", password="pw",
                            script_url=script_url)

    return factory


@pytest.fixture
def cart(make_cart) -> CartDefinition:
    return make_cart()


@pytest.fixture
def set_rules(store: Store) -> Callable[..., CartDefinition]:
    """``set_rules(cart, "Phone", "Email")``: CustomerSearchField1..4 (the rest "None"); the
    cart definition re-read, as a job would get it."""

    def apply(cart: CartDefinition, *rules: str) -> CartDefinition:
        padded = [*rules, *["None"] * (4 - len(rules))]
        with store.begin() as conn:
            for n, rule in enumerate(padded, start=1):
                params.set_value(conn, f"CustomerSearchField{n}", rule, None)
            return get_cart(conn, cart.name)

    return apply


@pytest.fixture
def match(store: Store) -> Callable[..., list[MatchResult]]:
    """``match(cart, facts, ...)``: one batch through a matcher, committed."""

    def run(cart: CartDefinition, *facts: CustomerFacts, source: str = "order import",
            fill_blanks: bool = False) -> list[MatchResult]:
        with store.begin() as conn:
            return CustomerMatcher(conn, cart, source=source, fill_blanks=fill_blanks).match_many(facts)

    return run


@pytest.fixture(scope="module")
def isc_sandbox() -> Iterator[Sandbox]:
    """Interspire profile, all bugs on (customers page once only); read-only for these tests."""
    with Sandbox("interspire", orders=0, customers=30) as sb:
        yield sb


@pytest.fixture(scope="module")
def generic_sandbox() -> Iterator[Sandbox]:
    with Sandbox("generic", orders=0, customers=30) as sb:
        yield sb


class Cli:
    """The real CLI, in-process, with the customers group added (it is registered elsewhere)."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str):
        cli = build_cli()
        if "customers" not in cli.commands:
            cli.add_command(customers_cli.command)
        return self.runner.invoke(cli, ["--db", self.db_url, *args], catch_exceptions=False)


@pytest.fixture
def seconnect(db_url: str, store: Store) -> Cli:
    return Cli(db_url)
