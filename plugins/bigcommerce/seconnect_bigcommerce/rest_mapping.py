"""BigCommerce REST records → seconnect's record schemas (order, product, customer).

Pure functions, no I/O: the plugin fetches, these map. Decisions the API docs leave open are
written down in docs/bigcommerce.md ("What is mapped where"); the short form:

* money: v2's 4-decimal strings are kept as sent (``"62.6793"``); v3 numbers get 2 decimals at least.
* dates: stored as ISO 8601 in UTC (v2 sends RFC 2822 with an offset).
* an archived order (``is_deleted``) gets status ``Archived``; status 0 (Incomplete) is no order.
* line prices are ex tax; the order's tax is ``totals.tax``.
* multi-address orders: ``shipping`` is the first address (lowest id); every further address is
  kept in ``raw`` under ``shipping_address[N]/...``; shipping cost is the sum, methods are joined.
* refunds: ``refunded_amount`` in ``raw``, per line ``quantity_refunded`` / ``refund_amount``.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache, wraps
from typing import Any

__all__ = ["ARCHIVED", "INCOMPLETE", "money", "utc_date", "order_record", "embedded_lines",
           "embedded_addresses", "coupon_records", "positive", "product_records", "customer_record", "payment_kind"]

ARCHIVED = "Archived"
INCOMPLETE = 0  # status_id of an abandoned checkout: not an order

# Fast paths: mapping is the import's CPU cost, and nearly every value v2 sends has one of a few
# shapes. Each fast path gives exactly what the general (Decimal / email.utils) path gives for
# that shape; anything else takes the general path.
# A plain decimal with 2+ decimals, no leading zero, few enough digits that Decimal's 28-digit
# context never rounds it: v2's money ("62.6793", "0.0000", "-3.10").
_PLAIN = re.compile(r"-?(?:0|[1-9][0-9]{0,15})\.[0-9]{2,8}")


def _is_map(value: Any) -> bool:
    # isinstance(dict, Mapping) goes through the ABC machinery: ~4x slower than the type test
    return type(value) is dict or isinstance(value, Mapping)


def _remembered(convert: Any) -> Any:
    """``convert`` with what it made of each text remembered (amounts and sizes repeat: a
    product's on every order of it); other values, e.g. unhashable ones, are converted each time."""
    cached = lru_cache(maxsize=50_000)(convert)  # bounded: a service runs long

    @wraps(convert)
    def remembered(value: Any) -> Any:
        return cached(value) if type(value) is str else convert(value)

    return remembered


@_remembered
def money(value: Any) -> str | None:
    """A money string with at least 2 decimals (4-decimal v2 strings kept as sent)."""
    if type(value) is str and _PLAIN.fullmatch(value):
        return value  # what Decimal would print for it
    if type(value) is Decimal:  # a sum or difference of positive()s
        amount = value
    elif value is None or value == "":
        return None
    else:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
    if not amount.is_finite():
        return None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f}"


@_remembered
def positive(value: Any) -> Decimal:
    """An amount as a non-negative Decimal (0 for none)."""
    try:
        return abs(Decimal(str(value or "0")))
    except InvalidOperation:
        return Decimal(0)


@_remembered
def _over_zero(value: Any) -> bool:
    """``positive(value) > 0``; a plain decimal is over zero unless all its digits are 0."""
    if type(value) is str and _PLAIN.fullmatch(value):
        return value.strip("-0.") != ""
    return positive(value) > 0


@_remembered
def decimal_text(value: Any) -> str | None:
    if type(value) is str and _PLAIN.fullmatch(value):
        return value.rstrip("0").rstrip(".")  # what normalize() then :f print ("13.7600" -> "13.76")
    if value is None or value == "":
        return None
    try:
        return f"{Decimal(str(value)).normalize():f}"
    except InvalidOperation:
        return None


# v2's dates are always "Tue, 20 Nov 2012 00:00:00 +0000"; parsed by hand (email.utils costs ~10x).
# Years below 1000 are left to email.utils (it reads "0069" as 1969).
_MONTHS = {m: n for n, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}
_V2_DATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"([1-9][0-9]{3}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) \+0000")


def utc_date(value: Any) -> str | None:
    """An RFC 2822 (v2) or ISO 8601 (v3) date as ISO 8601 UTC; ``""`` (unset) is None."""
    if type(value) is str and (match := _V2_DATE.fullmatch(value)):
        day, month, year, hour, minute, second = match.groups()
        try:
            return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second),
                            tzinfo=UTC).isoformat()
        except ValueError:  # 31 Feb, 24:00: the general path decides
            pass
    if not value:
        return None
    text = str(value).strip()
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text  # as sent; the schema takes any string
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


def _address(src: Mapping[str, Any]) -> dict[str, Any]:
    """An order address (v2 names) as the schema's address."""
    first, last = src.get("first_name") or "", src.get("last_name") or ""
    return {
        "full_name": f"{first} {last}".strip() or None,
        "first_name": _text(src.get("first_name")), "last_name": _text(src.get("last_name")),
        "company": _text(src.get("company")), "phone": _text(src.get("phone")), "email": _text(src.get("email")),
        "street1": _text(src.get("street_1")), "street2": _text(src.get("street_2")),
        "city": _text(src.get("city")), "state": _text(src.get("state")), "postal_code": _text(src.get("zip")),
        "country": _text(src.get("country_iso2") or src.get("country")),
    }


def _form_fields(fields: Any) -> list[dict[str, Any]]:
    out = []
    for field in fields or ():
        if isinstance(field, Mapping) and field.get("name"):
            value = field.get("value")
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            out.append({"name": str(field["name"]), "value": None if value is None else str(value)})
    return out


def _consignment_groups(order: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """(kind, consignment) for every consignment embedded in the order (object or list form)."""
    consignments = order.get("consignments")
    parts = consignments if isinstance(consignments, list) else [consignments or {}]
    for part in parts:
        if not _is_map(part):
            continue
        for kind, value in part.items():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if _is_map(item):
                    if "line_items" in item:
                        yield kind, item
                    else:  # e.g. email: {"gift_certificates": [...], "line_items": [...]}
                        for inner in item.values():
                            for sub in inner if isinstance(inner, list) else [inner]:
                                if _is_map(sub) and "line_items" in sub:
                                    yield kind, sub


def embedded_lines(order: Mapping[str, Any]) -> list[dict]:
    """The line items embedded in the order's consignments, each once, in line id order."""
    lines: dict[Any, dict] = {}
    for _kind, consignment in _consignment_groups(order):
        for line in consignment.get("line_items") or ():
            if _is_map(line):
                lines.setdefault(line.get("id"), dict(line))
    return sorted(lines.values(), key=lambda line: (line.get("id") is None, line.get("id") or 0))


def embedded_addresses(order: Mapping[str, Any]) -> list[dict]:
    """The shipping addresses embedded as shipping consignments, in id order."""
    found = {c.get("id"): dict(c) for kind, c in _consignment_groups(order) if kind == "shipping"}
    return sorted(found.values(), key=lambda a: (a.get("id") is None, a.get("id") or 0))


def quantity_of(lines: Iterable[Mapping[str, Any]]) -> int:
    # v2 quantities are ints: for them (not bools) abs() is what int(positive()) gives, up to the
    # 28 digits where Decimal's context starts rounding
    return sum(abs(q) if type(q := line.get("quantity")) is int and -10**28 < q < 10**28 else int(positive(q))
               for line in lines)


# In priority order (the first kind found anywhere wins, so they cannot be one alternation).
_PAYMENT_KINDS = tuple((re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), kind) for pattern, kind in (
    (r"paypal", "PayPal"), (r"cash on delivery|cod", "COD"), (r"purchase order", "PurchaseOrder"),
    (r"check|cheque", "Check"), (r"gift", "GiftCard"), (r"store credit", "StoreCredit"),
    (r"card|credit|stripe|braintree|square|authorize\.net", "CreditCard")))


def payment_kind(method: str) -> str:
    """The schema's payment kind for BigCommerce's ``payment_method`` text (whole words)."""
    return _payment_kind(method or "")


@lru_cache(maxsize=256)  # a store has a handful of payment method texts
def _payment_kind(method: str) -> str:
    for pattern, kind in _PAYMENT_KINDS:
        if pattern.search(method):
            return kind
    return "Generic1"


_LINE_RAW = ("product_id", "variant_id", "order_address_id", "quantity_shipped", "quantity_refunded",
             "refund_amount", "price_inc_tax", "total_inc_tax", "total_tax", "upc", "brand")


def _line(n: int, line: Mapping[str, Any]) -> dict[str, Any]:
    get = line.get
    raw = {key: str(value) for key in _LINE_RAW if (value := get(key)) is not None and value != ""}
    options = [{"name": _text(o.get("display_name") or o.get("name")),
                "value": _text(o.get("display_value") or o.get("value"))}
               for o in get("product_options") or () if _is_map(o)]
    tax = get("total_tax")
    record: dict[str, Any] = {
        "line_no": n, "sku": _text(get("sku")), "name": _text(get("name")),
        "quantity": get("quantity"),
        "unit_price": money(get("price_ex_tax", get("base_price"))),
        "total": money(get("total_ex_tax", get("base_total"))),
        "weight": decimal_text(get("weight")), "prod_type": _text(get("type")),
        "taxable": None if tax is None or tax == "" else _over_zero(tax),
        "line_id": _text(get("id")),
        "dimensions": {"length": decimal_text(get("depth")), "width": decimal_text(get("width")),
                       "height": decimal_text(get("height"))},
        "raw": raw,
    }
    if options:
        record["options"] = options
    return record


_ORDER_RAW = tuple((f"order/{key}", key) for key in (
    "status_id", "custom_status", "date_modified", "date_shipped", "payment_status", "payment_provider_id",
    "refunded_amount", "currency_code", "currency_exchange_rate", "channel_id", "order_source",
    "external_source", "external_id", "items_total", "items_shipped", "shipping_address_count",
    "is_tax_inclusive_pricing", "total_inc_tax", "total_ex_tax"))
_SURCHARGES = (("handling_cost_ex_tax", "Handling"), ("wrapping_cost_ex_tax", "Gift wrapping"))
_ADDRESS_RAW = ("first_name", "last_name", "company", "street_1", "street_2", "city", "state", "zip",
                "country_iso2", "phone", "email", "shipping_method", "cost_ex_tax", "id")


def order_record(order: Mapping[str, Any], lines: list[dict], addresses: list[dict],
                 coupons: list[dict] | None = None) -> dict[str, Any]:
    """One v2 order, with its lines and shipping addresses, as order.schema.json wants it."""
    get = order.get
    billing = get("billing_address") or {}
    status = ARCHIVED if get("is_deleted") else _text(get("status"))
    raw = {name: str(value) for name, key in _ORDER_RAW if (value := get(key)) is not None and value != ""}
    for n, address in enumerate(addresses[1:], start=2):
        for key in _ADDRESS_RAW:
            if address.get(key) not in (None, ""):
                raw[f"shipping_address[{n}]/{key}"] = str(address[key])
    shipping_cost = sum((positive(a.get("cost_ex_tax")) for a in addresses), Decimal(0)) if addresses \
        else positive(order.get("shipping_cost_ex_tax"))
    methods = [str(a["shipping_method"]) for a in addresses if a.get("shipping_method")]
    discounts = []
    if _over_zero(get("discount_amount")):
        discounts.append({"amount": money(positive(order["discount_amount"])), "description": "Discount"})
    surcharges = [{"total": money(get(key)), "description": label} for key, label in _SURCHARGES
                  if _over_zero(get(key))]
    totals = {
        "product_total": money(order.get("subtotal_ex_tax")), "subtotal": money(order.get("subtotal_ex_tax")),
        "grand_total": money(order.get("total_inc_tax")), "tax": money(order.get("total_tax")),
        "shipping": money(shipping_cost), "shipping_method": "; ".join(methods) or None,
        "discounts": discounts, "surcharges": surcharges,
    }
    payments = []
    credit, gift = positive(order.get("store_credit_amount")), positive(order.get("gift_certificate_amount"))
    paid = positive(order.get("total_inc_tax")) - credit - gift
    if order.get("payment_method") or paid > 0:
        method = str(order.get("payment_method") or "")
        payments.append({"kind": payment_kind(method), "issuer": method or None, "amount": money(paid),
                         "fields": {k: str(order[k]) for k in ("payment_status", "payment_provider_id",
                                                                "credit_card_type")
                                    if order.get(k) not in (None, "")}})
    if credit > 0:
        payments.append({"kind": "StoreCredit", "amount": money(credit)})
    if gift > 0:
        payments.append({"kind": "GiftCard", "amount": money(gift)})
    customer_id = order.get("customer_id")
    custom = _form_fields(billing.get("form_fields"))
    named = {f["name"] for f in custom}
    for address in addresses[:1]:
        custom += [f for f in _form_fields(address.get("form_fields")) if f["name"] not in named]
    return {
        "number": str(order["id"]),
        "date": utc_date(order.get("date_created")),
        "status": status,
        "billing": _address(billing),
        "shipping": _address(addresses[0]) if addresses else _address(billing),
        "lines": [_line(n, line) for n, line in enumerate(lines, start=1)],
        "payments": payments,
        "totals": totals,
        "coupons": coupons or [],
        "other": {"instructions": _text(order.get("customer_message")) or None,
                  "comments": _text(order.get("staff_notes")) or None,
                  "ip": _text(order.get("ip_address")) or None,
                  "web_customer_id": str(customer_id) if customer_id else None},
        "custom_fields": custom,
        "raw": raw,
    }


def coupon_records(rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    return [{"name": _text(c.get("code")), "total": money(positive(c.get("discount", c.get("amount")))),
             "apply": _text(c.get("type"))} for c in rows]


# -- products ---------------------------------------------------------------------------------------

def _option_lists(variants: list[Mapping[str, Any]]) -> list[dict]:
    """The product's options (name → values, in first-seen order) from its variants."""
    lists: dict[Any, dict] = {}
    for variant in variants:
        for value in variant.get("option_values") or ():
            entry = lists.setdefault(value.get("option_id"), {
                "web_id": _text(value.get("option_id")), "name": _text(value.get("option_display_name")),
                "values": []})
            if all(v["name"] != value.get("label") for v in entry["values"]):
                entry["values"].append({"name": _text(value.get("label")), "code": None})
    return list(lists.values())


def product_records(product: Mapping[str, Any]) -> tuple[list[dict], list[str]]:
    """The product's records (the product, then one per non-base variant) and warnings for what
    was skipped. A record without SKU is skipped (nothing to key stock on); a product without SKU
    whose variants have SKUs gives only their records (core makes the parent from them)."""
    warnings: list[str] = []
    sku = str(product.get("sku") or "").strip()
    variants = [v for v in product.get("variants") or () if isinstance(v, Mapping)]
    options = [v for v in variants if v.get("option_values")]
    tracking = product.get("inventory_tracking") or "none"
    if not sku:
        named = "its variants are imported, " if any(str(v.get("sku") or "").strip() for v in options) else ""
        warnings.append(f"product {product.get('id')} ({product.get('name')!r}) has no SKU: {named}the product "
                        "itself is skipped (give it a SKU at BigCommerce to import it)")
    base = {
        "code": sku, "web_id": str(product["id"]), "name": _text(product.get("name")),
        "price": money(product.get("price")), "cost": money(product.get("cost_price")),
        "description": None, "weight": decimal_text(product.get("weight")),
        "discontinued": not product.get("is_visible", True),
        # tracked per variant: the parent holds no stock of its own (core totals its variants)
        "qoh": int(product.get("inventory_level") or 0) if tracking == "product" else None,
        "raw": {"inventory_tracking": str(tracking)},
    }
    if options:
        base["option_lists"] = _option_lists(options)
    records = [base] if sku else []
    for variant in options:
        vsku = str(variant.get("sku") or "").strip()
        if not vsku:
            warnings.append(f"variant {variant.get('id')} of product {product.get('id')} has no SKU: skipped")
            continue
        records.append({
            "code": vsku, "web_id": f"{product['id']}-{variant['id']}",
            "name": f"{product.get('name')} ({', '.join(str(v.get('label')) for v in variant['option_values'])})",
            "price": money(variant.get("price") if variant.get("price") is not None else product.get("price")),
            "weight": decimal_text(variant.get("weight") if variant.get("weight") is not None
                                   else product.get("weight")),
            "qoh": int(variant.get("inventory_level") or 0) if tracking == "variant" else None,
            "raw": {"inventory_tracking": str(tracking), "variant_id": str(variant["id"])},
            "variation": {"parent_code": sku or None, "parent_web_id": str(product["id"]),
                          "parent_name": _text(product.get("name")), "combination_id": str(variant["id"]),
                          "values": [str(v.get("label")) for v in variant["option_values"]],
                          "code_is_shared": False},
        })
    return records, warnings


# -- customers --------------------------------------------------------------------------------------

def _customer_address(src: Mapping[str, Any], email: Any) -> dict[str, Any]:
    """A v3 customer address (its own names) as the schema's address."""
    first, last = src.get("first_name") or "", src.get("last_name") or ""
    return {"full_name": f"{first} {last}".strip() or None, "first_name": _text(src.get("first_name")),
            "last_name": _text(src.get("last_name")), "company": _text(src.get("company")),
            "phone": _text(src.get("phone")), "email": _text(email),
            "street1": _text(src.get("address1")), "street2": _text(src.get("address2")),
            "city": _text(src.get("city")), "state": _text(src.get("state_or_province")),
            "postal_code": _text(src.get("postal_code")), "country": _text(src.get("country_code"))}


def customer_record(customer: Mapping[str, Any]) -> dict[str, Any]:
    """A v3 customer (with ``include=addresses``): billing = the first address, shipping = the
    second when there is one (else the first); without addresses, name, company, phone, email."""
    addresses = [a for a in customer.get("addresses") or () if isinstance(a, Mapping)]
    email = customer.get("email")
    own = {"first_name": customer.get("first_name"), "last_name": customer.get("last_name"),
           "company": customer.get("company"), "phone": customer.get("phone")}
    billing = _customer_address(addresses[0] if addresses else own, email)
    shipping = _customer_address(addresses[1], email) if len(addresses) > 1 else billing
    return {"web_id": str(customer["id"]), "username": _text(email), "billing": billing, "shipping": shipping,
            "custom_fields": _form_fields(customer.get("form_fields"))}
