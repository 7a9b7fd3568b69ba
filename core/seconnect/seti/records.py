"""Turn one SETI ``Order`` / ``Product`` / ``Customer`` element into a normalized record.

The records follow ``schemas/seconnect_schemas/*.schema.json``. Element names are matched
case-insensitively and through the aliases carts disagree on (protocol section 8: Street1/Addr1,
Code/Zip, SKU/Sku, WebID/WebId, IpHostname/IPHostName, Dimension/Dimensions, Company/CompanyName,
TaxID/TaxIDNumber), so one table per record part covers every variant.

Nothing the cart sent is lost: an element without a schema field, a value that does not parse,
or a second, different value for a field goes to ``raw`` under its path. A record missing its
key (OrderNumber, Code) is still returned: the importing job quarantines it and imports the rest,
so one bad record never fails a whole reply. The exceptions are
secrets, which are never kept anywhere: card verification values, payment tokens and passwords
are dropped, and card / account numbers keep only their last four digits (``NumberLast4``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from lxml import etree

from .values import (
    boolean,
    decimal_text,
    format_money,
    integer,
    money,
    order_date,
    qoh,
    quantity,
    reduction,
    times,
)

__all__ = ["build_order", "build_product", "build_qoh", "build_customer"]

Element = etree._Element
Conv = Callable[[str], Any]
Spec = Mapping[str, tuple[str, Conv]]
Handlers = Mapping[str, Callable[[Element], None]]
Raw = dict[str, Any]


def _text(value: str) -> str:
    return value


_NAMES: dict[str, tuple[str, str]] = {}  # tag -> (local name, lower-cased): the hot path's lookup


def _names(tag: str) -> tuple[str, str]:
    names = _NAMES.get(tag)
    if names is None:
        name = tag.rpartition("}")[2]
        names = (name, name.lower())
        if len(_NAMES) < 4096:  # bounded, so a hostile document cannot grow it
            _NAMES[tag] = names
    return names


def local(el: Element) -> str | None:
    """The element's name without namespace; None for comments and processing instructions."""
    tag = el.tag
    return _names(tag)[0] if isinstance(tag, str) else None


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def text_of(el: Element) -> str | None:
    """The element's own text, stripped, CR/LF normalised; None when empty."""
    return _clean_text(el.text)


_DROP = frozenset({"verificationvalue", "cvv2", "cvv", "cvc", "securitykey", "paytoken", "password", "dkey"})
_LAST4 = frozenset({"number", "cardnumber", "accountnumber"})


def _add(raw: Raw, key: str, value: str) -> None:
    old = raw.get(key)
    if old is None:
        raw[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        raw[key] = [old, value]


def keep(el: Element, prefix: str, raw: Raw) -> None:
    """Flatten an element the schema has no field for into ``raw`` by path, minus secrets."""
    name = local(el)
    if name is None:
        return
    low = name.lower()
    if low in _DROP:
        return
    path = prefix + name
    if low in _LAST4:
        digits = "".join(c for c in el.text or "" if c.isdigit())
        if digits:
            _add(raw, path + "Last4", digits[-4:])
        return
    value = text_of(el)
    if value is not None:
        _add(raw, path, value)
    for attr, attr_value in el.attrib.items():
        _add(raw, f"{path}@{attr}", attr_value)
    for child in el:
        keep(child, path + "/", raw)


def _put(target: dict[str, Any], key: str, conv: Conv, value: str, raw: Raw, path: str) -> None:
    """Store one converted value; unreadable or conflicting values go to raw under their path."""
    try:
        converted = value if conv is _text else conv(value)
    except ValueError:
        _add(raw, path, value)
        return
    old = target.get(key, _MISSING)
    if old is _MISSING:
        target[key] = converted
    elif old != converted:
        _add(raw, path, value)


_MISSING = object()


def fill(target: dict[str, Any], el: Element, spec: Spec, raw: Raw, prefix: str,
         nested: Handlers | None = None) -> dict[str, Any]:
    """Copy el's children into target through spec; hand structured children to ``nested``.

    This runs for every element of every import, hence :func:`_put` inlined for the common case.
    """
    for child in el:
        tag = child.tag
        if tag.__class__ is not str:
            continue  # comment or processing instruction
        name, low = _NAMES.get(tag) or _names(tag)
        entry = spec.get(low)
        if entry is not None and not len(child):
            value = _clean_text(child.text)
            if value is None:
                continue
            key, conv = entry
            if conv is not _text or key in target:
                _put(target, key, conv, value, raw, prefix + name)
            else:
                target[key] = value
            continue
        handler = nested.get(low) if nested else None
        if handler is not None:
            handler(child)
        else:
            keep(child, prefix, raw)
    return target


def _leaf_or_fill(target: dict[str, Any], el: Element, leaf: tuple[str, Conv], spec: Spec, raw: Raw,
                  prefix: str) -> None:
    """Totals parts come both as ``<Tax>4.61</Tax>`` and ``<Tax><TaxAmount>4.61</…>``."""
    name = local(el)
    if len(el):
        fill(target, el, spec, raw, f"{prefix}{name}/")
    elif (value := text_of(el)) is not None:
        _put(target, leaf[0], leaf[1], value, raw, f"{prefix}{name}")


# --- tables: lower-cased element name -> (record key, converter) --------------------------------

CONTACT = {
    "fullname": ("full_name", _text), "firstname": ("first_name", _text),
    "middlename": ("middle_name", _text), "lastname": ("last_name", _text),
    "nameprefix": ("name_prefix", _text), "namesuffix": ("name_suffix", _text),
    "company": ("company", _text), "companyname": ("company", _text),
    "phone": ("phone", _text), "fax": ("fax", _text), "email": ("email", _text),
    "taxid": ("tax_id", _text), "taxidnumber": ("tax_id", _text),
}
STREET = {
    "street1": ("street1", _text), "addr1": ("street1", _text),
    "street2": ("street2", _text), "addr2": ("street2", _text),
    "city": ("city", _text), "state": ("state", _text),
    "code": ("postal_code", _text), "zip": ("postal_code", _text), "postalcode": ("postal_code", _text),
    "country": ("country", _text),
}
STREET_KEYS = frozenset(key for key, _ in STREET.values())
CONTACT_AND_STREET = {**CONTACT, **STREET}

LINE = {
    "sku": ("sku", _text), "name": ("name", _text), "quantity": ("quantity", quantity),
    "itemprice": ("unit_price", money), "weight": ("weight", decimal_text),
    "prodtype": ("prod_type", _text), "taxable": ("taxable", boolean),
    "customertext": ("customer_text", _text), "lineid": ("line_id", _text),
}
DIMENSION = {"length": ("length", decimal_text), "width": ("width", decimal_text),
             "height": ("height", decimal_text)}
ORDER_OPTION = {
    "optionname": ("name", _text), "selectedoption": ("value", _text), "optionprice": ("price", money),
    "optioncode": ("code", _text), "optionweight": ("weight", decimal_text), "optiontype": ("type", _text),
    "optioncost": ("cost", money),
}
PAYMENT = {"issuer": ("issuer", _text), "transid": ("transaction_id", _text),
           "authcode": ("auth_code", _text), "amount": ("amount", money), "total": ("amount", money)}
PAYMENT_KINDS = {k.lower(): k for k in (
    "CreditCard", "PayPal", "COD", "Check", "PurchaseOrder", "GoogleCheckout", "GiftCard", "GiftCert",
    "StoreCredit", "Generic1", "Generic2")}
TOTALS = {"producttotal": ("product_total", money), "subtotal": ("subtotal", money),
          "grandtotal": ("grand_total", money)}
TAX = {"taxamount": ("tax", money), "taxrate": ("tax_rate", decimal_text),
       "taxshipping": ("tax_shipping", boolean), "taxexempt": ("tax_exempt", boolean),
       "taxid": ("tax_id", _text)}
SHIPPING_TOTAL = {"total": ("shipping", money), "description": ("shipping_method", _text)}
# The amount is spelled Amount (spec) or Total (Stone Edge's Magento script, for its order-level
# Discount); either sign means the same reduction.
DISCOUNT = {"amount": ("amount", reduction), "total": ("amount", reduction),
            "description": ("description", _text), "type": ("type", _text),
            "applydiscount": ("apply", _text), "percent": ("percent", decimal_text)}
SURCHARGE = {"total": ("total", money), "description": ("description", _text)}
COUPON = {"name": ("name", _text), "status": ("status", _text), "total": ("total", reduction),
          "applycoupon": ("apply", _text)}
OTHER = {
    "orderinstructions": ("instructions", _text), "comments": ("comments", _text),
    "iphostname": ("ip", _text), "webcustomerid": ("web_customer_id", _text),
    "associate": ("associate", _text), "totalorderweight": ("total_order_weight", decimal_text),
    "giftmessage": ("gift_message", _text),
}
CUSTOM_FIELD = {"fieldname": ("name", _text), "name": ("name", _text),
                "fieldvalue": ("value", _text), "value": ("value", _text)}
ORDER = {"ordernumber": ("number", _text), "orderdate": ("date", order_date),
         "orderstatus": ("status", _text)}
PRODUCT = {
    "code": ("code", _text), "webid": ("web_id", _text), "name": ("name", _text), "price": ("price", money),
    "cost": ("cost", money), "description": ("description", _text), "weight": ("weight", decimal_text),
    "taxable": ("taxable", boolean), "discontinued": ("discontinued", boolean), "thumb": ("thumb", _text),
    "image": ("image", _text), "qoh": ("qoh", qoh),
}
PRODUCT_OPTION = {"webid": ("web_id", _text), "name": ("name", _text), "prompt": ("prompt", _text),
                  "type": ("type", _text), "sortorder": ("sort_order", integer)}
OPTION_VALUE = {"name": ("name", _text), "code": ("code", _text), "prompt": ("prompt", _text),
                "price": ("price", money), "weight": ("weight", decimal_text),
                "sortorder": ("sort_order", integer)}
QOH_ROW = {"code": ("code", _text), "webid": ("web_id", _text), "qoh": ("qoh", qoh)}
CUSTOMER = {"webid": ("web_id", _text), "username": ("username", _text)}


# --- shared parts --------------------------------------------------------------------------------

def _contact(el: Element, raw: Raw, prefix: str, more: Handlers | None = None) -> tuple[dict[str, Any],
                                                                                      list[Element]]:
    """A Billing/Shipping/BillAddr/ShipAddr block: name and contact fields plus the ``Address``
    (or, as Stone Edge's Magento script does, street fields directly in the block). Address
    blocks after the first are returned unread for the caller to place."""
    address: dict[str, Any] = {}
    extra: list[Element] = []

    def on_address(child: Element) -> None:
        if address.keys() & STREET_KEYS:
            extra.append(child)
        else:
            fill(address, child, STREET, raw, f"{prefix}Address/")

    fill(address, el, CONTACT_AND_STREET, raw, prefix, {"address": on_address, **(more or {})})
    return address, extra


def _custom_fields(el: Element, out: list[dict[str, Any]], raw: Raw, prefix: str) -> None:
    """``CustomFields/CustomField(FieldName, FieldValue)``; a bare ``CustomField`` is accepted too."""
    items = [el] if local(el).lower() == "customfield" else list(el)  # type: ignore[union-attr]
    for item in items:
        if local(item) is None:
            continue
        entry = fill({}, item, CUSTOM_FIELD, raw, f"{prefix}CustomField/")
        if "name" in entry:
            out.append(entry)


# --- orders --------------------------------------------------------------------------------------

def _line(el: Element, line_no: int) -> dict[str, Any]:
    line: dict[str, Any] = {"line_no": line_no, "options": [], "raw": {}}
    raw = line["raw"]
    total: list[str] = []

    def on_total(child: Element) -> None:
        value = text_of(child)
        if value is not None:
            total.append(value)

    def on_dimension(child: Element) -> None:
        line["dimensions"] = fill(line.get("dimensions", {}), child, DIMENSION, raw, f"{local(child)}/")

    fill(line, el, LINE, raw, "", {
        "total": on_total, "dimension": on_dimension, "dimensions": on_dimension,
        "orderoption": lambda child: _add_option(line, child),
    })
    _settle_total(line, total[0] if total else None)
    return line


def _add_option(line: dict[str, Any], el: Element) -> None:
    option = fill({}, el, ORDER_OPTION, line["raw"], f"OrderOption[{len(line['options']) + 1}]/")
    if option:
        line["options"].append(option)


def _settle_total(line: dict[str, Any], sent: str | None) -> None:
    """Interspire formats the line Total twice, so totals of 1,000 or more arrive as ``1.00``
    (section 6.6-8). When Total disagrees with quantity × ItemPrice the product wins and the
    sent text stays in ``raw['Total']``."""
    qty, price = line.get("quantity"), line.get("unit_price")
    expected = times(qty, price) if qty is not None and price is not None else None
    if sent is not None:
        try:
            value = Decimal(money(sent))
        except ValueError:
            value = None
        if value is not None and (expected is None or value == expected):
            line["total"] = format_money(value)
            return
        line["raw"]["Total"] = sent
    if expected is not None:
        line["total"] = format_money(expected)


def _payment(method: Element) -> dict[str, Any]:
    """Known fields go to the payment's keys, everything else to ``fields`` (secrets removed by
    :func:`keep`); PayPal's nested ``Transaction`` holds the transaction id and amount."""
    name = local(method) or ""
    payment: dict[str, Any] = {"kind": PAYMENT_KINDS.get(name.lower(), name), "fields": {}}
    fields = payment["fields"]
    fill(payment, method, PAYMENT, fields, "", {
        "transaction": lambda c: fill(payment, c, PAYMENT, fields, "Transaction/"),
    })
    return payment


class _OrderBuilder:
    def __init__(self) -> None:
        self.rec: dict[str, Any] = {
            "lines": [], "payments": [], "coupons": [], "custom_fields": [],
            "totals": {"discounts": [], "surcharges": []}, "raw": {},
        }
        self.raw: Raw = self.rec["raw"]
        self.orphans: list[Element] = []

    def build(self, el: Element) -> dict[str, Any]:
        fill(self.rec, el, ORDER, self.raw, "", {
            "billing": lambda c: self.contact("billing", c),
            "shipping": lambda c: self.contact("shipping", c, {"product": self.line}),
            "product": self.line,
            "orderoption": self.orphan_option,
            "payment": self.payment,
            "totals": self.totals,
            "discount": lambda c: self.part(c, DISCOUNT, "discounts", "Discount/"),
            "coupon": self.coupon,
            "other": lambda c: fill(self.rec.setdefault("other", {}), c, OTHER, self.raw, "Other/"),
            "customfields": self.custom, "customfield": self.custom,
        })
        lines = self.rec["lines"]
        for option in self.orphans:  # options that came before any line: attach to the last one
            if lines:
                _add_option(lines[-1], option)
            else:
                keep(option, "", self.raw)
        if not self.rec.get("other"):
            self.rec.pop("other", None)
        return self.rec

    def contact(self, key: str, el: Element, more: Handlers | None = None) -> None:
        prefix = f"{local(el)}/"
        address, extra = _contact(el, self.raw, prefix, more)
        for block in extra:
            keep(block, prefix, self.raw)
        if address:
            self.rec[key] = address

    def line(self, el: Element) -> None:
        lines = self.rec["lines"]
        lines.append(_line(el, len(lines) + 1))

    def orphan_option(self, el: Element) -> None:
        """Older Interspire copies put OrderOption directly under Order (section 6.3)."""
        lines = self.rec["lines"]
        if lines:
            _add_option(lines[-1], el)
        else:
            self.orphans.append(el)

    def payment(self, el: Element) -> None:
        """One ``Payment`` per method; each child (CreditCard, PayPal, COD...) is one payment."""
        for method in el:
            if local(method) is not None:
                self.rec["payments"].append(_payment(method))
        if (value := text_of(el)) is not None:
            _add(self.raw, "Payment", value)

    def totals(self, el: Element) -> None:
        totals = self.rec["totals"]
        fill(totals, el, TOTALS, self.raw, "Totals/", {
            "tax": lambda c: _leaf_or_fill(totals, c, ("tax", money), TAX, self.raw, "Totals/"),
            "shippingtotal": lambda c: _leaf_or_fill(totals, c, ("shipping", money), SHIPPING_TOTAL,
                                                     self.raw, "Totals/"),
            "discount": lambda c: self.part(c, DISCOUNT, "discounts", "Totals/Discount/"),
            "surcharge": lambda c: self.part(c, SURCHARGE, "surcharges", "Totals/Surcharge/"),
        })

    def part(self, el: Element, spec: Spec, key: str, prefix: str) -> None:
        item = fill({}, el, spec, self.raw, prefix)
        if item:
            self.rec["totals"][key].append(item)

    def coupon(self, el: Element) -> None:
        item = fill({}, el, COUPON, self.raw, "Coupon/")
        if item:
            self.rec["coupons"].append(item)

    def custom(self, el: Element) -> None:
        _custom_fields(el, self.rec["custom_fields"], self.raw, "CustomFields/")


def build_order(el: Element, where: str) -> dict[str, Any]:
    return _OrderBuilder().build(el)


# --- products and inventory ----------------------------------------------------------------------

def _product_option(el: Element, raw: Raw) -> dict[str, Any]:
    """``ProductOption`` (name, prompt, type) with its ``OptionValue`` choices."""
    option: dict[str, Any] = {"values": []}
    prefix = "OptionLists/ProductOption/"
    fill(option, el, PRODUCT_OPTION, raw, prefix, {
        "optionvalue": lambda v: option["values"].append(fill({}, v, OPTION_VALUE, raw, prefix + "OptionValue/")),
    })
    return option


def build_product(el: Element, where: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"option_lists": [], "custom_fields": [], "raw": {}}
    raw = rec["raw"]

    def on_option_lists(container: Element) -> None:
        rec["option_lists"].extend(_product_option(o, raw) for o in container if local(o) is not None)

    fill(rec, el, PRODUCT, raw, "", {
        "optionlists": on_option_lists,
        "customfields": lambda c: _custom_fields(c, rec["custom_fields"], raw, "CustomFields/"),
    })
    return rec


def build_qoh(el: Element, where: str) -> dict[str, Any]:
    """A ``downloadqoh`` row: ``{"code", "web_id", "qoh"}``, qoh None when the cart says NA;
    ``code`` None for a row without one (some scripts write ``<Product />`` for a product with
    no inventory rows)."""
    raw: Raw = {}
    rec = fill({}, el, QOH_ROW, raw, "")
    rec.setdefault("code", None)
    rec.setdefault("qoh", None)
    if raw:
        rec["raw"] = raw
    return rec


# --- customers -----------------------------------------------------------------------------------

def build_customer(el: Element, where: str) -> dict[str, Any]:
    """Interspire writes WebID twice and puts the shipping ``Address`` inside BillAddr, leaving
    ShipAddr without one (section 6.5). That second address becomes the shipping address only
    when ShipAddr has none of its own; otherwise it is kept in ``raw``."""
    rec: dict[str, Any] = {"custom_fields": [], "raw": {}}
    raw = rec["raw"]
    spare: list[tuple[str, Element]] = []  # (path prefix, Address element) beyond the first

    def on_contact(key: str, child: Element) -> None:
        prefix = f"{local(child)}/"
        address, extra = _contact(child, raw, prefix)
        spare.extend((prefix, block) for block in extra)
        if address:
            rec[key] = address

    fill(rec, el, CUSTOMER, raw, "", {
        "billaddr": lambda c: on_contact("billing", c),
        "shipaddr": lambda c: on_contact("shipping", c),
        "customfields": lambda c: _custom_fields(c, rec["custom_fields"], raw, "CustomFields/"),
    })
    if spare and not rec.get("shipping", {}).keys() & STREET_KEYS:
        prefix, block = spare.pop(0)
        fill(rec.setdefault("shipping", {}), block, STREET, raw, f"{prefix}Address/")
    for prefix, block in spare:
        keep(block, prefix, raw)
    return rec
