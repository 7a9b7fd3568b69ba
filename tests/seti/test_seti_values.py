"""Scalar normalisers: money, quantities, booleans and the date formats carts send."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seconnect.seti import values


@pytest.mark.parametrize("sent, money", [
    ("12.50", "12.50"), ("5.0", "5.00"), ("5", "5.00"), ("1,234.50", "1234.50"), ("12,345,678.9", "12345678.90"),
    ("-3.5", "-3.50"), ("0.1234", "0.1234"), ("$7", "7.00"), (" 8.25 ", "8.25"), ("-0", "0.00"), ("1E+2", "100.00"),
])
def test_money(sent, money):
    assert values.money(sent) == money


@pytest.mark.parametrize("sent", ["", "abc", "1,2", "1,23.00", "12,3456", "NaN", "Infinity", "1.2.3", "--1",
                                  "9e999999", "1e-30", "99999999999999"])
def test_not_money(sent):
    with pytest.raises(ValueError):
        values.money(sent)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9))
def test_money_round_trips_thousands_formatting(amount):
    formatted = f"{amount:,.2f}"  # what PHP number_format(x, 2) writes
    assert Decimal(values.money(formatted)) == amount


def test_largest_amounts_multiply_exactly():
    big = "9999999999999.99"
    assert values.money(big) == big
    assert values.format_money(values.times(values.quantity("9999999999999"), big)) == \
        "99999999999989900000000000.01"


def test_quantity_integer_qoh_boolean():
    assert values.quantity("2") == 2 and isinstance(values.quantity("2.000"), int)
    assert values.quantity("1.5") == 1.5
    assert values.integer("1,204") == 1204
    with pytest.raises(ValueError):
        values.integer("1.5")
    assert values.qoh("na") is None and values.qoh("-3") == -3
    assert [values.boolean(v) for v in ("Yes", "no", "TRUE", "0", "y")] == [True, False, True, False, True]
    with pytest.raises(ValueError):
        values.boolean("maybe")
    assert values.decimal_text("0.0725") == "0.0725" and values.decimal_text("1,500") == "1500"


@pytest.mark.parametrize("sent, iso", [
    ("2011-03-14 16:05:33", "2011-03-14T16:05:33"),          # Interspire, Inroads
    ("2011-03-14T16:05:33", "2011-03-14T16:05:33"),
    ("2011-3-4", "2011-03-04"),
    ("14-Mar-2011 4:05:33 PM", "2011-03-14T16:05:33"),       # Stone Edge's Magento script
    ("14-Mar-2011 12:05:33 AM", "2011-03-14T00:05:33"),
    ("14-mar-2011 12:05:33 pm", "2011-03-14T12:05:33"),
    ("2-Dec-2019", "2019-12-02"),
    ("10/Jun/2003", "2003-06-10"),
    ("Mar/14/2011 16:05:33", "2011-03-14T16:05:33"),         # Haskell, MerchantTribe
    ("03/14/2011", "2011-03-14"),                            # Avetti
    ("3/4/2011 9:05:00 AM", "2011-03-04T09:05:00"),
])
def test_order_dates(sent, iso):
    assert values.order_date(sent) == iso


@pytest.mark.parametrize("sent", ["yesterday", "2011-02-30 10:00:00", "14-Foo-2011", "13/45/2011",
                                  "14-Mar-2011 13:00:00 PM", ""])
def test_unrecognised_dates_are_kept_as_sent(sent):
    assert values.order_date(sent) == sent.strip()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_seti_date_is_read_back(day):
    text = values.seti_date(day)
    assert "-" in text and not text.startswith("0")
    assert values.order_date(text) == day.isoformat()
