"""CustomerMatcher against a real store, on SQLite and PostgreSQL: rule by rule, rule order,
ambiguity, placeholders, batches, identity links and blank-field filling."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from sqlalchemy import event, func, select

from seconnect.matching import CREATED, WEB_ID_LINK, CustomerFacts, CustomerMatcher
from seconnect.store import tables


def _customers(store) -> list[dict]:
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(select(tables.customers).order_by(tables.customers.c.id)).mappings()]


def _links(store) -> set[tuple[int, str, int]]:
    with store.connect() as conn:
        return {tuple(r) for r in conn.execute(select(tables.customer_web_ids))}


def _count(store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.customers)).scalar_one()


MARISOL = CustomerFacts(first_name="Marisol", last_name="Venter", email="marisol@example.net",
                        phone="(207) 482-0142", street1="18 Quay Lane", city="Port Ellery", state="ME",
                        postal_code="04999", country="US")


def test_created_customer_has_its_keys_source_and_link(store, cart, match):
    [result] = match(cart, replace(MARISOL, web_id="508"))
    assert result.rule == CREATED and result.created and result.detail is None
    [row] = _customers(store)
    assert row["id"] == result.customer_id
    assert (row["email"], row["email_norm"], row["phone_digits"]) == ("marisol@example.net", "marisol@example.net",
                                                                     "2074820142")
    assert row["name_address_key"] == "marisol|venter|18 quay lane|04999"
    assert (row["created_from"], row["source_cart_id"]) == ("order import", cart.id)
    assert _links(store) == {(cart.id, "508", result.customer_id)}


def test_email_rule_ignores_case_and_whitespace(store, cart, match, set_rules):
    cart = set_rules(cart, "Email")
    [first] = match(cart, MARISOL)
    [again] = match(cart, CustomerFacts(first_name="M.", email="  MARISOL@Example.Net ", phone="999-555-1212"))
    assert (again.customer_id, again.rule) == (first.customer_id, "Email")
    assert _count(store) == 1


def test_phone_rule_compares_the_number_as_typed(store, cart, match, set_rules):
    cart = set_rules(cart, "Phone")
    [first] = match(cart, MARISOL)
    same, reformatted = match(cart, CustomerFacts(phone=" (207)  482-0142"), CustomerFacts(phone="207-482-0142"))
    assert (same.customer_id, same.rule) == (first.customer_id, "Phone")
    assert reformatted.rule == CREATED


def test_phone_digits_rule_ignores_formatting(store, cart, match, set_rules):
    cart = set_rules(cart, "Phone - No Formatting")
    [first] = match(cart, MARISOL)
    results = match(cart, CustomerFacts(phone="207.482.0142"), CustomerFacts(phone="+1 207 482 0142"),
                    CustomerFacts(phone="2074820142"))
    assert {(r.customer_id, r.rule) for r in results} == {(first.customer_id, "Phone - No Formatting")}


def test_name_address_zip_rule(store, cart, match, set_rules):
    cart = set_rules(cart, "Name, Address, Zip")
    [first] = match(cart, MARISOL)
    hit = CustomerFacts(first_name="MARISOL", last_name="venter", street1="18 Quay Lane.", postal_code="04999-0001")
    [hit, other_email] = match(cart, hit, replace(hit, email="other@example.org"))
    [moved] = match(cart, CustomerFacts(first_name="Marisol", last_name="Venter", street1="9 Ocean Ave",
                                        postal_code="04999"))
    assert (hit.customer_id, hit.rule) == (first.customer_id, "Name, Address, Zip")
    # a conflicting e-mail is evidence against it: someone else at that address
    assert other_email.rule == CREATED
    assert other_email.detail == f"Name, Address, Zip: customer {first.customer_id} has another e-mail, skipped"
    assert moved.rule == CREATED


def test_webid_rule_matches_the_same_store_defined_again_never_another_store(store, make_cart, match, set_rules):
    old = make_cart("Shop (old definition)", script_url="shop.example.test/seti.php")
    other_store = make_cart("Other shop", script_url="other.example.test/seti.php")
    [at_old] = match(old, replace(MARISOL, web_id="508"))
    [stranger] = match(other_store, CustomerFacts(first_name="Kai", web_id="509"))
    new = set_rules(make_cart("Shop", script_url="SHOP.example.test/seti.php"), "WebID")
    same, unrelated = match(new, CustomerFacts(web_id="508"), CustomerFacts(web_id="509"))
    assert (same.customer_id, same.rule) == (at_old.customer_id, "WebID")
    assert unrelated.rule == CREATED and unrelated.customer_id != stranger.customer_id
    without_rule = set_rules(make_cart("Shop again", script_url="shop.example.test/seti.php"), "Email")
    assert match(without_rule, CustomerFacts(web_id="508"))[0].rule == CREATED


def test_identity_link_comes_before_every_rule(store, cart, match, set_rules):
    cart = set_rules(cart, "Email", "Phone")
    [first] = match(cart, replace(MARISOL, web_id="508"))
    [other] = match(cart, CustomerFacts(email="kai@example.net"))
    # the account's e-mail changed to another customer's: the account still wins
    [again] = match(cart, CustomerFacts(email="kai@example.net", web_id="508"))
    assert (again.customer_id, again.rule) == (first.customer_id, WEB_ID_LINK)
    assert other.customer_id != first.customer_id


def test_identity_link_is_per_cart(store, make_cart, match):
    a, b = make_cart("A", script_url="a.example.test/s.php"), make_cart("B", script_url="b.example.test/s.php")
    [in_a] = match(a, CustomerFacts(first_name="Ana", web_id="5"))
    [in_b] = match(b, CustomerFacts(first_name="Bo", web_id="5"))
    assert in_b.rule == CREATED and in_b.customer_id != in_a.customer_id
    assert _links(store) == {(a.id, "5", in_a.customer_id), (b.id, "5", in_b.customer_id)}


def test_rules_are_tried_in_order_and_the_first_hit_wins(store, cart, match, set_rules):
    by_email = match(cart, CustomerFacts(email="ana@example.com", phone="111-555-0000"))[0].customer_id
    by_phone = match(cart, CustomerFacts(first_name="Bo", phone="222-555-0000"))[0].customer_id
    probe = CustomerFacts(email="ana@example.com", phone="222-555-0000")
    [email_first] = match(set_rules(cart, "Email", "Phone"), probe)
    [phone_first] = match(set_rules(cart, "Phone", "Email"), probe)
    assert (email_first.customer_id, email_first.rule) == (by_email, "Email")
    assert (phone_first.customer_id, phone_first.rule) == (by_phone, "Phone")


def test_changed_search_fields_change_the_outcome(store, cart, match, set_rules):
    [marisol] = match(cart, MARISOL)
    probe = CustomerFacts(first_name="Marisol", last_name="Venter", phone="207 482 0142", street1="18 Quay Lane",
                          postal_code="04999")

    def dry_run(rules: tuple[str, ...]) -> tuple[int, str]:
        with store.engine.connect() as conn, conn.begin() as tx:
            [result] = CustomerMatcher(conn, set_rules(cart, *rules), source="test").match_many([probe])
            tx.rollback()
        return result.customer_id, result.rule

    assert dry_run(("Email", "Phone"))[1] == CREATED
    assert dry_run(("None", "Phone - No Formatting")) == (marisol.customer_id, "Phone - No Formatting")
    assert dry_run(("Name, Address, Zip", "Email")) == (marisol.customer_id, "Name, Address, Zip")
    assert dry_run(("None", "None", "None", "None"))[1] == CREATED
    assert _count(store) == 1


def test_ambiguous_rule_is_skipped_and_explained(store, cart, match, set_rules):
    # two customers sharing a phone (a couple, an office), created while only Email was a rule
    twins = match(set_rules(cart, "Email"), CustomerFacts(email="a@example.com", phone="333-482-0101"),
                  CustomerFacts(email="b@example.com", phone="333-482-0101"))
    assert [t.rule for t in twins] == [CREATED, CREATED]
    cart = set_rules(cart, "Phone - No Formatting", "Email")
    [hit] = match(cart, CustomerFacts(email="b@example.com", phone="(333) 482-0101"))
    assert (hit.customer_id, hit.rule) == (twins[1].customer_id, "Email")
    ids = sorted(t.customer_id for t in twins)
    assert hit.detail == f"Phone - No Formatting: 2 customers match ({ids[0]}, {ids[1]}), skipped"
    [nobody] = match(cart, CustomerFacts(phone="333-482-0101"))
    assert nobody.rule == CREATED and "Phone - No Formatting: 2 customers match" in nobody.detail


def test_ambiguity_is_explained_with_real_ids_for_customers_created_in_the_batch(store, cart, match, set_rules):
    cart = set_rules(cart, "Phone", "Email")
    a, b, c = match(cart, CustomerFacts(email="a@example.com", phone="444-482-0101"),
                    CustomerFacts(email="b@example.com", phone="444-482-0101"),
                    CustomerFacts(email="a@example.com", phone="444-482-0101"))
    # b has another e-mail: not a's; c then finds two customers by the number and a by e-mail
    assert (b.rule, b.detail) == (CREATED, f"Phone: customer {a.customer_id} has another e-mail, skipped")
    assert (c.rule, c.customer_id) == ("Email", a.customer_id)
    assert c.detail == f"Phone: 2 customers match ({a.customer_id}, {b.customer_id}), skipped"
    assert _count(store) == 2


BLANKS = ["0", "", " ", "n/a", "none", "null", "-", None]


def test_placeholders_never_merge_strangers(store, cart, match, set_rules):
    cart = set_rules(cart, "Email", "Phone", "Phone - No Formatting", "Name, Address, Zip")
    for blank in BLANKS:  # one batch per spelling, so each meets the strangers of earlier batches
        strangers = [CustomerFacts(first_name=f"Guest{i}", last_name=blank, email=blank, phone=blank, street1=blank,
                                   postal_code=blank, web_id=blank) for i in range(3)]
        assert [r.rule for r in match(cart, *strangers)] == [CREATED] * 3, blank
    rows = _customers(store)
    assert len(rows) == 3 * len(BLANKS)
    assert all(r["email"] is None and r["phone"] is None and r["email_norm"] is None and r["last_name"] is None
               for r in rows)
    assert _links(store) == set()


def test_fake_contact_data_never_matches(store, cart, match, set_rules):
    cart = set_rules(cart, "Email", "Phone", "Phone - No Formatting")
    fakes = [CustomerFacts(phone=p) for p in ("0000000", "000-000-0000", "555-5555", "1234567890", "12345")]
    fakes += [CustomerFacts(email=e) for e in ("noemail@shop.com", "test@test.com", "none", "0@0")]
    first = match(cart, *fakes)
    again = match(cart, *fakes)
    assert [r.rule for r in first + again] == [CREATED] * (2 * len(fakes))
    assert _count(store) == 2 * len(fakes)


def test_a_conflicting_email_keeps_every_other_rule_from_linking(store, make_cart, match, set_rules):
    old = make_cart("Shop (old definition)", script_url="shop.example.test/seti.php")
    [marisol] = match(old, replace(MARISOL, web_id="508"))
    cart = set_rules(make_cart("Shop", script_url="shop.example.test/seti.php"),
                     "WebID", "Phone", "Phone - No Formatting", "Name, Address, Zip")
    stranger = replace(MARISOL, email="guest@example.org", web_id="508")  # every key but the e-mail agrees
    [other] = match(cart, stranger)
    assert other.created and other.customer_id != marisol.customer_id
    assert other.detail == "; ".join(f"{rule}: customer {marisol.customer_id} has another e-mail, skipped"
                                     for rule in ("WebID", "Phone", "Phone - No Formatting", "Name, Address, Zip"))
    # a blank e-mail on either side is no evidence either way; the Email rule is not affected
    blank = set_rules(make_cart("Shop again", script_url="shop.example.test/seti.php"), "Phone", "Email")
    lee = CustomerFacts(first_name="Lee", email="lee@example.net", phone="617-482-0003")
    [created] = match(blank, lee)
    no_email, same_email = match(blank, replace(lee, email=None), replace(lee, phone="(617) 482-9999"))
    assert (no_email.customer_id, no_email.rule) == (created.customer_id, "Phone")
    assert (same_email.customer_id, same_email.rule) == (created.customer_id, "Email")
    [emailless] = match(blank, CustomerFacts(first_name="Kai", phone="617-482-0001"))
    [kai] = match(blank, CustomerFacts(first_name="Kai", email="kai@example.net", phone="617-482-0001"))
    assert (kai.customer_id, kai.rule) == (emailless.customer_id, "Phone")


def test_customer_records_with_another_email_fill_nobody(store, cart, match, set_rules):
    """The customer import (fill_blanks) applies the same rule: a stranger's blanks stay blank."""
    cart = set_rules(cart, "Phone")
    [first] = match(cart, CustomerFacts(first_name="Ana", email="ana@example.com", phone="617-482-0002"))
    [other] = match(cart, CustomerFacts(first_name="Bo", company="Bo & Co", email="bo@example.com",
                                        phone="617-482-0002"), fill_blanks=True)
    assert other.created and other.filled == ()
    assert [(r["first_name"], r["company"]) for r in _customers(store)] == [("Ana", None), ("Bo", "Bo & Co")]
    assert first.customer_id != other.customer_id


def test_fictional_and_shared_numbers_never_link_guests(store, cart, match, set_rules):
    cart = set_rules(cart, "Phone", "Phone - No Formatting")
    guests = [CustomerFacts(first_name=f"Guest{i}", phone=p)
              for i, p in enumerate(("555-0199", "(312) 555-0199", "+1 312 555 0142", "555-0199"))]
    assert [r.rule for r in match(cart, *guests)] == [CREATED] * 4
    assert {r["phone"] for r in _customers(store)} == {None}  # a fake number is not kept as one
    # an office number two customers share matches neither, in the batch that creates them and later
    office = [CustomerFacts(first_name=n, phone="617-482-7700") for n in ("Ann", "Ben", "Cy")]
    results = match(set_rules(cart, "Email"), *office[:2]) + match(cart, office[2])
    assert results[2].created and "2 customers match" in results[2].detail


def test_guest_without_web_id_is_matched_by_email(store, cart, match):
    [account] = match(cart, replace(MARISOL, web_id="508"))
    [guest] = match(cart, CustomerFacts(first_name="Marisol", email="Marisol@Example.net", web_id="0"))
    assert (guest.customer_id, guest.rule) == (account.customer_id, "Email")
    assert _links(store) == {(cart.id, "508", account.customer_id)}


def test_same_batch_duplicates_get_one_customer(store, cart, match):
    guest = CustomerFacts(first_name="Kai", email="kai@example.net", phone="0")
    results = match(cart, guest, replace(guest, email="KAI@example.net "), replace(guest, web_id="77"),
                    replace(guest, web_id="77", email=None))
    assert [r.rule for r in results] == [CREATED, "Email", "Email", WEB_ID_LINK]
    assert len({r.customer_id for r in results}) == 1
    assert _count(store) == 1
    assert _links(store) == {(cart.id, "77", results[0].customer_id)}


def test_reimport_uses_the_identity_link_and_creates_nothing(store, cart, match):
    batch = [replace(MARISOL, web_id="1"), CustomerFacts(first_name="Kai", email="0", web_id="2"),
             CustomerFacts(first_name="Kai", email="0", web_id="3")]
    first = match(cart, *batch)
    again = match(cart, *batch)
    assert [r.rule for r in first] == [CREATED] * 3
    assert [r.rule for r in again] == [WEB_ID_LINK] * 3
    assert [r.customer_id for r in again] == [r.customer_id for r in first]
    assert _count(store) == 3


def test_customer_records_fill_blank_fields_only(store, cart, match):
    [from_order] = match(cart, CustomerFacts(first_name="Marisol", email="marisol@example.net", phone="0"))
    [record] = match(cart, replace(MARISOL, first_name="Marisa", phone="207-482-0142", web_id="508"),
                     source="customer import", fill_blanks=True)
    assert (record.customer_id, record.rule) == (from_order.customer_id, "Email")
    assert record.filled == ("last_name", "phone", "street1", "city", "state", "postal_code", "country")
    [row] = _customers(store)
    assert row["first_name"] == "Marisol"  # not overwritten
    assert (row["phone"], row["phone_digits"], row["street1"]) == ("207-482-0142", "2074820142", "18 Quay Lane")
    assert row["name_address_key"] == "marisol|venter|18 quay lane|04999"
    assert row["created_from"] == "order import"
    # filled keys are matchable at once, in the same batch and later
    [by_phone] = match(cart, CustomerFacts(phone="207-482-0142"))
    assert by_phone.customer_id == row["id"]


def test_filling_never_mixes_two_addresses(store, cart, match):
    [first] = match(cart, CustomerFacts(email="ana@example.com", city="Springfield"))
    [again] = match(cart, CustomerFacts(email="ana@example.com", street1="1 Main St", city="Shelbyville",
                                        postal_code="12345"), fill_blanks=True)
    assert (again.customer_id, again.filled) == (first.customer_id, ())
    [row] = _customers(store)
    assert (row["street1"], row["city"], row["postal_code"]) == (None, "Springfield", None)


def test_an_address_fills_a_customer_with_only_an_agreeing_country(store, cart, match):
    [first] = match(cart, CustomerFacts(email="ana@example.com", country="US"))
    [again] = match(cart, CustomerFacts(email="ana@example.com", street1="1 Main St", city="Shelbyville",
                                        postal_code="12345", country="us"), fill_blanks=True)
    assert again.filled == ("street1", "city", "postal_code")
    [third] = match(cart, CustomerFacts(email="ana@example.com", street1="9 Other Rd", city="Ogdenville",
                                        postal_code="99999"), fill_blanks=True)
    assert third.filled == ()
    [row] = _customers(store)
    assert (row["street1"], row["city"], row["postal_code"], row["country"]) == ("1 Main St", "Shelbyville",
                                                                                "12345", "US")


def test_orders_never_change_the_customer(store, cart, match):
    [first] = match(cart, CustomerFacts(email="ana@example.com"))
    [order] = match(cart, CustomerFacts(first_name="Ana", email="ana@example.com", phone="555-123-4567"))
    assert order.rule == "Email" and order.filled == ()
    [row] = _customers(store)
    assert row["first_name"] is None and row["phone"] is None


def test_fill_in_a_batch_makes_the_new_key_matchable_by_later_records(store, cart, match, set_rules):
    cart = set_rules(cart, "Email", "Phone - No Formatting")
    [first] = match(cart, CustomerFacts(first_name="Ana", web_id="9"))
    linked, by_phone = match(cart, CustomerFacts(web_id="9", phone="312-482-0199"),
                             CustomerFacts(phone="(312) 482-0199"), fill_blanks=True)
    assert (linked.rule, linked.filled) == (WEB_ID_LINK, ("phone",))
    assert (by_phone.customer_id, by_phone.rule) == (first.customer_id, "Phone - No Formatting")


def test_one_query_per_rule_per_batch(store, cart, match, set_rules):
    cart = set_rules(cart, "Email", "Phone", "Phone - No Formatting", "Name, Address, Zip")
    match(cart, *[CustomerFacts(first_name=f"P{i}", last_name="X", email=f"p{i}@example.com",
                                phone=f"312-555-{i:04d}", street1=f"{i} Main St", postal_code="12345",
                                web_id=str(i)) for i in range(200)])
    batch = [CustomerFacts(first_name=f"P{i}", last_name="X", email=f"p{i}@example.com",
                           phone=f"312-555-{i:04d}", street1=f"{i} Main St", postal_code="12345")
             for i in range(100, 400)]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        results = match(cart, *batch)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert [r.rule for r in results] == ["Email"] * 100 + [CREATED] * 200
    # one per rule and one to number the new customers (+ the advisory lock on PostgreSQL; no
    # web ids, so no link look-up); the 200 new customers go in one bulk insert
    selects = statements.count("SELECT")
    assert selects == 4 + 1 + (1 if store.dialect_name == "postgresql" else 0)
    assert statements.count("INSERT") <= 2
    assert len(statements) < 14


def test_empty_batch_touches_nothing(store, cart, match):
    assert match(cart) == []
    assert _count(store) == 0


def test_concurrent_batches_do_not_create_the_same_customer_twice(store, cart, match):
    """Two workers importing the same new buyer at once: the second waits for the first's batch
    to commit (PostgreSQL: advisory lock; SQLite: the write transaction), then matches it."""
    buyer = CustomerFacts(first_name="Ana", email="ana@example.com")
    second: list = []
    started = threading.Event()

    def other_worker():
        started.set()
        second.extend(match(cart, buyer))

    with store.begin() as conn:
        [first] = CustomerMatcher(conn, cart, source="order import").match_many([buyer])
        worker = threading.Thread(target=other_worker)
        worker.start()
        started.wait()
        time.sleep(0.3)  # give the other worker time to reach the lock while this batch is open
    worker.join(timeout=30)
    assert [(r.customer_id, r.rule) for r in second] == [(first.customer_id, "Email")]
    assert _count(store) == 1


class _Watched(dict):
    """An order part that records which of its fields were read."""

    read: set[str] = set()

    def get(self, key, default=None):
        _Watched.read.add(key)
        return super().get(key, default)


def test_match_orders_decides_linked_orders_by_the_link_without_reading_them(store, cart):
    billing = {"first_name": "Marisol", "last_name": "Venter", "email": "marisol@example.net",
               "street1": "18 Quay Lane", "postal_code": "04999"}
    with store.begin() as conn:
        [first] = CustomerMatcher(conn, cart, source="order import").match_orders(
            [{"billing": billing, "other": {"web_customer_id": "508"}}])
    assert first.rule == CREATED
    _Watched.read = set()
    orders = [{"billing": _Watched(billing, email="other@example.net"), "other": {"web_customer_id": " 508 "}},
              {"billing": _Watched(billing), "other": {"web_customer_id": "0"}}]
    with store.begin() as conn:
        linked, by_email = CustomerMatcher(conn, cart, source="order import").match_orders(orders)
    # the same results as matching every order's facts: the link decides, then the e-mail rule
    assert (linked.customer_id, linked.rule) == (first.customer_id, WEB_ID_LINK)
    assert (by_email.customer_id, by_email.rule) == (first.customer_id, "Email")
    assert _count(store) == 1
    # only the unlinked order's contact data was read
    orders[1]["billing"] = dict(billing)
    _Watched.read = set()
    with store.begin() as conn:
        CustomerMatcher(conn, cart, source="order import").match_orders(orders[:1])
    assert _Watched.read == set()
