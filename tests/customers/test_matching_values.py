"""The match keys and placeholder rules, and what the facts of a record are (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seconnect.matching import (
    CustomerFacts,
    facts_from_customer,
    facts_from_order,
    is_placeholder,
    key_columns,
    name_address_key,
    normalize_email,
    phone_digits,
    phone_text,
    split_full_name,
)


@pytest.mark.parametrize("value", [
    None, "", "   ", "0", "00", "000", "n/a", "N/A", "na", "NONE", "null", "-", "--", ".", "unknown", "xxx",
])
def test_generic_placeholders(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["noemail@example.com", "NoEmail@shop.com", "no-reply@shop.com", "test@test.com",
                                   "none@x.org", "marisol", "a@b", "@example.com", "a@@b.com", "a b@c.com",
                                   "someone@test.com", "0"])
def test_placeholder_emails(value):
    assert is_placeholder(value, "email")
    assert normalize_email(value) is None


@pytest.mark.parametrize("value", ["0", "0000000", "000-000-0000", "(555) 555-5555", "1111111111", "123",
                                   "555-01", "1234567", "123-456-7890", "+1 000 000 0000", "n/a", "none",
                                   # the fictional 555-0100..0199 range, bare or with area / country code
                                   "555-0199", "555-0100", "(312) 555-0142", "+1 312 555 0199", "1-312-555-0150",
                                   "13125550199", "312.555.0100"])
def test_placeholder_phones(value):
    assert is_placeholder(value, "phone")
    assert phone_digits(value) is None
    assert phone_text(value) is None


@pytest.mark.parametrize("value, kind", [
    ("marisol@example.net", "email"), ("555-0142-88", "phone"), ("(519) 555-8300", "phone"), ("1", "web_id"),
    ("555-0200", "phone"), ("312-555-0099", "phone"), ("(312) 555-1199", "phone"), ("312-255-0199", "phone"),
    ("11", "web_id"), ("508", "web_id"), ("Na", "name"), ("1111", None), ("Kyoto", None),
])
def test_real_values_are_not_placeholders(value, kind):
    assert not is_placeholder(value, kind)


@pytest.mark.parametrize("value", ["0", "-1", "000", "", None])
def test_placeholder_web_ids(value):
    assert is_placeholder(value, "web_id")


def test_email_key_ignores_case_and_stray_whitespace():
    assert normalize_email("  Marisol@Example.NET ") == normalize_email("marisol@example.net") == "marisol@example.net"


def test_phone_keys():
    # digits only: every way of typing one number is the same key, a written +1 included
    variants = ["(519) 555-8300", "519-555-8300", "519.555.8300", "+1 519 555 8300", "1-519-555-8300", "5195558300"]
    assert {phone_digits(v) for v in variants} == {"5195558300"}
    # as typed: formatting matters, whitespace runs do not
    assert phone_text("(519)  555-8300 ") == phone_text("(519) 555-8300") != phone_text("519-555-8300")
    # an 11-digit number starting with 1 but not written as a +1 prefix keeps its digits
    assert phone_digits("13812345678") == "13812345678"


def test_name_address_key_folds_case_accents_punctuation_and_zip4():
    a = name_address_key("José", "García", "18 Quay Lane", "04999-1234")
    b = name_address_key(" jose ", "GARCIA", "18 quay lane.", "04999")
    assert a == b is not None
    assert name_address_key("Ana", "Ng", "1 Main St", "M5V 2T6") == name_address_key("ana", "ng", "1 main st", "m5v2t6")


@pytest.mark.parametrize("first, last, street, postal", [
    (None, None, "18 Quay Lane", "04999"), ("Ana", "Ng", "0", "04999"), ("Ana", "Ng", "18 Quay Lane", ""),
    ("n/a", "-", "18 Quay Lane", "04999"),
])
def test_name_address_key_needs_name_street_and_zip(first, last, street, postal):
    assert name_address_key(first, last, street, postal) is None


@pytest.mark.parametrize("full, expected", [
    ("Marisol Venter", ("Marisol", "Venter")),
    ("Mary Ann Smith", ("Mary Ann", "Smith")),
    ("Ana María de la Cruz", ("Ana María", "de la Cruz")),
    ("Venter, Marisol", ("Marisol", "Venter")),
    ("John Smith Jr.", ("John", "Smith Jr.")),
    ("Cher", ("Cher", None)),
    ("0", (None, None)),
    (None, (None, None)),
])
def test_split_full_name(full, expected):
    assert split_full_name(full) == expected


def test_key_columns_match_the_key_functions():
    row = {"email": " A@B.com", "phone": "0", "first_name": "Ana", "last_name": "Ng", "street1": "1 Main St",
           "postal_code": "12345"}
    assert key_columns(row) == {"email_norm": "a@b.com", "phone_digits": None,
                                "name_address_key": name_address_key("Ana", "Ng", "1 Main St", "12345")}


def test_facts_from_order_billing_first_shipping_fills_contact_data():
    order = {
        "number": "1041",
        "billing": {"full_name": "Marisol Venter", "email": "0", "phone": "0", "street1": "18 Quay Lane",
                    "city": "Port Ellery", "state": "ME", "postal_code": "04999", "country": "US"},
        "shipping": {"full_name": "Someone Else", "email": "marisol@example.net", "phone": "555-0142-99",
                     "street1": "9 Ocean Ave", "city": "Elsewhere", "postal_code": "11201"},
        "other": {"web_customer_id": "508"},
    }
    assert facts_from_order(order) == CustomerFacts(
        first_name="Marisol", last_name="Venter", email="marisol@example.net", phone="555-0142-99",
        street1="18 Quay Lane", city="Port Ellery", state="ME", postal_code="04999", country="US", web_id="508")


def test_facts_from_order_takes_the_address_as_one_block():
    order = {"number": "1", "billing": {"first_name": "Ana", "last_name": "Ng", "city": "Lonely City"},
             "shipping": {"street1": "1 Main St", "city": "Springfield", "postal_code": "12345"},
             "other": {"web_customer_id": "0"}}
    facts = facts_from_order(order)
    assert (facts.street1, facts.city, facts.postal_code) == ("1 Main St", "Springfield", "12345")
    assert facts.web_id is None  # a guest's "0" is no account


def test_facts_from_customer_uses_username_for_a_missing_email():
    record = {"web_id": "7", "username": "kai@example.net",
              "billing": {"first_name": "Kai", "last_name": "Li", "phone": "0", "email": ""},
              "shipping": {"street1": "18 Quay Lane", "postal_code": "98101"}}
    facts = facts_from_customer(record)
    assert (facts.email, facts.phone, facts.web_id, facts.street1) == ("kai@example.net", None, "7", "18 Quay Lane")


@given(st.text(max_size=40))
def test_keys_never_crash_and_are_idempotent(value):
    for key in (normalize_email, phone_digits, phone_text):
        once = key(value)
        assert once is None or isinstance(once, str)
    email = normalize_email(value)
    assert email is None or normalize_email(email) == email
    facts = CustomerFacts(email=value, phone=value, first_name=value, web_id=value)
    assert CustomerFacts(email=facts.email, phone=facts.phone, first_name=facts.first_name,
                         web_id=facts.web_id) == facts
