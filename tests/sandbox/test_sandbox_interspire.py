"""The interspire profile, all bugs on (BigCommerce's behaviour): every function over HTTPS."""

from __future__ import annotations

import re

import pytest

from .helpers import lenient_xml, money, response_code

TRANSMISSION = "Error: There was an error in the transmission sent from Stone Edge Order Manager."


def _error(root) -> str | None:
    assert root.tag == "SETIError"
    assert response_code(root) == "3"
    return root.findtext("Response/ResponseDescription")


# ---------------------------------------------------------------- request flow (§6.2)


def test_script_url_is_typed_without_scheme(isc):
    sb = isc.sb
    assert sb.script_url == f"127.0.0.1:{sb.port}/accountinggateway.php?action=process&accounting=stoneedge"
    assert sb.url == "https://" + sb.script_url


def test_sendversion_echoes_omversion_without_credentials(isc):
    assert isc.raw(setifunction="sendversion", omversion="5.912").text == "SETIResponse: version=5.912"
    assert isc.raw(setifunction="sendversion").text == "SETIResponse: version=5.500"


def test_module_prefix_is_stripped(isc):
    url = isc.sb.url.replace("accounting=stoneedge", "accounting=accounting_stoneedge")
    reply = isc.raw(url, setifunction="getcustomerscount", setiuser=isc.sb.user, password=isc.sb.password)
    assert reply.text == "SetiResponse: itemcount=30"


def test_credentials_must_be_present(isc):
    root = lenient_xml(isc.call("ordercount", lastorder="All", password="").content)
    assert _error(root) == "Error: Either a username or password was not provided."


def test_wrong_credentials_rejected_with_setierror_document(isc):
    reply = isc.call("downloadorders", lastorder="All", password="not-it")
    assert reply.headers["content-type"].startswith("text/xml")
    assert reply.text.startswith('<?xml version="1.0" encoding="UTF-8" ?><SETIError>')
    assert _error(lenient_xml(reply.content)) == "Error: Either the username or password was invalid."
    assert _error(isc.xml("ordercount", lastorder="All", setiuser="someone")) is not None


def test_store_code_is_ignored(isc):
    assert isc.text("getcustomerscount", code="anything at all") == "SetiResponse: itemcount=30"


def test_password_with_quote_never_matches(make):
    cart = make(password='tide"pool', orders=2)
    assert _error(cart.xml("getcustomerscount")) == "Error: Either the username or password was invalid."


@pytest.mark.parametrize("function", ["updatestatus", "OrderCount", "updatestockstatus", ""])
def test_only_the_nine_functions_exist(isc, function):
    root = isc.xml(function, ordernumber="1001", orderstatus="Shipped")
    assert _error(root) == TRANSMISSION


def test_updatestatus_changes_nothing(make):
    cart = make(orders=3)
    before = [o["status"] for o in cart.sb.orders()]
    cart.call("updatestatus", ordernumber="1001", orderstatus="Order Canceled", trackcount="1", tracknum="1Z")
    assert cart.sb.status_updates() == []
    assert [o["status"] for o in cart.sb.orders()] == before


# ---------------------------------------------------------------- orders (§6.3)


def test_downloadable_orders_are_status_filtered(isc):
    orders = isc.sb.orders()
    excluded = [o["number"] for o in orders if o["status_id"] in (0, 1, 4, 5, 6, 7, 8) or o["deleted"]]
    assert excluded, "the data must contain orders the module filters out"
    numbers = [r.findtext("OrderNumber") for r in isc.all_records("downloadorders", "Order", lastorder="All")]
    assert numbers == isc.sb.downloadable_order_numbers()
    assert numbers == sorted(numbers, key=int)
    assert not set(excluded) & set(numbers)
    assert len(numbers) + len(excluded) == len(orders)


def test_ordercount_variants(isc):
    downloadable = [int(n) for n in isc.sb.downloadable_order_numbers()]
    assert isc.text("ordercount", lastorder="All", lastdate="All") == f"SetiResponse: ordercount={len(downloadable)}"
    pivot = downloadable[10]
    later = sum(1 for n in downloadable if n > pivot)
    assert isc.text("ordercount", lastorder=str(pivot), lastdate="All") == f"SetiResponse: ordercount={later}"
    # a non-numeric lastorder counts as 1
    assert isc.text("ordercount", lastorder="A-17") == f"SetiResponse: ordercount={len(downloadable)}"


def test_ordercount_by_lastdate_only_counts_downloadable_since(isc):
    orders = {o["number"]: o for o in isc.sb.orders()}
    downloadable = isc.sb.downloadable_order_numbers()
    day = orders[downloadable[20]]["date"][:10]
    expected = sum(1 for n in downloadable if orders[n]["date"][:10] >= day)
    y, m, d = day.split("-")
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][int(m) - 1]
    assert isc.text("ordercount", lastdate=f"{int(d)}/{month}/{y}") == f"SetiResponse: ordercount={expected}"


def test_downloadorders_paging_and_end(isc):
    downloadable = isc.sb.downloadable_order_numbers()
    page = isc.xml("downloadorders", lastorder="All", startnum="3", batchsize="4")
    assert response_code(page) == "1"
    assert [o.findtext("OrderNumber") for o in page.findall("Order")] == downloadable[2:6]
    after = isc.xml("downloadorders", lastorder=downloadable[-2], startnum="1", batchsize="50")
    assert [o.findtext("OrderNumber") for o in after.findall("Order")] == downloadable[-1:]
    end = isc.call("downloadorders", lastorder=downloadable[-1], startnum="1", batchsize="50")
    assert end.text == ('<?xml version="1.0"?>\n<SETIOrders><Response><ResponseCode>2</ResponseCode>'
                        "<ResponseDescription>Success</ResponseDescription></Response></SETIOrders>\n")
    # no startnum/batchsize: everything at once
    assert len(isc.xml("downloadorders", lastorder="All").findall("Order")) == len(downloadable)


def test_downloadorders_requires_lastorder(isc):
    assert _error(isc.xml("downloadorders", startnum="1", batchsize="5")) == "No lastorder field received."


@pytest.fixture(scope="module")
def isc_orders(isc):
    """(stored order, downloaded element) for every downloadable order."""
    stored = {o["number"]: o for o in isc.sb.orders()}
    return [(stored[e.findtext("OrderNumber")], e) for e in isc.all_records("downloadorders", "Order", batch=50,
                                                                          lastorder="All")]


def test_totals_add_up(isc_orders):
    for order, el in isc_orders:
        t = {child.tag: child for child in el.find("Totals")}
        product_total = money(t["ProductTotal"].text)
        discount = money(t["Discount"].findtext("Amount")) if "Discount" in t else 0
        tax = money(t["Tax"].findtext("TaxAmount")) if "Tax" in t else 0
        surcharge = money(t["Surcharge"].findtext("Total")) if "Surcharge" in t else 0
        shipping = money(t["ShippingTotal"].findtext("Total"))
        assert product_total - discount == money(t["SubTotal"].text)
        assert money(t["SubTotal"].text) + tax + shipping + surcharge == money(t["GrandTotal"].text)
        coupon = order["coupon"]["amount"] if order["coupon"] else 0
        assert discount == order["discount"] + coupon
        assert ("Surcharge" in t) == (order["handling"] > 0)
        if "Surcharge" in t:
            assert t["Surcharge"].findtext("Description") == "Handling Charge"
        assert el.find("Coupon") is None


def test_addresses_billing_abbreviated_shipping_last_and_raw(isc_orders):
    multi = [(o, e) for o, e in isc_orders if len(o["shipping_addresses"]) > 1]
    assert multi
    for order, el in multi:
        last = order["shipping_addresses"][-1]
        assert el.findtext("Shipping/FullName") == f"{last['first']} {last['last']}"
        assert el.findtext("Shipping/Address/State") == last["state"]
    states = {(o["billing"]["state"], e.findtext("Billing/Address/State")) for o, e in isc_orders}
    assert ("Texas", "TX") in states or ("Maine", "ME") in states or ("Oregon", "OR") in states
    shipless = [(o, e) for o, e in isc_orders if not o["shipping_addresses"]]
    for order, el in shipless:
        assert el.findtext("Shipping/Address/Street1") == order["billing"]["street1"]


def test_order_lines(isc, isc_orders):
    products = {p["id"]: p for p in isc.sb.products()}
    seen_variant = seen_field = False
    for order, el in isc_orders:
        lines = el.findall("Shipping/Product")
        assert len(lines) == len(order["lines"])
        for line, xml_line in zip(order["lines"], lines, strict=True):
            assert xml_line.findtext("Quantity") == str(line["qty"])
            assert money(xml_line.findtext("ItemPrice")) == line["price"]
            assert xml_line.findtext("Name") == products[line["product_id"]]["name"]
            options = xml_line.findall("OrderOption")
            if line["combo_id"]:
                seen_variant = True
                assert options[0].findtext("OptionPrice") is not None
                assert all(o.findtext("OptionPrice") == "0.00" for o in options[1:len(options) - len(line["fields"])])
            for (name, text, kind), opt in zip(line["fields"], options[len(options) - len(line["fields"]):],
                                               strict=True):
                seen_field = True
                assert opt.findtext("OptionName") == name
                assert opt.find("OptionPrice") is None
                expected = text[:50] + " .." if kind == "text" and len(text) > 50 else text
                assert opt.findtext("SelectedOption") == expected
    assert seen_variant and seen_field


def test_payment_mapping(isc_orders):
    kinds = {}
    for order, el in isc_orders:
        pay = order["payment"]
        payment = el.find("Payment")
        kinds.setdefault(pay["kind"], []).append((pay, payment, el))
    assert set(kinds) == {"gateway_card", "manual_card", "cod", "gateway_other", "paypal"}
    for pay, payment, _ in kinds["manual_card"]:
        card = payment.find("CreditCard")
        assert card.findtext("Issuer") == pay["issuer"]
        assert card.findtext("ExpirationDate") == f"{pay['exp_month']:02d}{pay['exp_year'] % 100:02d}"
        assert card.find("Number") is None
    for pay, payment, el in kinds["gateway_card"]:
        card = payment.find("CreditCard")
        if not pay["issuer"]:
            assert len(card) == 0
            continue
        assert card.findtext("TransID") == card.findtext("AuthCode") == pay["trans_id"]
        assert card.findtext("Amount") == el.findtext("Totals/GrandTotal")
    for _, payment, _ in kinds["cod"]:
        assert [c.tag for c in payment] == ["COD"]
    for pay, payment, _ in kinds["paypal"] + kinds["gateway_other"]:
        if pay.get("missing"):
            assert payment is None
            continue
        assert payment.findtext("Generic1/Name") == "Generic 1"
        assert payment.findtext("Generic1/Description") == ("PayPal" if pay["kind"] == "paypal" else pay["gateway"])


def test_other_block(isc_orders):
    for order, el in isc_orders:
        assert el.findtext("Other/IpHostname") == order["ip"]
        assert el.findtext("Other/OrderInstructions") == (order["message"] or None)
        assert el.findtext("Other/Comments") == (order["staff_notes"] or None)
        assert el.find("OrderStatus") is None and el.find("Other/WebCustomerID") is None


def test_order_date_format(isc_orders):
    for order, el in isc_orders:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", el.findtext("OrderDate"))
        assert el.findtext("OrderDate") == order["date"]


# ---------------------------------------------------------------- products (§6.4)


def test_products_one_record_per_combination(isc):
    products = isc.sb.products()
    rows = sum(max(1, len(p["variations"])) for p in products)
    assert isc.text("getproductscount") == f"SetiResponse: itemcount={rows}"
    records = isc.all_records("downloadprods", "Product")
    assert len(records) == rows
    web_ids = [r.findtext("WebID") for r in records]
    assert len(set(web_ids)) == rows
    by_web_id = {r.findtext("WebID"): r for r in records}
    for product in products:
        if not product["variations"]:
            record = by_web_id[str(product["id"])]
            assert record.findtext("Code") == (product["sku"] or product["name"])
            assert record.find("Description") is None
            assert record.findtext("QOH") == str(product["qoh"])
            assert record.findtext("Thumb").startswith(f"https://127.0.0.1:{isc.sb.port}/product_images/")
            continue
        for variation in product["variations"]:
            record = by_web_id[f"{product['id']}-{variation['id']}"]
            values = ", ".join(variation["options"].values())
            assert record.findtext("Name") == f"{product['name']} ({values})"
            assert record.findtext("Code") == (product["sku"] or f"{product['name']} [VARID:{variation['id']}]")
            assert record.findtext("Code") == variation["code"]
            assert record.findtext("QOH") == str(variation["qoh"])
            assert record.findtext("Description")


def test_product_pages_are_stable_but_not_sorted(isc):
    first = [r.findtext("WebID") for r in isc.all_records("downloadprods", "Product", batch=5)]
    again = [r.findtext("WebID") for r in isc.all_records("downloadprods", "Product", batch=9)]
    assert first == again

    def key(web_id: str) -> tuple[int, int]:
        pid, _, cid = web_id.partition("-")
        return int(pid), int(cid or 0)
    assert first != sorted(first, key=key)


def test_downloadqoh_rows(isc):
    full = isc.all_records("downloadprods", "Product", batch=50)
    qoh = isc.all_records("downloadqoh", "Product", batch=50)
    assert [[c.tag for c in r] for r in qoh] == [["Code", "WebID", "QOH"]] * len(full)
    assert [(r.findtext("Code"), r.findtext("WebID"), r.findtext("QOH")) for r in qoh] == \
        [(r.findtext("Code"), r.findtext("WebID"), r.findtext("QOH")) for r in full]
    assert response_code(isc.xml("downloadqoh", startnum="999", batchsize="5")) == "2"


# ---------------------------------------------------------------- inventory (§6.4)


def test_qohreplace_sets_stock_and_answers_update_error(make):
    cart = make(orders=0)
    sb = cart.sb
    bell = next(p for p in sb.products() if not p["sku"] and p["variations"])
    varid = bell["variations"][0]["code"]
    reply = cart.text("qohreplace", update=f"LNT-100~38|{varid}~5|Storm Kettle~7|GONE-1~4", count="4")
    assert reply == ("SETIResponse \nLNT-100=Update Error \n" f"{varid}=Update Error \n"
                     "Storm Kettle=Update Error \nGONE-1=Update Error \nSETIEndOfData")
    assert sb.qoh("LNT-100") == 38
    assert sb.qoh(varid) == 5
    assert sb.qoh("Storm Kettle") == 7  # no code: addressed by name
    assert sb.qoh("GONE-1") is None


def test_qohreplace_empty_update(isc):
    assert isc.text("qohreplace", update="") == "SETIResponse \nSETIEndOfData"


def test_qohreplace_sku_up_to_first_tilde_quantity_after_last(make):
    cart = make(orders=0)
    cart.text("qohreplace", update="LNT-100~x~12")
    assert cart.sb.qoh("LNT-100") == 12


def test_parent_code_addresses_the_parent_not_its_variations(make):
    cart = make(orders=0)
    deck = next(p for p in cart.sb.products() if p["sku"] == "DCK-101")
    cart.text("qohreplace", update="DCK-101~3")
    after = next(p for p in cart.sb.products() if p["sku"] == "DCK-101")
    assert after["qoh"] == 3
    assert [v["qoh"] for v in after["variations"]] == [v["qoh"] for v in deck["variations"]]


def test_invupdate_adds_delta(make):
    cart = make(orders=0)
    sb = cart.sb
    before = sb.qoh("CHR-109")
    assert before >= 10
    reply = cart.text("invupdate", update="CHR-109~-2")
    assert sb.qoh("CHR-109") == before - 2
    assert reply == f"SETIResponse=OK;SKU=CHR-109;QOH={str(before - 2)[0]};NOTE="
    assert cart.text("invupdate", update="GONE-1~4") == "SETIResponse=False;SKU=GONE-1;QOH=NF;NOTE=NotFound"
    assert cart.text("invupdate") == "SETIResponse=False;SKU=NONETRANSMITTED;QOH=NF;NOTE=NotFound"


def test_invupdate_varid_fails(make):
    cart = make(orders=0)
    bell = next(p for p in cart.sb.products() if not p["sku"] and p["variations"])
    code = bell["variations"][0]["code"]
    before = cart.sb.qoh(code)
    reply = cart.text("invupdate", update=f"{code}~5")
    assert reply == f"SETIResponse=False;SKU={code.replace(chr(39), '&#039;')};QOH=NF;NOTE=NotFound"
    assert cart.sb.qoh(code) == before


# ---------------------------------------------------------------- customers (§6.5)


def test_customers(isc):
    customers = isc.sb.customers()
    assert isc.text("getcustomerscount") == f"SetiResponse: itemcount={len(customers)}"
    root = isc.xml("downloadcustomers", startnum="1", batchsize="50")
    records = root.findall("Customer")
    assert len(records) == len(customers)
    for customer, record in zip(customers, records, strict=True):
        assert [w.text for w in record.findall("WebID")] == [str(customer["id"])] * 2
        assert record.findtext("UserName") == customer["email"]
        bill = record.find("BillAddr")
        assert bill.findtext("FirstName") == customer["first"]
        assert bill.findtext("Phone") == customer["phone"]
        assert [a.findtext("Addr1") for a in bill.findall("Address")] == [customer["street1"]] * 2
        assert record.find("ShipAddr/Address") is None
        assert record.findtext("ShipAddr/LastName") == customer["last"]


def test_customers_only_first_batch(isc):
    assert len(isc.xml("downloadcustomers", startnum="1", batchsize="10").findall("Customer")) == 10
    assert response_code(isc.xml("downloadcustomers", startnum="11", batchsize="10")) == "2"
