"""The ``generic`` profile: a correct, spec-style SETI integration script (seti-protocol.md §3–§5).

Reached at ``/seti/stoneedge.php``; script version ``1.000``. Behaviour, where the spec leaves
room, is chosen to be what a careful cart would do:

* ``setiuser``/``password``/``code`` are checked on every call but ``sendversion``; function
  names are case-insensitive; an unknown one answers ``SETIError: Function "x" was not found.``
  (before authentication), a missing one ``SETIError: Expecting a setifunction parameter.``
* text functions fail with ``SETIError: <message>``; XML functions with their own root
  (``SETIOrders``/``SETIProducts``/``SETICustomers``) and ``ResponseCode`` 3.
* orders: every order that is not deleted, whatever its status, ascending by number;
  ``lastorder`` (``All`` or a number) and ``lastdate`` (``All`` or a date in any §2.3 form:
  orders placed on or after it) both filter (switch ``ignore_lastorder``: ``lastdate`` alone,
  as a script that selects by date). ``startnum``/``batchsize`` default to 1/100.
  The full schema is emitted: ``OrderStatus``, ``LineID``, ``Coupon``, ``Discount`` with
  ``Type``/``ApplyDiscount``, ``Tax`` with ``TaxRate``, ``Other/WebCustomerID`` (registered
  customers only) and the order's **custom fields** as
  ``<CustomFields><CustomField><FieldName/><FieldValue/></CustomField></CustomFields>``, the
  last child of ``Order``. ``SubTotal`` is the product total less discounts and coupons.
  Line dimensions are sent as ``Dimensions`` (Length = depth). Orders with several shipping
  addresses send the first; orders without one ship to the billing address.
* products: each product as a parent record (``OptionLists`` for its options and
  customer-entered fields, ``CustomFields`` when it has some), followed by one record per
  variation with its own SKU (the cart's own, else ``<parent SKU>-<value codes>``), ``WebID``
  ``<product id>-<combination id>`` and a ``ParentCode`` custom field naming its parent.
  Products without a code get ``SKU-<id>``. Stock of untracked products, and of parents whose
  stock is kept per variation, is ``NA``.
* ``qohreplace``/``invupdate`` take the delimited or the XML form, split SKUs on the last
  ``~``, ignore empty segments, answer OK/NF/NA per SKU; ``qohreplace`` checks ``count``
  when sent and applies all or nothing.
* ``updatestatus``: the form and the XML variant; stores the status and every tracking number
  (read back with ``Sandbox.status_updates()``) and answers ``SETIResponse: update=OK;Notes=``
  or ``SETIResponse: update=False;Notes=Order N could not be found``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from .generator import STATE_CODES, STATUS_NAMES
from .markup import decimal_text, el, fixed2, money, xml_doc
from .profiles_base import Profile, Reply, SetiRequest, parse_lastdate

VERSION = "1.000"
BAD_CREDENTIALS = "Invalid username, password, or store code."
_WHERE = "deleted = 0"
_STATUS_IDS = {name.lower(): sid for sid, name in STATUS_NAMES.items()}
#: functions whose replies are whole pages, served from the profile's page cache
_PAGED = frozenset({"downloadorders", "downloadprods", "downloadqoh", "downloadcustomers"})


class RequestError(ValueError):
    """A request field the script cannot use; becomes the function's error reply."""


def _positive(request: SetiRequest, name: str, default: int) -> int:
    raw = request.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise RequestError(f"Invalid {name} {raw!r}: expected a whole number of at least 1")
    return int(raw)


def _xml_root(text: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise RequestError(f"Invalid/missing update command: XML not readable ({exc})") from None


def _child_text(node: ET.Element, *names: str) -> str:
    for name in names:
        found = node.find(name)
        if found is not None and found.text:
            return found.text.strip()
    return ""


#: Behaviour switches, all OFF by default: ways other real scripts select orders.
SWITCHES: dict[str, str] = {
    "ignore_lastorder": "orders are selected by lastdate alone, lastorder is ignored (a script that "
                        "selects by date, as MerchantTribe's does)",
}


class GenericProfile(Profile):
    name = "generic"
    path = "/seti/stoneedge.php"
    SWITCHES = SWITCHES

    def __init__(self, model, bugs: dict[str, bool] | None = None):
        unknown = sorted(set(bugs or {}) - set(SWITCHES))
        if unknown:
            raise ValueError(f"unknown generic switch(es): {', '.join(unknown)}; known: {', '.join(SWITCHES)}")
        self.bugs = {name: False for name in SWITCHES} | {k: bool(v) for k, v in (bugs or {}).items()}
        super().__init__(model)
        self._rows = self._parent_rows()
        self._sku_of: dict[tuple[int, int | None], str] = {}
        self._target: dict[str, tuple[int, int | None]] = {}
        for pid, cid in self._rows:
            sku = self._make_sku(pid, cid)
            self._sku_of[(pid, cid)] = sku
            self._target.setdefault(sku, (pid, cid))
        self._product_parts: dict[tuple[int, int | None], tuple[str, str]] = {}
        self._line_parts: dict[tuple[int, int | None], tuple[str, str, str]] = {}
        # name -> (handler, root of its XML reply or None for a text function)
        self._functions: dict[str, tuple[Callable[[SetiRequest], Reply], str | None]] = {
            "ordercount": (self.ordercount, None), "downloadorders": (self.downloadorders, "SETIOrders"),
            "getproductscount": (self.getproductscount, None), "downloadprods": (self.downloadprods, "SETIProducts"),
            "downloadqoh": (self.downloadqoh, "SETIProducts"), "getcustomerscount": (self.getcustomerscount, None),
            "downloadcustomers": (self.downloadcustomers, "SETICustomers"), "qohreplace": (self.qohreplace, None),
            "invupdate": (self.invupdate, None), "updatestatus": (self.updatestatus, None),
        }

    # ---------------------------------------------------------------- request flow

    def handle(self, request: SetiRequest) -> Reply:
        if "setifunction" not in request.params:
            return Reply.text("SETIError: Expecting a setifunction parameter.")
        function = request.function.strip().lower()
        if function == "sendversion":
            return Reply.text(f"SETIResponse: version={VERSION}")
        entry = self._functions.get(function)
        if entry is None:
            return Reply.text(f'SETIError: Function "{request.function}" was not found.')
        handler, root = entry
        if not self.auth_ok(request, check_code=True):
            return self._error(root, BAD_CREDENTIALS)
        try:
            return self.pages.get(request, handler) if function in _PAGED else handler(request)
        except RequestError as exc:
            return self._error(root, str(exc))

    @staticmethod
    def _error(root: str | None, message: str) -> Reply:
        if root is None:
            return Reply.text(f"SETIError: {message}")
        return Reply.xml(xml_doc(root, 3, message))

    @staticmethod
    def _page_doc(root: str, records: list[bytes]) -> Reply:
        if not records:
            return Reply.xml(xml_doc(root, 2, "No more records"))
        return Reply.xml(xml_doc(root, 1, "Success", records))

    # ---------------------------------------------------------------- orders

    def downloadable_where(self) -> str:
        return _WHERE

    def _order_filter(self, request: SetiRequest) -> tuple[str, tuple]:
        where, params = _WHERE, []
        lastorder = (request.get("lastorder") or "All").strip()
        if lastorder.lower() != "all" and not self.bugs["ignore_lastorder"]:
            if not lastorder.isdigit():
                raise RequestError(f"Invalid lastorder {lastorder!r}: expected All or an order number")
            where += " AND id > ?"
            params.append(int(lastorder))
        try:
            since = parse_lastdate(request.get("lastdate") or "All")
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        if since is not None:
            where += " AND date >= ?"
            params.append(since.isoformat())
        return where, tuple(params)

    def ordercount(self, request: SetiRequest) -> Reply:
        where, params = self._order_filter(request)
        return Reply.text(f"SETIResponse: ordercount={self.state.count_orders(where, params)}")

    def downloadorders(self, request: SetiRequest) -> Reply:
        where, params = self._order_filter(request)
        start, size = _positive(request, "startnum", 1), _positive(request, "batchsize", 100)
        ids = self.state.order_ids(where, params, limit=size, offset=start - 1)
        return self._page_doc("SETIOrders", self.order_records(ids))

    def render_order(self, order: dict) -> bytes:
        bill = order["billing"]
        ship_to = order["shipping_addresses"][0] if order["shipping_addresses"] else bill
        lines = order["lines"]
        product_total = sum(line["qty"] * line["price"] for line in lines)
        coupon = order["coupon"]
        subtotal = product_total - order["discount"] - (coupon["amount"] if coupon else 0)
        tax = order["tax"]
        grand = subtotal + tax + order["ship_cost"] + order["handling"]
        totals = [f"<Totals>{el('ProductTotal', money(product_total))}"]
        if order["discount"]:
            kind = order["discount_kind"]
            percent = el("Percent", order["discount_percent"]) if kind == "Percent" else ""
            label = f"{order['discount_percent']}% off" if kind == "Percent" else "Loyalty discount"
            totals.append(f"<Discount>{el('Type', kind)}{el('Description', label)}{percent}"
                          f"{el('Amount', money(order['discount']))}<ApplyDiscount>Pre</ApplyDiscount></Discount>")
        totals.append(el("SubTotal", money(subtotal)))
        if order["tax_rate"] != "0":
            totals.append(f"<Tax>{el('TaxAmount', money(tax))}{el('TaxRate', order['tax_rate'])}"
                          "<TaxShipping>No</TaxShipping><TaxExempt>No</TaxExempt></Tax>")
        totals.append(el("GrandTotal", money(grand)))
        if order["handling"]:
            totals.append(f"<Surcharge>{el('Total', money(order['handling']))}"
                          "<Description>Handling</Description></Surcharge>")
        totals.append(f"<ShippingTotal>{el('Total', money(order['ship_cost']))}"
                      f"{el('Description', order['ship_method'])}</ShippingTotal></Totals>")
        other = [el("OrderInstructions", order["message"]) if order["message"] else "",
                 el("Comments", order["staff_notes"]) if order["staff_notes"] else "",
                 el("IPHostName", order["ip"]),
                 el("WebCustomerID", order["customer_id"]) if order["customer_id"] else ""]
        parts = [
            f"<Order><OrderNumber>{order['id']}</OrderNumber>{el('OrderDate', order['date'])}",
            el("OrderStatus", order["status"]),
            f"<Billing>{self.party(bill, True)}</Billing><Shipping>{self.party(ship_to, True)}",
            *(self._line(line, order["tax"] > 0 and self.catalog.products[line["product_id"]]["taxable"])
              for line in lines), "</Shipping>",
            self._payment(order["payment"], grand, bill), *totals,
            (f"<Coupon>{el('Name', coupon['code'])}<Status>Applied</Status>{el('Total', money(coupon['amount']))}"
             "<ApplyCoupon>Pre</ApplyCoupon></Coupon>") if coupon else "",
            f"<Other>{''.join(other)}</Other>",
            _custom_fields(order["custom_fields"]), "</Order>",
        ]
        return "".join(parts).encode()

    def _line(self, line: dict, taxed: bool) -> str:
        key = (line["product_id"], line["combo_id"])
        parts = self._line_parts.get(key)
        if parts is None:
            parts = self._line_parts[key] = self._static_line_parts(*key)
        head, middle, tail = parts
        fields = "".join(f"<OrderOption>{el('OptionName', name)}{el('SelectedOption', text)}"
                         f"<OptionType>{'memo' if kind == 'text' else 'file'}</OptionType></OrderOption>"
                         for name, text, kind in line["fields"])
        return (f"{head}<Quantity>{line['qty']}</Quantity><ItemPrice>{money(line['price'])}</ItemPrice>{middle}"
                f"<Taxable>{'Yes' if taxed else 'No'}</Taxable>"
                f"<LineID>{line['line_id']}</LineID><Total>{money(line['qty'] * line['price'])}</Total>"
                f"{tail}{fields}</Product>")

    def _static_line_parts(self, pid: int, cid: int | None) -> tuple[str, str, str]:
        """The parts of an order line that depend only on what was bought (cached: an order
        line is rendered thousands of times per product in a big cart)."""
        product = self.catalog.products[pid]
        combo = self.catalog.combos.get(cid) if cid else None
        weight = product["weight"] + (combo["weight_adj"] if combo else 0)
        options = "".join(f"<OrderOption>{el('OptionName', o)}{el('SelectedOption', v)}{el('OptionCode', c)}"
                          "<OptionType>select</OptionType></OrderOption>"
                          for o, v, c in zip(combo["options"], combo["labels"], combo["codes"], strict=True)) \
            if combo else ""
        head = f"<Product>{el('SKU', self._sku_of[(pid, cid)])}{el('Name', product['name'])}"
        middle = (f"{el('Weight', fixed2(weight))}"
                  f"<ProdType>{'Download' if product['kind'] == 'digital' else 'Tangible'}</ProdType>")
        tail = (f"<Dimensions>{el('Length', fixed2(product['depth']))}{el('Width', fixed2(product['width']))}"
                f"{el('Height', fixed2(product['height']))}</Dimensions>{options}")
        return head, middle, tail

    @staticmethod
    def _payment(pay: dict, grand: int, bill: dict) -> str:
        kind = pay["kind"]
        if kind == "manual_card":
            expiry = f"{pay['exp_month']:02d}/{pay['exp_year'] % 100:02d}"
            body = (f"<CreditCard>{el('Issuer', pay['issuer'])}{el('Number', 'X' * 12 + pay['last4'])}"
                    f"{el('ExpirationDate', expiry)}"
                    f"{el('FullName', pay['holder'])}</CreditCard>")
        elif kind == "gateway_card":
            issuer = el("Issuer", pay["issuer"]) if pay["issuer"] else ""
            body = (f"<CreditCard>{issuer}{el('TransID', pay['trans_id'])}{el('AuthCode', pay['trans_id'][-6:])}"
                    f"{el('Amount', money(grand))}</CreditCard>")
        elif kind == "cod":
            body = "<COD/>"
        elif kind == "paypal":
            body = (f"<PayPal><Payer>{el('ID', pay['payer_id'])}<PayerStatus>verified</PayerStatus>"
                    f"{el('FirstName', bill['first'])}{el('LastName', bill['last'])}{el('Email', pay['email'])}"
                    f"</Payer><Transaction>{el('TransID', pay['trans_id'])}{el('Status', pay['status'])}"
                    f"{el('Amount', money(grand))}</Transaction></PayPal>")
        else:
            body = f"<Generic1>{el('Name', pay['gateway'])}{el('Description', pay['gateway'])}</Generic1>"
        return f"<Payment>{body}</Payment>"

    # ---------------------------------------------------------------- products

    def _parent_rows(self) -> list[tuple[int, int | None]]:
        rows: list[tuple[int, int | None]] = []
        for pid in sorted(self.catalog.products):
            rows.append((pid, None))
            rows.extend((pid, c["id"]) for c in self.catalog.combos_of.get(pid, ()))
        return rows

    def _make_sku(self, pid: int, cid: int | None) -> str:
        product = self.catalog.products[pid]
        parent = product["code"] or f"SKU-{pid}"
        if cid is None:
            return parent
        combo = self.catalog.combos[cid]
        return combo["sku"] or f"{parent}-{'-'.join(combo['codes'])}"

    def product_code(self, pid: int, cid: int | None) -> str:
        return self._sku_of[(pid, cid)]

    def resolve(self, sku: str) -> tuple[list[int], list[int]]:
        target = self._target.get(sku)
        if target is None:
            return [], []
        pid, cid = target
        return ([pid], []) if cid is None else ([], [cid])

    def tracked(self, pid: int, cid: int | None) -> bool:
        """Whether this record's stock is kept: parents of variations keep none themselves."""
        track = self.catalog.products[pid]["track"]
        return track == "product" if cid is None else track != "none"

    def _qoh(self, pid: int, cid: int | None, stock: dict[int, int], combo_stock: dict[int, int]) -> str:
        if not self.tracked(pid, cid):
            return "NA"
        return str(stock[pid] if cid is None else combo_stock[cid])

    def getproductscount(self, request: SetiRequest) -> Reply:
        return Reply.text(f"SETIResponse: itemcount={len(self._rows)}")

    def _page(self, request: SetiRequest) -> list[tuple[int, int | None]]:
        start, size = _positive(request, "startnum", 1), _positive(request, "batchsize", 100)
        return self._rows[start - 1:start - 1 + size]

    def downloadprods(self, request: SetiRequest) -> Reply:
        page = self._page(request)
        stock, combo_stock = self.page_stock(page)
        records = []
        for key in page:
            parts = self._product_parts.get(key)
            if parts is None:
                parts = self._product_parts[key] = self._render_product(*key)
            records.append(f"{parts[0]}<QOH>{self._qoh(*key, stock, combo_stock)}</QOH>{parts[1]}".encode())
        return self._page_doc("SETIProducts", records)

    def _render_product(self, pid: int, cid: int | None) -> tuple[str, str]:
        """A product record split around its QOH, the only part that changes."""
        product = self.catalog.products[pid]
        shop = f"{self.config.shop_url}/product_images/"
        flags = (f"<Taxable>{'Yes' if product['taxable'] else 'No'}</Taxable>"
                 f"<Discontinued>{'Yes' if product['hidden'] else 'No'}</Discontinued>")
        if cid is None:
            head = (f"<Product>{el('Code', self._sku_of[(pid, None)])}<WebID>{pid}</WebID>{el('Name', product['name'])}"
                    f"{el('Price', money(product['price']))}{el('Cost', money(product['cost']))}"
                    f"{el('Description', product['description'])}{el('Weight', decimal_text(product['weight']))}"
                    f"{flags}{el('Thumb', shop + product['thumb'])}{el('Image', shop + product['image'])}")
            return head, f"{_option_lists(product)}{_custom_fields(product['custom_fields'])}</Product>"
        combo = self.catalog.combos[cid]
        price = {"add": product["price"] + combo["adj"], "subtract": product["price"] - combo["adj"],
                 "fixed": combo["adj"]}.get(combo["adj_kind"], product["price"])
        head = (f"<Product>{el('Code', self._sku_of[(pid, cid)])}<WebID>{pid}-{cid}</WebID>"
                f"{el('Name', product['name'] + ' (' + ', '.join(combo['labels']) + ')')}"
                f"{el('Price', money(price))}{el('Weight', decimal_text(product['weight'] + combo['weight_adj']))}"
                f"{flags}{el('Image', shop + combo['image'])}")
        return head, f"{_custom_fields([['ParentCode', self._sku_of[(pid, None)]]])}</Product>"

    def downloadqoh(self, request: SetiRequest) -> Reply:
        page = self._page(request)
        stock, combo_stock = self.page_stock(page)
        records = [(f"<Product>{el('Code', self._sku_of[key])}"
                    f"<WebID>{key[0] if key[1] is None else f'{key[0]}-{key[1]}'}</WebID>"
                    f"<QOH>{self._qoh(*key, stock, combo_stock)}</QOH></Product>").encode() for key in page]
        return self._page_doc("SETIProducts", records)

    # ---------------------------------------------------------------- inventory

    @staticmethod
    def _pairs(update: str) -> list[tuple[str, str]]:
        """(SKU, quantity text) from the delimited or the XML form of ``update``."""
        text = update.strip()
        if not text:
            raise RequestError("Invalid/missing update command: update is empty")
        if text.startswith("<"):
            root = _xml_root(text)
            pairs = [(_child_text(p, "SKU", "Code"), _child_text(p, "QOH")) for p in root.iter("Product")]
        else:
            pairs = []
            for segment in text.split("|"):
                if not segment.strip():
                    continue
                if "~" not in segment:
                    raise RequestError(f"Invalid/missing update command: {segment!r} has no '~'")
                sku, qty = segment.rsplit("~", 1)
                pairs.append((sku, qty.strip()))
        for sku, qty in pairs:
            if not sku or not qty.lstrip("+-").isdigit():
                raise RequestError(f"Invalid/missing update command: bad item {sku!r}~{qty!r}")
        return pairs

    def qohreplace(self, request: SetiRequest) -> Reply:
        pairs = self._pairs(request.get("update", ""))
        count = (request.get("count") or "").strip()
        if count and (not count.isdigit() or int(count) != len(pairs)):
            raise RequestError(f"count={count} does not match the {len(pairs)} items sent")
        results, changes = [], []
        for sku, qty in pairs:
            target = self._target.get(sku)
            if target is None:
                results.append(f"{sku}=NF")
            elif not self.tracked(*target):
                results.append(f"{sku}=NA")
            else:
                pid, cid = target
                changes.append(("products", pid, int(qty)) if cid is None else ("combos", cid, int(qty)))
                results.append(f"{sku}=OK")
        self.state.apply_stock(changes)
        return Reply.text("\n".join(["SETIResponse", *results, "SETIEndOfData"]))

    def invupdate(self, request: SetiRequest) -> Reply:
        pairs = self._pairs(request.get("update", ""))
        if len(pairs) != 1:
            raise RequestError(f"Invalid/missing update command: invupdate takes one SKU, got {len(pairs)}")
        (sku, delta), = pairs
        target = self._target.get(sku)
        if target is None:
            return Reply.text(f"SETIResponse=False;SKU={sku};QOH=NF;NOTE=NotFound")
        if not self.tracked(*target):
            return Reply.text(f"SETIResponse=False;SKU={sku};QOH=NA;NOTE=NotTracking")
        pid, cid = target
        if cid is None:
            self.state.update_stock([pid], value=int(delta), relative=True)
        else:
            self.state.update_stock(combo_ids=[cid], value=int(delta), relative=True)
        stock, combo_stock = self.state.stock()
        return Reply.text(f"SETIResponse=OK;SKU={sku};QOH={self._qoh(pid, cid, stock, combo_stock)};NOTE=")

    # ---------------------------------------------------------------- status updates

    def updatestatus(self, request: SetiRequest) -> Reply:
        update = (request.get("update") or "").strip()
        if update.startswith("<"):
            items, variant = self._status_from_xml(update), "xml"
        else:
            items, variant = [self._status_from_form(request)], "form"
        failures = []
        for item in items:
            number = item["order"]
            ok = number.isdigit() and self.state.order_exists(int(number), _WHERE)
            if ok and item["status"]:
                self.state.set_order_status(int(number), item["status"], _STATUS_IDS.get(item["status"].lower()))
                self.orders_xml.drop(int(number))
            self.state.add_status_update(**item, variant=variant, ok=ok)
            if not ok:
                failures.append(f"Order {number} could not be found")
        if failures:
            return Reply.text(f"SETIResponse: update=False;Notes={'; '.join(failures)}")
        return Reply.text("SETIResponse: update=OK;Notes=")

    @staticmethod
    def _status_from_form(request: SetiRequest) -> dict:
        number = (request.get("ordernumber") or "").strip()
        if not number:
            raise RequestError("No ordernumber received.")
        raw_count = (request.get("trackcount") or "").strip()
        count = int(raw_count) if raw_count.isdigit() else (1 if request.get("tracknum") else 0)
        tracking = []
        for n in range(1, count + 1):
            # one package: unsuffixed fields (numbered ones accepted too); several: numbered
            suffixes = ("", "1") if count == 1 else (str(n),)
            for suffix in suffixes:
                track = (request.get(f"tracknum{suffix}") or "").strip()
                if track:
                    tracking.append({"number": track, "carrier": request.get(f"trackcarrier{suffix}") or "",
                                     "pickup_date": request.get(f"trackpickupdate{suffix}") or "", "method": ""})
                    break
        return {"order": number, "status": (request.get("orderstatus") or "").strip(),
                "refnumber": request.get("refnumber") or "", "notes": request.get("orderdetail") or "",
                "tracking": tracking}

    @staticmethod
    def _status_from_xml(update: str) -> list[dict]:
        root = _xml_root(update)
        orders = [root] if root.tag == "Order" else list(root.iter("Order"))
        if not orders:
            raise RequestError("Invalid/missing update command: no Order element")
        items = []
        for node in orders:
            tracking = [{"number": _child_text(p, "TrackNum", "TrackingID"), "carrier": _child_text(p, "Shipper"),
                         "pickup_date": _child_text(p, "PickupDate"), "method": _child_text(p, "Method")}
                        for p in node.iter("Package") if _child_text(p, "TrackNum", "TrackingID")]
            items.append({"order": _child_text(node, "OrderNumber"), "status": _child_text(node, "Status"),
                          "refnumber": _child_text(node, "ReferenceNumber"),
                          "notes": _child_text(node, "Notes", "Comments"), "tracking": tracking})
        return items

    # ---------------------------------------------------------------- customers

    def getcustomerscount(self, request: SetiRequest) -> Reply:
        return Reply.text(f"SETIResponse: itemcount={self.state.count_customers()}")

    def downloadcustomers(self, request: SetiRequest) -> Reply:
        start, size = _positive(request, "startnum", 1), _positive(request, "batchsize", 100)
        return self._page_doc("SETICustomers", self.customer_records(size, start - 1))

    def render_customer(self, c: dict) -> bytes:
        street2 = el("Addr2", c["street2"]) if c["street2"] else ""
        block = (f"{el('FirstName', c['first'])}{el('LastName', c['last'])}"
                 f"{el('Company', c['company']) if c['company'] else ''}{el('Phone', c['phone'])}"
                 f"{el('Email', c['email'])}<Address>{el('Addr1', c['street1'])}{street2}{el('City', c['city'])}"
                 f"{el('State', STATE_CODES.get(c['state'], c['state']))}{el('Zip', c['zip'])}"
                 f"{el('Country', c['country'])}</Address>")
        return (f"<Customer><WebID>{c['id']}</WebID>{el('UserName', c['email'].strip())}"
                f"<BillAddr>{block}</BillAddr><ShipAddr>{block}</ShipAddr></Customer>").encode()


def _custom_fields(fields: list) -> str:
    """``[[name, value], …]`` or ``[{"name", "value"}, …]`` as a CustomFields block ('' if none)."""
    if not fields:
        return ""
    pairs = [(f["name"], f["value"]) if isinstance(f, dict) else tuple(f) for f in fields]
    return "<CustomFields>" + "".join(
        f"<CustomField>{el('FieldName', n)}{el('FieldValue', v)}</CustomField>" for n, v in pairs) + "</CustomFields>"


def _option_lists(product: dict) -> str:
    if not product["options"] and not product["fields"]:
        return ""
    parts = ["<OptionLists>"]
    for sort, opt in enumerate(product["options"], start=1):
        values = "".join(f"<OptionValue>{el('Name', v['name'])}{el('Code', v['code'])}<SortOrder>{n}</SortOrder>"
                         "</OptionValue>" for n, v in enumerate(opt["values"], start=1))
        parts.append(f"<ProductOption><WebID>{opt['id']}</WebID>{el('Name', opt['name'])}"
                     f"{el('Prompt', opt['prompt'])}<Type>select</Type><SortOrder>{sort}</SortOrder>{values}"
                     "</ProductOption>")
    for sort, fld in enumerate(product["fields"], start=len(product["options"]) + 1):
        parts.append(f"<ProductOption><WebID>F{fld['id']}</WebID>{el('Name', fld['name'])}"
                     f"<Type>{'memo' if fld['type'] == 'text' else 'text'}</Type><SortOrder>{sort}</SortOrder>"
                     "</ProductOption>")
    parts.append("</OptionLists>")
    return "".join(parts)

