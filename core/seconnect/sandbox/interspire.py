"""The ``interspire`` profile: BigCommerce / Interspire Shopping Cart's ``stoneedge`` module.

It answers at ``/accountinggateway.php?action=process&accounting=stoneedge`` the way the real
module does (seti-protocol.md §6): ``sendversion`` echoes ``omversion`` without
authentication, ``code`` is ignored, only the nine functions of §6.2-5 exist (``updatestatus``
and anything else get the ``SETIError`` document), orders are status-filtered, variations are
addressed as ``<name> [VARID:n]``, and customers, products and inventory follow §6.3–6.5.

Every known bug is reproduced behind a named switch, all ON by default, so a client can be
tested against each one separately (``Sandbox(bugs={"money_thousands": False})``):

=================================  ======  ====================================================
switch                             §       ON (what BigCommerce did) / OFF
=================================  ======  ====================================================
``error_root``                     6.6-3   errors use root ``SETIError`` / the function's own root
``count_casing``                   6.6-4   ``SetiResponse: ordercount=N`` / ``SETIResponse:``
``qohreplace_inverted``            6.6-5   every line ``SKU=Update Error `` / ``SKU=OK ``
``invupdate_bogus_qoh``            6.6-6   reply QOH is the first character of the new stock /
                                           the real stock
``invupdate_varid_fails``          6.6-6   ``[VARID:n]`` deltas answer NotFound and change
                                           nothing / are applied to combination n
``customers_one_batch``            6.6-7   pages after the first answer code 2 / normal paging
``money_thousands``                6.6-8   money as ``1,234.50`` / ``1234.50``
``line_total_double_format``       6.6-8   line ``Total`` ≥ 1,000 comes out as its leading digit
                                           group (``1,234.50`` → ``1.00``) / the right total
``htmlentities``                   6.6-9   order-line SKU/Name and the invupdate SKU carry HTML
                                           entities (``Cr&egrave;me``, undefined in XML) /
                                           plain escaped UTF-8
``products_unordered``             6.6-10  product pages in a fixed scrambled order (no ORDER BY)
                                           / by product id then combination id
``variant_parent_code``            6.6-10  variations share the parent's code when it has one /
                                           own SKU, else ``<name> [VARID:n]``; inventory then
                                           also matches combination SKUs
``ordercount_lastdate_unfiltered`` 6.6-11  ``ordercount`` with ``lastdate`` only and ``All``
                                           counts every order (any status, deleted too) / the
                                           downloadable ones
``unknown_module_empty``           6.6-12  unknown ``accounting`` module → empty 200 / 404
``qohreplace_empty_segment``       6.6-13  the empty segment after a trailing ``|`` zeroes the
                                           stock of every product without a code and adds a
                                           ``=Update Error `` line / empty segments skipped
``customer_address_misplaced``     6.5     ``WebID`` twice, both ``Address`` blocks inside
                                           ``BillAddr``, none in ``ShipAddr`` / one each
``line_sku_fallback``              6.3     order lines of products without a code get the
                                           previous line's name as SKU (or empty) / the name
``dimension_swap``                 6.3     ``Dimension`` Length=width, Width=depth /
                                           Length=depth, Width=width
``password_escaping``              6.2-4   passwords with ``'`` ``"`` or ``\\`` never match / match
=================================  ======  ====================================================

The HTTPS check (6.6-1) always passes: the sandbox is HTTPS, so the server's ``HTTPS`` is "on".
"""

from __future__ import annotations

import random
import re

from .generator import DOWNLOADABLE_STATUSES
from .markup import decimal_text, el, esc, fixed2, htmlentities, money, php_float_prefix, to_cents
from .profiles_base import Profile, Reply, SetiRequest, parse_lastdate, php_int

BUGS: dict[str, str] = {
    "error_root": "errors use the SETIError root (§6.6-3)",
    "count_casing": "count replies start 'SetiResponse:' (§6.6-4)",
    "qohreplace_inverted": "qohreplace answers 'Update Error' for every SKU (§6.6-5)",
    "invupdate_bogus_qoh": "invupdate reports the first character of the stock as QOH (§6.6-6)",
    "invupdate_varid_fails": "invupdate of a [VARID:n] SKU fails with NotFound (§6.6-6)",
    "customers_one_batch": "downloadcustomers pages after the first answer code 2 (§6.6-7)",
    "money_thousands": "money carries a comma thousands separator (§6.6-8)",
    "line_total_double_format": "order-line Total >= 1,000 is garbled to its leading group (§6.6-8)",
    "htmlentities": "order-line SKU/Name carry HTML named entities (§6.6-9)",
    "products_unordered": "product download order is scrambled, not sorted (§6.6-10)",
    "variant_parent_code": "variations share the parent's product code (§6.6-10)",
    "ordercount_lastdate_unfiltered": "ordercount with lastdate=All only counts every order (§6.6-11)",
    "unknown_module_empty": "an unknown accounting module gives an empty 200 reply (§6.6-12)",
    "qohreplace_empty_segment": "a trailing '|' zeroes stock of products without a code (§6.6-13)",
    "customer_address_misplaced": "customer WebID twice, ShipAddr's Address inside BillAddr (§6.5)",
    "line_sku_fallback": "codeless order lines get the previous line's name as SKU (§6.3)",
    "dimension_swap": "Dimension Length/Width are the product's width/depth (§6.3)",
    "password_escaping": "passwords containing quotes or backslashes never match (§6.2-4)",
}

TRANSMISSION_ERROR = "Error: There was an error in the transmission sent from Stone Edge Order Manager."
NO_CREDENTIALS = "Error: Either a username or password was not provided."
BAD_CREDENTIALS = "Error: Either the username or password was invalid."
NO_LASTORDER = "No lastorder field received."

_ROOT_OF = {"ordercount": "SETIOrders", "downloadorders": "SETIOrders", "getproductscount": "SETIProducts",
            "downloadprods": "SETIProducts", "downloadqoh": "SETIProducts", "qohreplace": "SETIProducts",
            "invupdate": "SETIProducts", "getcustomerscount": "SETICustomers",
            "downloadcustomers": "SETICustomers"}
_VARID = re.compile(r"\[VARID:(\d+)\]", re.IGNORECASE)
_ESCAPED_BY_ADDSLASHES = ("'", '"', "\\", "\0")
_CARD_GATEWAYS = ("Authorize.net", "PayPal Payments Pro (US)", "PayPal Payments Pro (UK)", "Payflow Pro")
_DOWNLOADABLE = f"status_id IN ({','.join(map(str, DOWNLOADABLE_STATUSES))}) AND deleted = 0"


#: functions whose replies are whole pages, served from the profile's page cache
_PAGED = frozenset({"downloadorders", "downloadprods", "downloadqoh", "downloadcustomers"})


def _data_doc(root: str, code: int, records: list[bytes]) -> bytes:
    """SimpleXML's asXML(): bare declaration, compact."""
    head = (f'<?xml version="1.0"?>\n<{root}><Response><ResponseCode>{code}</ResponseCode>'
            f"<ResponseDescription>Success</ResponseDescription></Response>").encode()
    return b"".join((head, *records, f"</{root}>\n".encode()))


class InterspireProfile(Profile):
    name = "interspire"
    path = "/accountinggateway.php"
    query = "action=process&accounting=stoneedge"
    SWITCHES = BUGS

    def __init__(self, model, bugs: dict[str, bool] | None = None):
        unknown = sorted(set(bugs or {}) - set(BUGS))
        if unknown:
            raise ValueError(f"unknown interspire bug switch(es): {', '.join(unknown)}; "
                             f"known: {', '.join(BUGS)}")
        self.bugs = {name: True for name in BUGS} | {k: bool(v) for k, v in (bugs or {}).items()}
        super().__init__(model)
        self._rows = self._ordered_rows()
        self._product_prefix: dict[tuple[int, int | None], str] = {}
        self._line_parts: dict[tuple[int, int | None], tuple[str | None, str, str, str]] = {}
        self._dispatch = {
            "ordercount": self.ordercount, "downloadorders": self.downloadorders,
            "getcustomerscount": self.getcustomerscount, "downloadcustomers": self.downloadcustomers,
            "getproductscount": self.getproductscount, "downloadprods": self.downloadprods,
            "downloadqoh": self.downloadqoh, "qohreplace": self.qohreplace, "invupdate": self.invupdate,
        }

    # ---------------------------------------------------------------- request flow (§6.2)

    def handle(self, request: SetiRequest) -> Reply:
        module = request.query.get("accounting", "")
        if module.removeprefix("accounting_") != "stoneedge":
            return Reply(b"") if self.bugs["unknown_module_empty"] else Reply(b"Not Found", status=404)
        function = request.function
        if function == "sendversion":
            return Reply.text(f"SETIResponse: version={request.get('omversion') or '5.500'}")
        user, password = request.get("setiuser", ""), request.get("password", "")
        if not user or not password:
            return self.error(function, NO_CREDENTIALS)
        if (self.bugs["password_escaping"] and any(ch in password for ch in _ESCAPED_BY_ADDSLASHES)) \
                or not self.auth_ok(request, check_code=False):
            return self.error(function, BAD_CREDENTIALS)
        handler = self._dispatch.get(function)
        if handler is None:
            return self.error(function, TRANSMISSION_ERROR)
        return self.pages.get(request, handler) if function in _PAGED else handler(request)

    def error(self, function: str, message: str) -> Reply:
        root = "SETIError" if self.bugs["error_root"] else _ROOT_OF.get(function, "SETIError")
        return Reply.xml(
            f'<?xml version="1.0" encoding="UTF-8" ?><{root}><Response><ResponseCode>3</ResponseCode>'
            f"<ResponseDescription>{esc(message)}</ResponseDescription></Response></{root}>".encode())

    def _count(self, name: str, value: int) -> Reply:
        prefix = "SetiResponse" if self.bugs["count_casing"] else "SETIResponse"
        return Reply.text(f"{prefix}: {name}={value}")

    @staticmethod
    def _limit(request: SetiRequest) -> tuple[int, int]:
        """``LIMIT startnum-1, batchsize`` only when both are positive, else everything."""
        start, size = php_int(request.get("startnum")), php_int(request.get("batchsize"))
        return (size, start - 1) if start > 0 and size > 0 else (-1, 0)

    def _m(self, cents: int) -> str:
        return money(cents, self.bugs["money_thousands"])

    # ---------------------------------------------------------------- orders (§6.3)

    def downloadable_where(self) -> str:
        return _DOWNLOADABLE

    def ordercount(self, request: SetiRequest) -> Reply:
        lastorder = request.get("lastorder")
        where, params = _DOWNLOADABLE, ()
        if lastorder is not None:
            if lastorder.lower() != "all":
                where += " AND id > ?"
                params = (int(lastorder) if lastorder.isdigit() else 1,)
        else:  # the module's date-only branch, which has its own rules
            lastdate = (request.get("lastdate") or "All").strip()
            if lastdate.lower() == "all":
                where = "1" if self.bugs["ordercount_lastdate_unfiltered"] else _DOWNLOADABLE
            else:
                try:
                    since = parse_lastdate(lastdate)
                except ValueError:
                    since = None  # strtotime() fails: the 1970 epoch, i.e. no restriction
                if since is not None:
                    where += " AND date >= ?"
                    params = (since.isoformat(),)
        return self._count("ordercount", self.state.count_orders(where, params))

    def downloadorders(self, request: SetiRequest) -> Reply:
        lastorder = request.get("lastorder")
        if lastorder is None:
            return self.error("downloadorders", NO_LASTORDER)
        where, params = _DOWNLOADABLE, ()
        if lastorder.lower() != "all":
            where += " AND id > ?"
            params = (php_int(lastorder),)  # MySQL compares a non-number as 0
        limit, offset = self._limit(request)
        ids = self.state.order_ids(where, params, limit=limit, offset=offset)
        if not ids:
            return Reply.xml(_data_doc("SETIOrders", 2, []))
        return Reply.xml(_data_doc("SETIOrders", 1, self.order_records(ids)))

    def render_order(self, order: dict) -> bytes:
        m = self._m
        bill = order["billing"]
        ship_to = order["shipping_addresses"][-1] if order["shipping_addresses"] else bill
        tax = order["tax"]
        lines_xml, product_total, previous_name = [], 0, ""
        for line in order["lines"]:
            product = self.catalog.products[line["product_id"]]
            lines_xml.append(self._line(line, taxed=tax > 0 and product["taxable"], previous_name=previous_name))
            product_total += line["qty"] * line["price"]
            previous_name = product["name"]
        reductions = order["discount"] + (order["coupon"]["amount"] if order["coupon"] else 0)
        subtotal = product_total - reductions
        grand = subtotal + tax + order["ship_cost"] + order["handling"]
        parts = [
            f"<Order><OrderNumber>{order['id']}</OrderNumber><OrderDate>{order['date']}</OrderDate>",
            # billing State abbreviated from its name, shipping State as stored
            "<Billing>", self.party(bill, True), "</Billing><Shipping>", self.party(ship_to, False),
            *lines_xml, "</Shipping>", self._payment(order["payment"], grand),
            f"<Totals>{el('ProductTotal', m(product_total))}",
            f"<Discount>{el('Amount', m(reductions))}</Discount>" if reductions > 0 else "",
            el("SubTotal", m(subtotal)),
            # nudged so SubTotal + tax + shipping + handling is exactly GrandTotal
            f"<Tax>{el('TaxAmount', m(grand - subtotal - order['ship_cost'] - order['handling']))}</Tax>"
            if tax > 0 else "",
            el("GrandTotal", m(grand)),
            f"<Surcharge>{el('Total', m(order['handling']))}<Description>Handling Charge</Description></Surcharge>"
            if order["handling"] > 0 else "",
            f"<ShippingTotal>{el('Total', m(order['ship_cost']))}{el('Description', order['ship_method'])}"
            "</ShippingTotal></Totals><Other>",
            el("OrderInstructions", order["message"]) if order["message"] else "",
            el("Comments", order["staff_notes"]) if order["staff_notes"] else "",
            el("IpHostname", order["ip"]), "</Other></Order>",
        ]
        return "".join(parts).encode()

    def _text(self, value: str) -> str:
        """SKU/Name as the module adds them: htmlentities() output pasted in unescaped."""
        return htmlentities(value) if self.bugs["htmlentities"] else esc(value)

    def _line(self, line: dict, *, taxed: bool, previous_name: str) -> str:
        m = self._m
        key = (line["product_id"], line["combo_id"])
        parts = self._line_parts.get(key)
        if parts is None:
            parts = self._line_parts[key] = self._static_line_parts(*key)
        sku, name, middle, tail = parts
        if sku is None:  # no stored SKU: the module's fallback
            sku = f"<SKU>{self._text(previous_name)}</SKU>"
        total = line["qty"] * line["price"]
        if self.bugs["line_total_double_format"]:
            total = to_cents(php_float_prefix(money(total, thousands=True)))
        fields = []
        for field_name, text, kind in line["fields"]:
            if kind == "text" and len(text) > 50:
                text = text[:50] + " .."
            fields.append(f"<OrderOption>{el('OptionName', field_name)}{el('SelectedOption', text)}</OrderOption>")
        return (f"<Product>{sku}{name}<Quantity>{line['qty']}</Quantity><ItemPrice>{m(line['price'])}</ItemPrice>"
                f"{middle}<Taxable>{'Yes' if taxed else 'No'}</Taxable><Total>{m(total)}</Total>"
                f"{tail}{''.join(fields)}</Product>")

    def _static_line_parts(self, pid: int, cid: int | None) -> tuple[str | None, str, str, str]:
        """(SKU or None when the fallback applies, Name, Weight+ProdType, Dimension+options):
        what depends only on the product bought, cached per product/combination."""
        m = self._m
        product = self.catalog.products[pid]
        combo = self.catalog.combos.get(cid) if cid else None
        stored = (combo["sku"] if combo else "") or product["code"]
        if stored:
            sku: str | None = f"<SKU>{self._text(stored)}</SKU>"
        else:
            sku = None if self.bugs["line_sku_fallback"] else f"<SKU>{self._text(product['name'])}</SKU>"
        weight = product["weight"] + (combo["weight_adj"] if combo else 0)
        length, width = (product["width"], product["depth"]) if self.bugs["dimension_swap"] \
            else (product["depth"], product["width"])
        options = []
        if combo:
            adj = combo["adj"] if combo["adj_kind"] in ("add", "subtract") else 0
            for n, (opt_name, value) in enumerate(zip(combo["options"], combo["labels"], strict=True)):
                price, wadj = (adj, abs(combo["weight_adj"])) if n == 0 else (0, 0)
                options.append(f"<OrderOption>{el('OptionName', opt_name)}{el('SelectedOption', value)}"
                               f"{el('OptionPrice', m(price))}{el('OptionWeight', fixed2(wadj))}</OrderOption>")
        middle = (f"{el('Weight', fixed2(weight))}"
                  f"<ProdType>{'Download' if product['kind'] == 'digital' else 'Tangible'}</ProdType>")
        tail = (f"<Dimension>{el('Length', fixed2(length))}{el('Width', fixed2(width))}"
                f"{el('Height', fixed2(product['height']))}</Dimension>{''.join(options)}")
        return sku, f"<Name>{self._text(product['name'])}</Name>", middle, tail

    def _payment(self, pay: dict, grand: int) -> str:
        kind = pay["kind"]
        if kind == "manual_card":
            expiry = f"{pay['exp_month']:02d}{pay['exp_year'] % 100:02d}"
            body = (f"<CreditCard>{el('FullName', pay['holder'])}{el('Issuer', pay['issuer'])}"
                    f"{el('ExpirationDate', expiry)}</CreditCard>")
        elif kind == "cod":
            body = "<COD/>"
        elif kind == "gateway_card" and pay["gateway"] in _CARD_GATEWAYS and pay["status"] == "authorized":
            if not pay["issuer"]:
                body = "<CreditCard/>"
            else:
                body = (f"<CreditCard>{el('Issuer', pay['issuer'])}{el('TransID', pay['trans_id'])}"
                        f"{el('AuthCode', pay['trans_id'])}{el('Amount', self._m(grand))}</CreditCard>")
        elif kind == "gateway_other" and pay.get("missing"):
            return ""  # the gateway module cannot be loaded: no Payment element at all
        else:
            gateway = "PayPal" if kind == "paypal" else pay.get("gateway", "")
            body = f"<Generic1><Name>Generic 1</Name>{el('Description', gateway)}</Generic1>"
        return f"<Payment>{body}</Payment>"

    # ---------------------------------------------------------------- products (§6.4)

    def _ordered_rows(self) -> list[tuple[int, int | None]]:
        rows = self.catalog.rows()
        if self.bugs["products_unordered"]:
            random.Random(f"rows:{self.config.seed}").shuffle(rows)
        return rows

    def product_code(self, pid: int, cid: int | None) -> str:
        product = self.catalog.products[pid]
        if cid is None:
            return product["code"] or product["name"]
        combo = self.catalog.combos[cid]
        if self.bugs["variant_parent_code"]:
            return product["code"] or f"{product['name']} [VARID:{cid}]"
        return combo["sku"] or f"{product['name']} [VARID:{cid}]"

    def getproductscount(self, request: SetiRequest) -> Reply:
        return self._count("itemcount", len(self._rows))

    def _page(self, request: SetiRequest) -> list[tuple[int, int | None]]:
        limit, offset = self._limit(request)
        return self._rows[offset:] if limit < 0 else self._rows[offset:offset + limit]

    def downloadprods(self, request: SetiRequest) -> Reply:
        page = self._page(request)
        if not page:
            return Reply.xml(_data_doc("SETIProducts", 2, []))
        stock, combo_stock = self.page_stock(page)
        records = []
        for key in page:
            prefix = self._product_prefix.get(key)
            if prefix is None:
                prefix = self._product_prefix[key] = self._render_product(*key)
            qoh = combo_stock[key[1]] if key[1] else stock[key[0]]
            records.append(f"{prefix}<QOH>{qoh}</QOH></Product>".encode())
        return Reply.xml(_data_doc("SETIProducts", 1, records))

    def _render_product(self, pid: int, cid: int | None) -> str:
        """Everything of a product record up to (not including) its QOH, which changes."""
        product = self.catalog.products[pid]
        shop = f"{self.config.shop_url}/product_images/"
        head = (f"<Product><Taxable>{'Yes' if product['taxable'] else 'No'}</Taxable>"
                f"<Discontinued>{'Yes' if product['hidden'] else 'No'}</Discontinued>"
                f"{el('Code', self.product_code(pid, cid))}")
        if cid is None:
            return (f"{head}<WebID>{pid}</WebID>{el('Name', product['name'])}{el('Price', self._m(product['price']))}"
                    f"{el('Weight', decimal_text(product['weight']))}{el('Thumb', shop + product['thumb'])}"
                    f"{el('Image', shop + product['image'])}")
        combo = self.catalog.combos[cid]
        # "fixed"-price combinations count as no adjustment here (the module's arithmetic)
        price = product["price"] + {"add": combo["adj"], "subtract": -combo["adj"]}.get(combo["adj_kind"], 0)
        name = f"{product['name']} ({', '.join(combo['labels'])})"
        return (f"{head}<WebID>{pid}-{cid}</WebID>{el('Name', name)}{el('Price', self._m(price))}"
                f"{el('Description', product['description'])}"
                f"{el('Weight', decimal_text(product['weight'] + combo['weight_adj']))}"
                f"{el('Thumb', shop + product['thumb'])}{el('Image', shop + combo['image'])}")

    def downloadqoh(self, request: SetiRequest) -> Reply:
        page = self._page(request)
        if not page:
            return Reply.xml(_data_doc("SETIProducts", 2, []))
        stock, combo_stock = self.page_stock(page)
        records = [(f"<Product>{el('Code', self.product_code(pid, cid))}"
                    f"<WebID>{pid if cid is None else f'{pid}-{cid}'}</WebID>"
                    f"<QOH>{combo_stock[cid] if cid else stock[pid]}</QOH></Product>").encode()
                   for pid, cid in page]
        return Reply.xml(_data_doc("SETIProducts", 1, records))

    # ---------------------------------------------------------------- inventory (§6.4)

    def resolve(self, sku: str) -> tuple[list[int], list[int]]:
        """(product ids, combination ids) an incoming SKU updates: ``[VARID:n]`` is combination
        n; anything else every product whose code equals it or whose code is empty and whose
        name equals it (so ``""`` matches every product without a code)."""
        match = _VARID.search(sku)
        if match:
            cid = int(match.group(1))
            return [], [cid] if cid in self.catalog.combos else []
        pids = [pid for pid, p in self.catalog.products.items()
                if p["code"] == sku or (not p["code"] and p["name"] == sku)]
        cids = [] if self.bugs["variant_parent_code"] or not sku else \
            [cid for cid, c in self.catalog.combos.items() if c["sku"] == sku]
        return pids, cids

    def qohreplace(self, request: SetiRequest) -> Reply:
        update = request.get("update", "")
        lines = ["SETIResponse "]
        if update:
            result = "Update Error" if self.bugs["qohreplace_inverted"] else "OK"
            for entry in update.split("|"):
                if not entry and not self.bugs["qohreplace_empty_segment"]:
                    continue
                sku, qty = entry.split("~")[0], php_int(entry.rsplit("~", 1)[-1])
                pids, cids = self.resolve(sku)
                self.state.update_stock(pids, cids, value=qty)
                lines.append(f"{sku}={result} ")
        lines.append("SETIEndOfData")
        return Reply.text("\n".join(lines))

    def invupdate(self, request: SetiRequest) -> Reply:
        update = request.get("update", "")
        if not update:
            return Reply.text("SETIResponse=False;SKU=NONETRANSMITTED;QOH=NF;NOTE=NotFound")
        sku, delta = update.split("~")[0], php_int(update.rsplit("~", 1)[-1])
        shown = htmlentities(sku) if self.bugs["htmlentities"] else sku
        not_found = Reply.text(f"SETIResponse=False;SKU={shown};QOH=NF;NOTE=NotFound")
        pids, cids = self.resolve(sku)
        if _VARID.search(sku) and self.bugs["invupdate_varid_fails"]:
            return not_found  # the variation branch builds invalid SQL
        if not pids and not cids:
            return not_found
        self.state.update_stock(pids, cids, value=delta, relative=True)
        stock, combo_stock = self.state.stock()
        qoh = str(stock[pids[0]] if pids else combo_stock[cids[0]])
        if self.bugs["invupdate_bogus_qoh"]:
            qoh = qoh[:1]  # a scalar indexed as if it were a row
        return Reply.text(f"SETIResponse=OK;SKU={shown};QOH={qoh};NOTE=")

    # ---------------------------------------------------------------- customers (§6.5)

    def getcustomerscount(self, request: SetiRequest) -> Reply:
        return self._count("itemcount", self.state.count_customers())

    def downloadcustomers(self, request: SetiRequest) -> Reply:
        limit, offset = self._limit(request)
        if offset > 0 and self.bugs["customers_one_batch"]:
            return Reply.xml(_data_doc("SETICustomers", 2, []))
        records = self.customer_records(limit, offset)
        return Reply.xml(_data_doc("SETICustomers", 1 if records else 2, records))

    def render_customer(self, c: dict) -> bytes:
        who = (f"{el('FirstName', c['first'])}{el('LastName', c['last'])}"
               f"{el('Company', c['company']) if c['company'] else ''}{el('Phone', c['phone'])}"
               f"{el('Email', c['email'])}")
        street2 = el("Addr2", c["street2"]) if c["street2"] else ""
        address = (f"<Address>{el('Addr1', c['street1'])}{street2}{el('City', c['city'])}{el('State', c['state'])}"
                   f"{el('Zip', c['zip'])}{el('Country', c['country'])}</Address>")
        web_id = f"<WebID>{c['id']}</WebID>"
        if self.bugs["customer_address_misplaced"]:
            body = f"{web_id}{web_id}{el('UserName', c['email'])}<BillAddr>{who}{address}{address}</BillAddr>" \
                   f"<ShipAddr>{who}</ShipAddr>"
        else:
            body = f"{web_id}{el('UserName', c['email'])}<BillAddr>{who}{address}</BillAddr>" \
                   f"<ShipAddr>{who}{address}</ShipAddr>"
        return f"<Customer>{body}</Customer>".encode()
