"""The generic profile: a correct spec-style SETI script, every function over HTTPS."""

from __future__ import annotations

import pytest

from .helpers import money, response_code

BAD = "Invalid username, password, or store code."


# ---------------------------------------------------------------- request flow


def test_script_url(gen):
    assert gen.sb.script_url == f"127.0.0.1:{gen.sb.port}/seti/stoneedge.php"


def test_sendversion_needs_no_credentials(gen):
    assert gen.raw(setifunction="sendversion", omversion="6.000").text == "SETIResponse: version=1.000"


@pytest.mark.parametrize("field, value", [("password", "nope"), ("setiuser", "intruder"), ("code", "X1")])
def test_every_credential_is_checked(gen, field, value):
    assert gen.text("ordercount", lastorder="All", **{field: value}) == f"SETIError: {BAD}"
    root = gen.xml("downloadorders", lastorder="All", **{field: value})
    assert (root.tag, response_code(root), root.findtext("Response/ResponseDescription")) == ("SETIOrders", "3", BAD)
    assert gen.xml("downloadcustomers", **{field: value}).tag == "SETICustomers"
    assert gen.xml("downloadqoh", **{field: value}).tag == "SETIProducts"


def test_store_code_configurable(make):
    cart = make("generic", orders=3, store_code="HARBOR")
    assert cart.text("ordercount", lastorder="All") == "SETIResponse: ordercount=3"
    assert cart.text("ordercount", lastorder="All", code="") == f"SETIError: {BAD}"


def test_function_names_case_insensitive(gen):
    assert gen.text("OrderCount", lastorder="All") == gen.text("ordercount", lastorder="All")
    assert gen.xml("DownloadOrders", lastorder="All", batchsize="1").find("Order") is not None


def test_unknown_and_missing_function(gen):
    assert gen.text("frobnicate") == 'SETIError: Function "frobnicate" was not found.'
    assert gen.raw(setiuser=gen.sb.user).text == "SETIError: Expecting a setifunction parameter."


# ---------------------------------------------------------------- orders


def test_orders_not_status_filtered_but_ascending(gen):
    stored = gen.sb.orders()
    expected = [o["number"] for o in stored if not o["deleted"]]
    assert any(o["status_id"] in (0, 1, 4, 5) for o in stored if not o["deleted"])
    assert gen.text("ordercount", lastorder="All", lastdate="All") == f"SETIResponse: ordercount={len(expected)}"
    numbers = [o.findtext("OrderNumber") for o in gen.all_records("downloadorders", "Order", lastorder="All")]
    assert numbers == expected == gen.sb.downloadable_order_numbers()


@pytest.mark.parametrize("form", ["{d}-{mon}-{y}", "{dd}-{mon}-{y}", "{d}/{mon}/{y}", "{d}-{MON}-{y}", "{y}-{m}-{dd}"])
def test_lastdate_formats(gen, form):
    stored = [o for o in gen.sb.orders() if not o["deleted"]]
    day = stored[30]["date"][:10]
    y, m, dd = day.split("-")
    mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][int(m) - 1]
    text = form.format(d=int(dd), dd=dd, mon=mon, MON=mon.upper(), y=y, m=m)
    expected = sum(1 for o in stored if o["date"][:10] >= day)
    assert gen.text("ordercount", lastorder="All", lastdate=text) == f"SETIResponse: ordercount={expected}"
    records = gen.all_records("downloadorders", "Order", lastorder="All", lastdate=text)
    assert len(records) == expected


def test_lastorder_and_lastdate_combine(gen):
    numbers = gen.sb.downloadable_order_numbers()
    assert gen.text("ordercount", lastorder=numbers[-3], lastdate="1-Jan-2024") == "SETIResponse: ordercount=2"
    assert gen.text("ordercount", lastorder=numbers[-1]) == "SETIResponse: ordercount=0"


def test_bad_order_fields(gen):
    assert gen.text("ordercount", lastorder="All", lastdate="yesterday").startswith("SETIError: Invalid lastdate")
    assert gen.text("ordercount", lastorder="ABC-1").startswith("SETIError: Invalid lastorder")
    root = gen.xml("downloadorders", lastorder="All", startnum="0")
    assert root.tag == "SETIOrders" and response_code(root) == "3"
    assert "startnum" in root.findtext("Response/ResponseDescription")


def test_paging_defaults_and_end(gen):
    numbers = gen.sb.downloadable_order_numbers()
    default = gen.xml("downloadorders", lastorder="All")
    assert [o.findtext("OrderNumber") for o in default.findall("Order")] == numbers[:100]
    end = gen.xml("downloadorders", lastorder="All", startnum=str(len(numbers) + 1))
    assert response_code(end) == "2" and end.find("Order") is None


@pytest.fixture(scope="module")
def gen_orders(gen):
    stored = {o["number"]: o for o in gen.sb.orders()}
    return [(stored[e.findtext("OrderNumber")], e) for e in gen.all_records("downloadorders", "Order", batch=50,
                                                                          lastorder="All")]


def test_full_order_schema(gen, gen_orders):
    skus = {(p["id"], None): p["code"] for p in gen.sb.products()}
    skus |= {(p["id"], v["id"]): v["code"] for p in gen.sb.products() for v in p["variations"]}
    seen = set()
    for order, el in gen_orders:
        assert el.findtext("OrderStatus") == order["status"]
        for n, (line, xml) in enumerate(zip(order["lines"], el.findall("Shipping/Product"), strict=True), 1):
            assert xml.findtext("LineID") == str(n)
            assert xml.findtext("SKU") == skus[(line["product_id"], line["combo_id"])]
            assert money(xml.findtext("Total")) == line["qty"] * line["price"]
            assert xml.find("Dimensions/Length") is not None
            texts = [o.findtext("SelectedOption") for o in xml.findall("OrderOption") if o.findtext("OptionType") != "select"]
            assert texts == [text for _, text, _ in line["fields"]]  # never truncated
        if order["coupon"]:
            seen.add("coupon")
            assert el.findtext("Coupon/Name") == order["coupon"]["code"]
            assert money(el.findtext("Coupon/Total")) == order["coupon"]["amount"]
            assert el.findtext("Coupon/ApplyCoupon") == "Pre"
        if order["discount"]:
            seen.add("discount")
            assert el.findtext("Totals/Discount/Type") == order["discount_kind"]
            assert el.findtext("Totals/Discount/ApplyDiscount") == "Pre"
        if order["tax"]:
            seen.add("tax")
            assert el.findtext("Totals/Tax/TaxRate") == order["tax_rate"]
            assert money(el.findtext("Totals/Tax/TaxAmount")) == order["tax"]
        web_customer = el.findtext("Other/WebCustomerID")
        assert web_customer == (str(order["customer_id"]) if order["customer_id"] else None)
        seen.add("guest" if web_customer is None else "registered")
        fields = [(f.findtext("FieldName"), f.findtext("FieldValue")) for f in el.findall("CustomFields/CustomField")]
        assert fields == [tuple(f) for f in order["custom_fields"]]
        if fields:
            seen.add("custom fields")
            assert list(el)[-1].tag == "CustomFields"
        totals = el.find("Totals")
        subtotal = money(totals.findtext("SubTotal"))
        assert subtotal + money(totals.findtext("Tax/TaxAmount") or "0") + money(totals.findtext("ShippingTotal/Total")) \
            + money(totals.findtext("Surcharge/Total") or "0") == money(totals.findtext("GrandTotal"))
        assert "," not in totals.findtext("GrandTotal")
    assert seen == {"coupon", "discount", "tax", "guest", "registered", "custom fields"}


def test_payments(gen_orders):
    tags = {}
    for order, el in gen_orders:
        payment = el.find("Payment")
        tags.setdefault(order["payment"]["kind"], set()).add(payment[0].tag)
        if order["payment"]["kind"] == "paypal":
            assert payment.findtext("PayPal/Transaction/TransID") == order["payment"]["trans_id"]
            assert payment.findtext("PayPal/Payer/Email") == order["payment"]["email"]
        if order["payment"]["kind"] == "gateway_card":
            assert payment.findtext("CreditCard/TransID") == order["payment"]["trans_id"]
    assert tags == {"gateway_card": {"CreditCard"}, "manual_card": {"CreditCard"}, "cod": {"COD"},
                    "gateway_other": {"Generic1"}, "paypal": {"PayPal"}}


# ---------------------------------------------------------------- products


def test_products_parents_and_variants(gen):
    products = gen.sb.products()
    total = sum(1 + len(p["variations"]) for p in products)
    assert gen.text("getproductscount") == f"SETIResponse: itemcount={total}"
    records = gen.all_records("downloadprods", "Product")
    by_code = {r.findtext("Code"): r for r in records}
    assert len(by_code) == total, "every record has its own SKU"
    for product in products:
        parent = by_code[product["code"]]
        assert parent.findtext("WebID") == str(product["id"])
        assert product["code"] == (product["sku"] or f"SKU-{product['id']}")
        names = [o.findtext("Name") for o in parent.findall("OptionLists/ProductOption")]
        for option in product["variations"][0]["options"] if product["variations"] else ():
            assert option in names
        assert parent.findtext("QOH") == (str(product["qoh"]) if product["tracked"] else "NA")
        for variation in product["variations"]:
            record = by_code[variation["code"]]
            assert record.findtext("WebID") == f"{product['id']}-{variation['id']}"
            assert record.findtext("CustomFields/CustomField/FieldValue") == product["code"]
            assert variation["code"] == (variation["sku"] or record.findtext("Code"))
            assert record.findtext("QOH") == (str(variation["qoh"]) if variation["tracked"] else "NA")
    assert any(p["variations"] and not p["tracked"] for p in products)
    assert any(not p["variations"] and not p["tracked"] for p in products)


def test_downloadqoh(gen):
    full = gen.all_records("downloadprods", "Product", batch=100)
    qoh = gen.all_records("downloadqoh", "Product", batch=100)
    assert [(r.findtext("Code"), r.findtext("QOH")) for r in qoh] == [(r.findtext("Code"), r.findtext("QOH")) for r in full]
    assert "NA" in {r.findtext("QOH") for r in qoh}


# ---------------------------------------------------------------- inventory


def test_qohreplace_delimited(make):
    cart = make("generic", orders=0)
    reply = cart.text("qohreplace", update="LNT-100~38|RPE-104-BR-S~5|GONE-1~4|MIL-105~3|", count="4")
    assert reply == "SETIResponse\nLNT-100=OK\nRPE-104-BR-S=OK\nGONE-1=NF\nMIL-105=NA\nSETIEndOfData"
    assert (cart.sb.qoh("LNT-100"), cart.sb.qoh("RPE-104-BR-S")) == (38, 5)


def test_qohreplace_xml(make):
    cart = make("generic", orders=0)
    update = ("<SETIProducts><Product><SKU>LNT-100</SKU><QOH>11</QOH></Product>"
              "<Product><SKU>SKU-3</SKU><QOH>4</QOH></Product></SETIProducts>")
    assert cart.text("qohreplace", update=update, count="2") == "SETIResponse\nLNT-100=OK\nSKU-3=OK\nSETIEndOfData"
    assert (cart.sb.qoh("LNT-100"), cart.sb.qoh("SKU-3")) == (11, 4)


def test_qohreplace_count_mismatch_changes_nothing(make):
    cart = make("generic", orders=0)
    before = cart.sb.qoh("LNT-100")
    reply = cart.text("qohreplace", update="LNT-100~1|CHR-109~2", count="3")
    assert reply == "SETIError: count=3 does not match the 2 items sent"
    assert cart.sb.qoh("LNT-100") == before
    assert cart.text("qohreplace", update="LNT-100").startswith("SETIError: Invalid/missing update command")
    assert cart.text("qohreplace", update="").startswith("SETIError: Invalid/missing update command")


def test_invupdate(make):
    cart = make("generic", orders=0)
    before = cart.sb.qoh("CHR-109")
    assert cart.text("invupdate", update="CHR-109~-2") == f"SETIResponse=OK;SKU=CHR-109;QOH={before - 2};NOTE="
    xml = "<SETIProducts><Product><SKU>CHR-109</SKU><QOH>10</QOH></Product></SETIProducts>"
    assert cart.text("invupdate", update=xml) == f"SETIResponse=OK;SKU=CHR-109;QOH={before + 8};NOTE="
    assert cart.text("invupdate", update="GONE-1~4") == "SETIResponse=False;SKU=GONE-1;QOH=NF;NOTE=NotFound"
    assert cart.text("invupdate", update="MIL-105~4") == "SETIResponse=False;SKU=MIL-105;QOH=NA;NOTE=NotTracking"
    assert cart.text("invupdate", update="DCK-101~4") == "SETIResponse=False;SKU=DCK-101;QOH=NA;NOTE=NotTracking"
    assert cart.sb.qoh("CHR-109") == before + 8


# ---------------------------------------------------------------- status updates


def test_updatestatus_form_single_package(make):
    cart = make("generic", orders=5)
    reply = cart.text("updatestatus", ordernumber="1002", orderstatus="Shipped", refnumber="SE-1",
                      orderdetail="Shipped complete", trackcount="1", tracknum="1Z9", trackcarrier="UPS",
                      trackpickupdate="3/15/2024")
    assert reply == "SETIResponse: update=OK;Notes="
    assert cart.sb.status_updates() == [{
        "order": "1002", "status": "Shipped", "refnumber": "SE-1", "notes": "Shipped complete", "variant": "form",
        "ok": True, "tracking": [{"number": "1Z9", "carrier": "UPS", "pickup_date": "3/15/2024", "method": ""}]}]
    order = cart.xml("downloadorders", lastorder="1001", batchsize="1").find("Order")
    assert order.findtext("OrderStatus") == "Shipped"


def test_updatestatus_form_numbered_packages(make):
    cart = make("generic", orders=5)
    cart.text("updatestatus", ordernumber="1003", orderstatus="Partially Shipped", trackcount="2",
              tracknum1="A1", trackcarrier1="UPS", tracknum2="B2", trackcarrier2="FedEx")
    assert [t["number"] for t in cart.sb.status_updates()[0]["tracking"]] == ["A1", "B2"]


def test_updatestatus_xml(make):
    cart = make("generic", orders=5)
    update = ("<Orders><Order><OrderNumber>1004</OrderNumber><ReferenceNumber>SE-20931</ReferenceNumber>"
              "<Status>Shipped</Status><Packages><Package><PackageID>1</PackageID><TrackNum>1Z1</TrackNum>"
              "<Shipper>UPS</Shipper><Method>Ground</Method><PickupDate>3/15/2011</PickupDate></Package>"
              "<Package><TrackingID>7999</TrackingID><Shipper>FX</Shipper></Package></Packages></Order></Orders>")
    assert cart.text("updatestatus", update=update) == "SETIResponse: update=OK;Notes="
    (update_row,) = cart.sb.status_updates()
    assert (update_row["variant"], update_row["order"], update_row["refnumber"]) == ("xml", "1004", "SE-20931")
    assert [(t["number"], t["carrier"], t["method"]) for t in update_row["tracking"]] == \
        [("1Z1", "UPS", "Ground"), ("7999", "FX", "")]
    assert next(o for o in cart.sb.orders() if o["number"] == "1004")["status"] == "Shipped"


def test_updatestatus_unknown_order(make):
    cart = make("generic", orders=5)
    reply = cart.text("updatestatus", ordernumber="999999", orderstatus="Shipped")
    assert reply == "SETIResponse: update=False;Notes=Order 999999 could not be found"
    assert cart.sb.status_updates()[0]["ok"] is False


# ---------------------------------------------------------------- customers


def test_customers(gen):
    customers = gen.sb.customers()
    assert gen.text("getcustomerscount") == f"SETIResponse: itemcount={len(customers)}"
    records = gen.all_records("downloadcustomers", "Customer")
    assert [r.findtext("WebID") for r in records] == [str(c["id"]) for c in customers]
    for customer, record in zip(customers, records, strict=True):
        assert len(record.findall("WebID")) == 1
        assert record.findtext("ShipAddr/Address/Addr1") == customer["street1"]
        assert record.findtext("BillAddr/Email") == customer["email"]
