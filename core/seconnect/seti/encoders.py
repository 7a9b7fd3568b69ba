"""Encode what we send to a cart: inventory updates (sections 4.1, 4.2) and status updates (5.2, 5.3).

Values that a cart's script could not decode back unambiguously are refused here, before
anything is sent, with :class:`~seconnect.errors.UsageError`: an empty SKU, a SKU containing
``|`` in the delimited form (it is the item separator), and CR, LF or NUL in any field (scripts
read line-oriented logs and PHP strings; none of them survive those). ``~`` inside a SKU is
fine: scripts split on the last ``~`` (section 4.1).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from ..errors import UsageError
from ..operations import Package, StatusUpdate

__all__ = [
    "Package",
    "StatusUpdate",
    "check_field",
    "encode_inventory",
    "encode_inventory_xml",
    "status_form",
    "status_xml",
]


_FORBIDDEN = {"\r": "CR", "\n": "LF", "\x00": "NUL"}


def check_field(name: str, value: str) -> str:
    """Refuse CR/LF/NUL; returns value so calls can be chained into dict literals."""
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text, not {type(value).__name__}")
    for char, label in _FORBIDDEN.items():
        if char in value:
            raise UsageError(f"{name} {value[:60]!r} contains {label}, which cannot be sent to a cart",
                             hint="Remove line breaks and NUL characters from the value.")
    return value


def _checked_items(items: Sequence[tuple[str, int]], *, delimited: bool) -> list[tuple[str, int]]:
    seen: set[str] = set()
    out: list[tuple[str, int]] = []
    for sku, qty in items:
        check_field("SKU", sku)
        if not sku:
            raise UsageError("an inventory update has an empty SKU")
        if delimited and "|" in sku:
            raise UsageError(f"SKU {sku!r} contains '|', which separates items in the delimited form",
                             hint="Send it with the XML form (GenericQOHChangeSendAsXML) or rename the SKU.")
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise UsageError(f"quantity for SKU {sku!r} must be a whole number, not {qty!r}")
        if sku in seen:
            raise UsageError(f"SKU {sku!r} appears twice in one inventory update")
        seen.add(sku)
        out.append((sku, qty))
    if not out:
        raise UsageError("an inventory update needs at least one SKU")
    return out


def encode_inventory(items: Sequence[tuple[str, int]], *, trailing_bar: bool = False) -> tuple[str, int]:
    """``SKU~QTY|SKU~QTY`` and the item count (``count`` field).

    ``trailing_bar`` appends the ``|`` real SEOM sends; leave it off for Interspire, whose
    script turns the empty segment into "zero every product without a code" (section 6.6-13).
    """
    checked = _checked_items(items, delimited=True)
    update = "|".join(f"{sku}~{qty}" for sku, qty in checked)
    return (update + "|" if trailing_bar else update), len(checked)


def _xml(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


def _child(parent: etree._Element, tag: str, value: str) -> None:
    try:
        etree.SubElement(parent, tag).text = value
    except ValueError:
        raise UsageError(f"{tag} {value[:60]!r} contains characters XML cannot carry") from None


def encode_inventory_xml(items: Sequence[tuple[str, int]]) -> str:
    """``<SETIProducts><Product><SKU>…</SKU><QOH>…</QOH></Product>…</SETIProducts>`` (section 4.2)."""
    root = etree.Element("SETIProducts")
    for sku, qty in _checked_items(items, delimited=False):
        product = etree.SubElement(root, "Product")
        _child(product, "SKU", sku)
        _child(product, "QOH", str(qty))
    return _xml(root)


def _checked_update(update: StatusUpdate) -> StatusUpdate:
    check_field("order number", update.order_number)
    if not update.order_number:
        raise UsageError("a status update needs the cart's order number")
    check_field("status", update.status)
    check_field("reference number", update.ref_number)
    check_field("order detail", update.note)
    for package in update.packages:
        for name in ("tracking_number", "carrier", "pickup_date", "method"):
            check_field(name.replace("_", " "), getattr(package, name))
    return update


def status_form(update: StatusUpdate) -> dict[str, str]:
    """Form fields of the delimited variant (section 5.2).

    One package is sent as ``tracknum``/``trackcarrier``/``trackpickupdate`` without a suffix,
    several as ``tracknum1..N`` and so on. The form has no field for the ship method.
    """
    _checked_update(update)
    form = {"ordernumber": update.order_number, "orderstatus": update.status,
            "refnumber": update.ref_number, "orderdetail": update.note}
    packages = update.packages
    if packages:
        form["trackcount"] = str(len(packages))
        for i, package in enumerate(packages, start=1):
            suffix = "" if len(packages) == 1 else str(i)
            form[f"tracknum{suffix}"] = package.tracking_number
            form[f"trackcarrier{suffix}"] = package.carrier
            form[f"trackpickupdate{suffix}"] = package.pickup_date
    return form


def status_xml(update: StatusUpdate) -> str:
    """The ``update`` field of the XML variant (section 5.3).

    The tracking number is written both as ``TrackNum`` (Stone Edge's Magento script, Maven) and
    ``TrackingID`` (MerchantTribe, Inroads): each script reads the one it knows (section 8).
    """
    _checked_update(update)
    root = etree.Element("Orders")
    order = etree.SubElement(root, "Order")
    _child(order, "OrderNumber", update.order_number)
    if update.ref_number:
        _child(order, "ReferenceNumber", update.ref_number)
    _child(order, "Status", update.status)
    if update.note:
        _child(order, "Notes", update.note)
    if update.packages:
        packages = etree.SubElement(order, "Packages")
        for i, package in enumerate(update.packages, start=1):
            el = etree.SubElement(packages, "Package")
            _child(el, "PackageID", str(i))
            _child(el, "TrackNum", package.tracking_number)
            _child(el, "TrackingID", package.tracking_number)
            _child(el, "Shipper", package.carrier)
            for tag, value in (("Method", package.method), ("PickupDate", package.pickup_date)):
                if value:
                    _child(el, tag, value)
    return _xml(root)
