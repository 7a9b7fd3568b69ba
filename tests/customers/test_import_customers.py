"""`import_customers` end to end: a real sandbox cart over HTTPS, a real store on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from seconnect import params
from seconnect.capabilities import Capabilities, Capability
from seconnect.carts import get_cart
from seconnect.errors import CapabilityError
from seconnect.hookspecs import hookimpl
from seconnect.jobs.import_customers import import_customers
from seconnect.matching import CustomerFacts, normalize_email, phone_digits
from seconnect.plugins import load_plugins
from seconnect.sandbox import Sandbox
from seconnect.store import tables


def _rows(store, table, *where):
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


def _customer_of(store, cart) -> dict[str, int]:
    """The cart's web id -> the customer it is linked to."""
    links = tables.customer_web_ids
    with store.connect() as conn:
        return dict(conn.execute(select(links.c.web_id, links.c.customer_id).where(links.c.cart_id == cart.id)).all())


def _sandbox_cart(store, make_cart, set_rules, sb, *rules, batch_size: int = 10):
    """A cart for the sandbox with small batches (so paging matters) and the given rules."""
    cart = make_cart("Harbor", cart_type=sb.profile_name, sb=sb)
    with store.begin() as conn:
        params.set_value(conn, "DownloadBatchSize", str(batch_size), cart.id)
        cart = get_cart(conn, cart.name)
    return set_rules(cart, *rules) if rules else cart


@pytest.fixture(params=["interspire", "generic"])
def sb(request, isc_sandbox, generic_sandbox):
    return isc_sandbox if request.param == "interspire" else generic_sandbox


def test_every_customer_arrives_and_email_twins_collapse(store, plugins, make_cart, set_rules, sb):
    cart = _sandbox_cart(store, make_cart, set_rules, sb)  # default rules: Email, then Phone
    held = sb.customers()
    downloads_before = sum(1 for f, _ in sb.requests() if f == "downloadcustomers")
    seen: list[int] = []
    summary = import_customers(store, plugins, cart, progress=seen.append)

    assert summary["received"] == len(held) == 30 == sum(seen)
    if sb.profile_name == "interspire":
        # the module answers "no more" for every page after the first: asked for all at once
        assert sum(1 for f, _ in sb.requests() if f == "downloadcustomers") - downloads_before == 1
    emails = {normalize_email(c["email"]) for c in held}
    assert summary["created"] == len(emails) < len(held)
    assert summary["matched"] == {"Email": len(held) - len(emails)}
    assert summary["quarantined"] == 0
    customer_of = _customer_of(store, cart)
    assert set(customer_of) == {str(c["id"]) for c in held}  # every account linked
    by_email: dict[str, set[int]] = {}
    for c in held:
        by_email.setdefault(normalize_email(c["email"]), set()).add(customer_of[str(c["id"])])
    assert all(len(ids) == 1 for ids in by_email.values())
    assert len(set(customer_of.values())) == len(emails)
    [run] = _rows(store, tables.runs)
    assert (run["job"], run["status"], run["summary"]) == ("import-customers", "ok", summary)


def test_second_run_creates_nothing(store, plugins, make_cart, set_rules, sb):
    cart = _sandbox_cart(store, make_cart, set_rules, sb)
    first = import_customers(store, plugins, cart)
    second = import_customers(store, plugins, cart)
    assert second["created"] == 0 and second["filled"] == 0
    assert second["matched"] == {"web id link": first["received"]}
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.customers)).scalar_one() == first["created"]


def test_phone_twins_under_another_email_and_zero_phones_stay_apart(
        store, plugins, make_cart, set_rules, isc_sandbox, match):
    held = isc_sandbox.customers()
    cart = _sandbox_cart(store, make_cart, set_rules, isc_sandbox, "Phone - No Formatting")
    summary = import_customers(store, plugins, cart)
    digits = [phone_digits(c["phone"]) for c in held]
    real = [d for d in digits if d]
    assert len(real) > len(set(real))  # the sandbox re-registers people under a new e-mail, same number
    assert sum(c["phone"] == "0" for c in held) >= 2  # the sandbox sends blank phones as "0"
    # another e-mail is someone else: nobody is linked by the number
    assert summary["created"] == len(held) and summary["matched"] == {}
    assert len(set(_customer_of(store, cart).values())) == len(held)
    # afterwards a number several customers share matches nobody; a number of one customer does
    shared = next(d for d in real if real.count(d) > 1)
    single = next(d for d in real if real.count(d) == 1)
    by_shared, by_single = match(cart, CustomerFacts(phone=shared), CustomerFacts(phone=f"+1 {single}"))
    assert by_shared.created and "Phone - No Formatting: 2 customers match" in by_shared.detail
    assert by_single.rule == "Phone - No Formatting"


def test_formatted_phone_twins_stay_apart_under_the_phone_rule(store, plugins, make_cart, set_rules, isc_sandbox):
    held = isc_sandbox.customers()
    cart = _sandbox_cart(store, make_cart, set_rules, isc_sandbox, "Phone")
    summary = import_customers(store, plugins, cart)
    zeros = sum(c["phone"] == "0" for c in held)
    as_typed = {c["phone"].strip() for c in held if c["phone"] != "0"}
    as_digits = {phone_digits(c["phone"]) for c in held if c["phone"] != "0"}
    assert len(as_digits) < len(as_typed)  # the sandbox re-registers people with reformatted phones
    assert summary["created"] == len(as_typed) + zeros


@pytest.mark.parametrize("profile", ["interspire", "generic"])
def test_orders_link_to_imported_customers(store, plugins, make_cart, set_rules, profile):
    """Orders imported after the customers: registered buyers find their customer (by the
    WebCustomerID link where the cart sends it, else by e-mail, as a guest would); guests with
    "0" contact data never collapse into one customer."""
    from seconnect.jobs.import_orders import import_orders

    with Sandbox(profile, orders=40, customers=30) as sb:
        cart = _sandbox_cart(store, make_cart, set_rules, sb, batch_size=50)
        import_customers(store, plugins, cart)
        import_orders(store, plugins, cart)
        held = {o["number"]: o for o in sb.orders()}
    customer_of = _customer_of(store, cart)
    stored = _rows(store, tables.orders)
    assert stored
    guests = [o for o in stored if held[o["number"]]["customer_id"] is None]
    for order in stored:
        account = held[order["number"]]["customer_id"]
        if account is not None:
            assert order["customer_id"] == customer_of[str(account)]
            assert order["customer_match"] in ("web id link", "Email")
    assert guests and all(o["customer_match"] == "created" for o in guests)
    assert len({o["customer_id"] for o in guests}) == len(guests)
    assert not {o["customer_id"] for o in guests} & set(customer_of.values())


class _OneBadRecord:
    """Wraps whichever plugin answers import_customers and slips an invalid record into the
    first batch, as a broken cart script would."""

    @hookimpl(wrapper=True)
    def import_customers(self, cart, batch_size):
        batches = yield

        def spoiled():
            for n, batch in enumerate(batches):
                if n == 0:
                    batch = [*batch[:2], {"web_id": "", "billing": {"email": 42}}, *batch[2:]]
                yield batch

        return spoiled()


def test_invalid_record_is_quarantined_and_the_rest_import(store, make_cart, set_rules, generic_sandbox):
    plugins = load_plugins(extra=[("one-bad-record", _OneBadRecord())])
    cart = _sandbox_cart(store, make_cart, set_rules, generic_sandbox)
    summary = import_customers(store, plugins, cart)
    assert summary["received"] == 31 and summary["quarantined"] == 1
    assert summary["created"] + sum(summary["matched"].values()) == 30
    [parked] = _rows(store, tables.quarantine)
    assert (parked["kind"], parked["cart_id"], parked["external_id"]) == ("customer", cart.id, "")
    assert "$.web_id" in parked["reason"] and "$.billing.email" in parked["reason"]
    assert json.loads(parked["payload"]) == {"web_id": "", "billing": {"email": 42}}
    events = _rows(store, tables.audit_events, tables.audit_events.c.event == "customer-quarantined")
    assert len(events) == 1
    assert len(_customer_of(store, cart)) == 30


def test_cart_error_mid_import_keeps_committed_batches_and_fails_the_run(store, make_cart, set_rules,
                                                                       generic_sandbox):
    class _Breaks:
        @hookimpl(wrapper=True)
        def import_customers(self, cart, batch_size):
            batches = yield

            def then_fail():
                iterator = iter(batches)
                yield next(iterator)
                raise CapabilityError("cart went away")  # any seconnect error

            return then_fail()

    plugins = load_plugins(extra=[("breaks", _Breaks())])
    cart = _sandbox_cart(store, make_cart, set_rules, generic_sandbox)
    with pytest.raises(CapabilityError):
        import_customers(store, plugins, cart)
    [run] = _rows(store, tables.runs)
    assert run["status"] == "failed" and run["error"] == "cart went away"
    assert run["summary"]["received"] == 10
    assert len(_customer_of(store, cart)) == 10


def test_a_cart_type_without_customer_import_is_refused_before_any_run(store, plugins, make_cart):
    class _NoCustomers:
        @hookimpl(tryfirst=True)
        def capabilities(self, cart):
            return Capabilities.declare(unsupported=[Capability.IMPORT_CUSTOMERS])

    plugins = load_plugins(extra=[("no-customers", _NoCustomers())])
    cart = make_cart()
    with pytest.raises(CapabilityError, match="customer import"):
        import_customers(store, plugins, cart)
    assert _rows(store, tables.runs) == []


def test_import_fills_blanks_and_reports_ambiguity_once_per_batch(store, plugins, make_cart, set_rules, match,
                                                                  generic_sandbox):
    held = {str(c["id"]): c for c in generic_sandbox.customers()}
    cart = _sandbox_cart(store, make_cart, set_rules, generic_sandbox, "None")
    # before the import: two customers share customer 1's e-mail; customer 2's e-mail alone is known
    twins = match(cart, CustomerFacts(first_name="A", email=held["1"]["email"]),
                  CustomerFacts(first_name="B", email=held["1"]["email"]))
    [known] = match(cart, CustomerFacts(email=held["2"]["email"]))
    cart = set_rules(cart, "Email")
    summary = import_customers(store, plugins, cart)

    assert summary["filled"] == 1
    [row] = _rows(store, tables.customers, tables.customers.c.id == known.customer_id)
    assert (row["first_name"], row["phone"], row["street1"]) == (
        held["2"]["first"], held["2"]["phone"], held["2"]["street1"])
    assert row["created_from"] == "order import"  # where it was first seen
    assert _customer_of(store, cart)["2"] == known.customer_id
    assert _customer_of(store, cart)["1"] not in {t.customer_id for t in twins}
    [event] = _rows(store, tables.audit_events, tables.audit_events.c.event == "customer-matches-ambiguous")
    assert event["detail"]["count"] == 1
    [listed] = event["detail"]["records"]
    assert (listed["web_id"], listed["rule"]) == ("1", "created")
    assert listed["detail"].startswith("Email: 2 customers match")
