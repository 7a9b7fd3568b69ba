"""Every SETI function through SetiClient: what goes on the wire, and what comes back."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from seconnect.cartdef import CartDefinition, Secret
from seconnect.errors import CartProtocolError, CartRejected, UsageError
from seconnect.seti import Package, RetryPolicy, SetiClient, StatusResult, StatusUpdate

from .conftest import PASSWORD, URL

ORDERS_CODE_2 = ('<?xml version="1.0"?><SETIOrders><Response><ResponseCode>2</ResponseCode>'
                 '<ResponseDescription>Success</ResponseDescription></Response></SETIOrders>')


def test_request_is_a_form_post_to_the_script_url_with_its_query_string(fake_cart):
    client, cart = fake_cart("SetiResponse: ordercount=2")
    assert client.order_count("1040", "9-Mar-2011") == 2
    request = cart.requests[0]
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert cart.forms[0] == {
        "setifunction": "ordercount", "setiuser": "seom.sync", "password": PASSWORD, "code": "",
        "lastorder": "1040", "lastdate": "9-Mar-2011", "omversion": "6.000",
    }


def test_credentials_never_travel_in_the_url(fake_cart):
    client, cart = fake_cart("SETIResponse: itemcount=3")
    client.product_count()
    assert PASSWORD not in str(cart.requests[0].url)
    assert "setiuser" not in str(cart.requests[0].url)


def test_store_code_and_omversion_are_sent(fake_cart):
    client, cart = fake_cart("SETIResponse: itemcount=0", store_code="HL-1", omversion="5.504")
    assert client.customer_count() == 0
    assert cart.forms[0]["code"] == "HL-1"
    assert cart.forms[0]["omversion"] == "5.504"


def test_send_version_sends_no_credentials(fake_cart):
    client, cart = fake_cart("SETIResponse: version=6.000\n")
    assert client.send_version() == "6.000"
    assert cart.forms[0] == {"setifunction": "sendversion", "omversion": "6.000"}


@pytest.mark.parametrize("body, version", [
    ("SETIResponse: version=1.000", "1.000"),
    ("SetiResponse: version=1.243\r\n", "1.243"),   # Maven casing, CRLF
    ("SETIResponse: version=5.500", "5.500"),       # Interspire without omversion
])
def test_send_version_variants(fake_cart, body, version):
    client, _ = fake_cart(body)
    assert client.send_version() == version


def test_send_version_without_version_field_is_a_protocol_error(fake_cart):
    client, _ = fake_cart("SETIResponse: OK")
    with pytest.raises(CartProtocolError, match="version="):
        client.send_version()


def test_lastdate_as_a_date_is_sent_like_seom(fake_cart):
    client, cart = fake_cart("SETIResponse: ordercount=0")
    client.order_count("All", date(2019, 12, 2))
    assert cart.forms[0]["lastdate"] == "2-Dec-2019"
    assert cart.forms[0]["lastorder"] == "All"
    client.order_count(1040)
    assert cart.forms[1]["lastorder"] == "1040"
    with pytest.raises(UsageError):
        client.order_count("10\n40")


def test_download_orders_fields_and_records(fake_cart, fixture_bytes):
    client, cart = fake_cart(fixture_bytes("orders_isc.xml"))
    orders = client.download_orders(lastorder="1040", startnum=1, batchsize=50, lastdate="9-Mar-2011")
    form = cart.forms[0]
    assert form["setifunction"] == "downloadorders"
    assert (form["lastorder"], form["lastdate"], form["startnum"], form["batchsize"], form["dkey"]) == \
        ("1040", "9-Mar-2011", "1", "50", "")
    assert [o["number"] for o in orders] == ["1041"]
    assert orders[0]["totals"]["grand_total"] == "97.61"


def test_download_orders_past_the_end_is_empty(fake_cart):
    client, _ = fake_cart(ORDERS_CODE_2)
    assert client.download_orders(lastorder="1042", startnum=1, batchsize=50) == []


def test_download_products_and_qoh_and_customers(fake_cart, fixture_bytes):
    client, cart = fake_cart(fixture_bytes("products_isc.xml"), fixture_bytes("qoh.xml"),
                             fixture_bytes("customers_spec.xml"))
    products = client.download_products(startnum=1, batchsize=50)
    qoh = client.download_qoh(startnum=1, batchsize=50)
    customers = client.download_customers(startnum=51, batchsize=50)
    assert [p["code"] for p in products] == ["LNT-100", "Deck Lantern [VARID:17]", "Deck Lantern [VARID:18]"]
    assert qoh == [{"code": "LNT-100", "web_id": "31", "qoh": 40},
                   {"code": "Deck Lantern [VARID:17]", "web_id": "32-17", "qoh": 6},
                   {"code": "GIFT-CARD", "web_id": "40", "qoh": None}]
    assert customers[0]["web_id"] == "508"
    assert [f["setifunction"] for f in cart.forms] == ["downloadprods", "downloadqoh", "downloadcustomers"]
    assert (cart.forms[2]["startnum"], cart.forms[2]["batchsize"]) == ("51", "50")


@pytest.mark.parametrize("startnum, batchsize", [(0, 50), (1, 0), (-1, 5), (True, 5), ("1", 5)])
def test_bad_paging_is_refused_before_sending(fake_cart, startnum, batchsize):
    client, cart = fake_cart(ORDERS_CODE_2)
    with pytest.raises(UsageError):
        client.download_products(startnum=startnum, batchsize=batchsize)
    assert cart.requests == []


def test_counts(fake_cart):
    client, cart = fake_cart("SetiResponse: ordercount=2", "SetiResponse: itemcount=3",
                             "SETIResponse: itemcount=1,204")
    assert client.order_count() == 2
    assert client.product_count() == 3
    assert client.customer_count() == 1204
    assert cart.forms[0]["lastorder"] == "All" and cart.forms[0]["lastdate"] == "All"
    assert [f["setifunction"] for f in cart.forms] == ["ordercount", "getproductscount", "getcustomerscount"]


@pytest.mark.parametrize("body", ["SETIResponse: ordercount=", "SETIResponse: ordercount=two",
                                  "SETIResponse: itemcount=4", "SETIResponse: ordercount=-1"])
def test_bad_count_reply(fake_cart, body):
    client, _ = fake_cart(body)
    with pytest.raises(CartProtocolError, match="ordercount"):
        client.order_count()


def test_qoh_replace_spec_reply(fake_cart):
    client, cart = fake_cart("SETIResponse\nLNT-100=OK\nDeck Lantern [VARID:17]=OK\nGONE-1=NF\nSETIEndOfData")
    result = client.qoh_replace([("LNT-100", 38), ("Deck Lantern [VARID:17]", 5), ("GONE-1", 4)])
    assert result == {"LNT-100": "OK", "Deck Lantern [VARID:17]": "OK", "GONE-1": "NF"}
    assert cart.forms[0]["update"] == "LNT-100~38|Deck Lantern [VARID:17]~5|GONE-1~4"
    assert cart.forms[0]["count"] == "3"


def test_qoh_replace_interspire_reply_with_trailing_bar(fake_cart):
    body = ("SETIResponse \nLNT-100=Update Error \nDeck Lantern [VARID:17]=Update Error \n"
            "GONE-1=Update Error \n=Update Error \nSETIEndOfData")
    client, cart = fake_cart(body)
    result = client.qoh_replace([("LNT-100", 38), ("Deck Lantern [VARID:17]", 5), ("GONE-1", 4)],
                                trailing_bar=True)
    assert result == {"LNT-100": "Update Error", "Deck Lantern [VARID:17]": "Update Error",
                      "GONE-1": "Update Error"}
    assert cart.forms[0]["update"].endswith("GONE-1~4|")


def test_qoh_replace_crlf_and_magento_err(fake_cart):
    client, _ = fake_cart("SETIResponse\r\nA=ok\r\nB=Err\r\nC=NA\r\nSETIEndOfData\r\n")
    assert client.qoh_replace([("A", 1), ("B", 2), ("C", 3)]) == {"A": "OK", "B": "ERR", "C": "NA"}


def test_qoh_replace_without_end_marker_is_a_protocol_error(fake_cart):
    client, _ = fake_cart("SETIResponse\nA=OK\n")
    with pytest.raises(CartProtocolError, match="SETIEndOfData"):
        client.qoh_replace([("A", 1), ("B", 2)])


def test_qoh_replace_as_xml(fake_cart):
    client, cart = fake_cart("SETIResponse\nA&B=OK\nSETIEndOfData")
    assert client.qoh_replace([("A&B", 7)], as_xml=True) == {"A&B": "OK"}
    assert cart.forms[0]["update"] == "<SETIProducts><Product><SKU>A&amp;B</SKU><QOH>7</QOH></Product></SETIProducts>"
    assert cart.forms[0]["count"] == "1"


@pytest.mark.parametrize("body, ok, qoh, code, note", [
    ("SETIResponse=OK;SKU=LNT-100;QOH=36;NOTE=", True, 36, "OK", ""),
    ("SETIResponse=False;SKU=GONE-1;QOH=NF;NOTE=NotFound", False, None, "NF", "NotFound"),
    ("SETIResponse=False;SKU=GIFT-CARD;QOH=NA;NOTE=NotTracking", False, None, "NA", "NotTracking"),
    ("SETIRESPONSE=OK;SKU=LNT-100;QOH=36;NOTE=", True, 36, "OK", ""),             # eZ / Inroads casing
    ("SETIResponse=OK;QOH=50", True, 50, "OK", ""),                                 # Magento, no SKU
    ("SETIResponse=OK;Note=SKU LNT-100 was not found.", False, None, "NF", "SKU LNT-100 was not found."),
    ("SETIResponse=False;SKU=LNT-100;QOH=;NOTE=database busy", False, None, "ERR", "database busy"),
])
def test_inv_update_replies(fake_cart, body, ok, qoh, code, note):
    client, cart = fake_cart(body)
    result = client.inv_update("LNT-100", -2)
    assert (result.ok, result.qoh, result.code, result.note) == (ok, qoh, code, note)
    assert result.sku == "LNT-100"
    assert cart.forms[0]["update"] == "LNT-100~-2"
    assert "count" not in cart.forms[0]


def test_inv_update_interspire_bogus_qoh_is_survived(fake_cart):
    """Interspire reports a wrong QOH (first digit, or nothing): parsed, never a crash (6.6-6)."""
    client, _ = fake_cart("SETIResponse=OK;SKU=LNT-100;QOH=3;NOTE=", "SETIResponse=OK;SKU=LNT-100;QOH=;NOTE=",
                          "SETIResponse=OK;SKU=A&amp;B;QOH=x;NOTE=")
    assert client.inv_update("LNT-100", -2).qoh == 3
    empty = client.inv_update("LNT-100", -2)
    assert empty.ok and empty.qoh is None
    garbage = client.inv_update("A&B", 1)
    assert garbage.ok and garbage.qoh is None and garbage.sku == "A&B"


def test_inv_update_as_xml(fake_cart):
    client, cart = fake_cart("SETIResponse=OK;SKU=A;QOH=9;NOTE=")
    client.inv_update("A", 10, as_xml=True)
    assert cart.forms[0]["update"] == "<SETIProducts><Product><SKU>A</SKU><QOH>10</QOH></Product></SETIProducts>"


def test_update_status_form_two_packages(fake_cart):
    client, cart = fake_cart("SETIResponse: update=OK;Notes=")
    update = StatusUpdate("1041", "Shipped", ref_number="SE-20931", note="Shipped complete", packages=[
        Package("1Z9X0000000000001", "UPS", "3/15/2011"), Package("1Z9X0000000000002", "UPS", "3/15/2011")])
    result = client.update_status(update)
    assert result.accepted and result.notes == ""
    form = cart.forms[0]
    assert form["ordernumber"] == "1041" and form["orderstatus"] == "Shipped"
    assert form["refnumber"] == "SE-20931" and form["orderdetail"] == "Shipped complete"
    assert form["trackcount"] == "2"
    assert (form["tracknum1"], form["trackcarrier1"], form["trackpickupdate1"]) == \
        ("1Z9X0000000000001", "UPS", "3/15/2011")
    assert form["tracknum2"] == "1Z9X0000000000002"
    assert "tracknum" not in form


def test_update_status_form_one_package_has_no_suffix(fake_cart):
    client, cart = fake_cart("SETIResponse: update=OK;Notes=")
    client.update_status(StatusUpdate("1041", "Shipped", packages=[Package("1Z1", "FedEx")]))
    form = cart.forms[0]
    assert (form["trackcount"], form["tracknum"], form["trackcarrier"], form["trackpickupdate"]) == \
        ("1", "1Z1", "FedEx", "")
    assert "tracknum1" not in form


def test_update_status_without_packages_sends_no_tracking(fake_cart):
    client, cart = fake_cart("SETIResponse: update=OK;Notes=")
    client.update_status(StatusUpdate("1041", "Order Canceled"))
    assert not any(k.startswith("track") for k in cart.forms[0])


@pytest.mark.parametrize("body, ok, notes", [
    ("SETIResponse: update=False;Notes=Order 1041 could not be found", False, "Order 1041 could not be found"),
    ("SETIResponse=OK;", True, ""),
    ("SETIResponse=False;Note=Save failed; retry later", False, "Save failed; retry later"),
])
def test_update_status_replies(fake_cart, body, ok, notes):
    client, _ = fake_cart(body)
    assert client.update_status(StatusUpdate("1041", "Shipped")) == StatusResult(accepted=ok, notes=notes)


def test_update_status_xml(fake_cart):
    client, cart = fake_cart("SETIResponse: update=OK;Notes=")
    update = StatusUpdate("1041", "Shipped", ref_number="SE-20931",
                          packages=[Package("1Z9X0000000000001", "UPS", "3/15/2011", "Ground")])
    client.update_status(update, as_xml=True)
    assert set(cart.forms[0]) == {"setifunction", "setiuser", "password", "code", "update", "omversion"}
    assert cart.forms[0]["update"] == (
        "<Orders><Order><OrderNumber>1041</OrderNumber><ReferenceNumber>SE-20931</ReferenceNumber>"
        "<Status>Shipped</Status><Packages><Package><PackageID>1</PackageID>"
        "<TrackNum>1Z9X0000000000001</TrackNum><TrackingID>1Z9X0000000000001</TrackingID>"
        "<Shipper>UPS</Shipper><Method>Ground</Method><PickupDate>3/15/2011</PickupDate>"
        "</Package></Packages></Order></Orders>")


def test_update_status_on_interspire_is_rejected_with_a_hint(fake_cart):
    body = ('<?xml version="1.0" encoding="UTF-8" ?><SETIError><Response><ResponseCode>3</ResponseCode>'
            '<ResponseDescription>Error: There was an error in the transmission sent from Stone Edge Order '
            'Manager.</ResponseDescription></Response></SETIError>')
    client, _ = fake_cart(body)
    with pytest.raises(CartRejected) as info:
        client.update_status(StatusUpdate("1041", "Shipped"))
    assert "error in the transmission" in info.value.message
    assert "updatestatus" in info.value.hint


def test_for_cart_uses_the_definition():
    cart = CartDefinition(name="Harbor", type="bigcommerce", user="seom.sync", password=Secret(PASSWORD),
                          script_url="store-h7q2k.example-cart.test/accountinggateway.php?action=process",
                          store_code="S1", params={"RequestTimeout": 12})
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="SETIResponse: ordercount=0")

    with SetiClient.for_cart(cart, transport=httpx.MockTransport(handler), retry=RetryPolicy.never()) as client:
        assert client.url == "https://store-h7q2k.example-cart.test/accountinggateway.php?action=process"
        assert client.timeout == 12.0
        client.order_count()
    assert seen[0].extensions["timeout"]["read"] == 12.0
    assert b"code=S1" in seen[0].content


def test_url_without_scheme_gets_https_and_bad_urls_are_refused():
    assert SetiClient("store.example.test/seti.php").url == "https://store.example.test/seti.php"
    for bad in ("ftp://store.example.test/x", "https://"):
        with pytest.raises(UsageError):
            SetiClient(bad)


def test_missing_ca_bundle_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="CA bundle") as info:
        SetiClient(URL, ca_bundle=str(tmp_path / "nope.pem"))
    assert "--ca-bundle" in info.value.hint
    not_pem = tmp_path / "junk.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(UsageError, match="not a PEM"):
        SetiClient(URL, ca_bundle=str(not_pem))


def test_context_manager_closes_the_http_client(fake_cart):
    client, _ = fake_cart("SETIResponse: version=1.000")
    with client:
        client.send_version()
    assert client._http.is_closed
