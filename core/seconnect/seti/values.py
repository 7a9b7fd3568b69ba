"""Scalar normalisers for values carts send in SETI documents.

Carts disagree on formats (section 8 of the protocol notes) and Interspire formats money with a
thousands separator (section 6.6-8), so every scalar goes through one of these before it reaches a
record. Converters raise :class:`ValueError` for text they cannot read; the record builder then
keeps the text under ``raw`` instead of guessing, so nothing the cart sent is lost.
Money is carried as decimal strings (never floats) so totals add up exactly.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation

__all__ = [
    "to_decimal",
    "money",
    "reduction",
    "decimal_text",
    "quantity",
    "integer",
    "qoh",
    "boolean",
    "order_date",
    "seti_date",
    "format_money",
    "times",
]

_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_CENTS = Decimal("0.01")
_WIDE = Context(prec=60)  # exact for anything to_decimal accepts, and for products of two of them
_MAX_MAGNITUDE = 12  # |value| < 10**13 and >= 10**-12: anything outside is garbage, not an amount


def to_decimal(text: str) -> Decimal:
    """Read ``12.50``, ``1,234.50`` (Interspire) or ``$5``; reject NaN/Infinity and garbage."""
    s = text.strip().replace("$", "", 1)
    if "," in s:
        if not _THOUSANDS.fullmatch(s):
            raise ValueError(f"not a number: {text!r}")
        s = s.replace(",", "")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a number: {text!r}")
    if value and not -_MAX_MAGNITUDE <= value.adjusted() <= _MAX_MAGNITUDE:
        raise ValueError(f"out of range: {text!r}")
    return value


def times(a: Decimal | int | float, b: Decimal | str) -> Decimal:
    """Exact product (quantity × unit price) whatever the default decimal context."""
    return _WIDE.multiply(Decimal(str(a)), Decimal(b))


def format_money(value: Decimal) -> str:
    """At least two decimals, more only if the cart sent them; ``-0.00`` becomes ``0.00``."""
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(_CENTS, context=_WIDE)
    if value == 0:
        value = abs(value)
    return format(value, "f")


# What well-behaved carts send, already in normal form: returned as is, skipping Decimal (hot path).
_PLAIN_MONEY = re.compile(r"(?:-(?!0\.00$))?(?:0|[1-9][0-9]{0,12})\.[0-9]{2}")
_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]{0,12})(?:\.[0-9]{1,12})?")


def money(text: str) -> str:
    if _PLAIN_MONEY.fullmatch(text):
        return text
    return format_money(to_decimal(text))


def reduction(text: str) -> str:
    """A discount or coupon amount as the positive amount it takes off: scripts write the same
    reduction as ``5.00`` (most) or ``-8.4000`` (Stone Edge's Magento script)."""
    value = money(text)
    return value[1:] if value.startswith("-") else value


def decimal_text(text: str) -> str:
    """A decimal (weight, tax rate, percent) in plain notation, with the precision sent."""
    if _PLAIN_DECIMAL.fullmatch(text):
        return text
    return format(to_decimal(text), "f")


def quantity(text: str) -> int | float:
    """Quantities are JSON numbers: an int when whole, else a float (fractional units only)."""
    if text.isascii() and text.isdigit() and len(text) < 13:
        return int(text)
    value = to_decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def integer(text: str) -> int:
    value = to_decimal(text)
    if value != value.to_integral_value():
        raise ValueError(f"not a whole number: {text!r}")
    return int(value)


def qoh(text: str) -> int | None:
    """Quantity on hand; ``NA`` (inventory not tracked, section 3.6) is ``None``."""
    if text.strip().upper() == "NA":
        return None
    return integer(text)


_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})


def boolean(text: str) -> bool:
    s = text.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"not Yes/No: {text!r}")


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?"
# (pattern, order of the year / month / day groups); the time groups always follow.
_DATE_FORMS = (
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME), "ymd"),          # 2011-03-14 16:05:33
    (re.compile(r"(\d{1,2})[-/ ]([A-Za-z]{3,9})[-/ ](\d{4})" + _TIME), "dmy"),  # 14-Mar-2011 4:05:33 PM
    (re.compile(r"([A-Za-z]{3,9})[-/ ](\d{1,2})[-/ ,]+(\d{4})" + _TIME), "mdy"),  # Mar/14/2011 16:05:33
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME), "mdy"),          # 03/14/2011
)


def _month(text: str) -> int:
    if text.isdigit():
        return int(text)
    return _MONTHS[text[:3].lower()]


def order_date(text: str) -> str:
    """ISO 8601 for the date forms carts are known to send (section 8), else the text as sent.

    No time zone is added: carts send server-local time without saying which.
    """
    s = text.strip()
    for pattern, order in _DATE_FORMS:
        m = pattern.fullmatch(s)
        if m is None:
            continue
        parts = dict(zip(order, m.group(1, 2, 3), strict=True))
        hour, minute, second, ampm = m.group(4, 5, 6, 7)
        try:
            day = date(int(parts["y"]), _month(parts["m"]), int(parts["d"]))
            if hour is None:
                return day.isoformat()
            h = int(hour)
            if ampm:
                if not 1 <= h <= 12:
                    raise ValueError
                h = h % 12 + (12 if ampm.lower() == "pm" else 0)
            return datetime(day.year, day.month, day.day, h, int(minute), int(second or 0)).isoformat()
        except (ValueError, KeyError):
            return s
    return s


_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def seti_date(value: date) -> str:
    """``lastdate`` as real SEOM sends it: ``2-Dec-2019`` (section 2.3), locale-independent."""
    return f"{value.day}-{_MONTH_ABBR[value.month - 1]}-{value.year}"
