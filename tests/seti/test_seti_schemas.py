"""Record schemas: well-formed Draft 2020-12, both validators agree, and parsed records validate."""

from __future__ import annotations

import copy
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import seconnect_schemas as schemas
from seconnect.seti import read_records

from .conftest import FIXTURES

SCHEMA_OF = {"orders": "order", "products": "product", "customers": "customer", "qoh": "inventory"}


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schemas_are_valid_draft_2020_12(name):
    schema = schemas.load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{schemas.BASE_URI}{name}.schema.json"


def test_load_accepts_file_names_and_returns_fresh_copies():
    first = schemas.load("order.schema.json")
    first["title"] = "changed"
    assert schemas.load("order")["title"] == "Order"
    with pytest.raises(ValueError, match="unknown schema"):
        schemas.load("nope")


def test_compiled_validator_is_cached():
    assert schemas.validator("order") is schemas.validator("order")


def test_references_never_leave_the_package():
    with pytest.raises(ValueError, match="outside"):
        schemas._packaged("https://example.com/evil.schema.json")


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.xml")))
def test_every_parsed_fixture_record_validates(fixture):
    kind = fixture.split("_")[0].removesuffix(".xml")
    records = read_records([(FIXTURES / fixture).read_bytes()], function="t", kind=kind)
    assert records
    for record in records:
        schemas.validator(SCHEMA_OF[kind])(record)
        assert schemas.explain(SCHEMA_OF[kind], record) == []


def _order() -> dict:
    return read_records([(FIXTURES / "orders_spec.xml").read_bytes()], function="t", kind="orders")[0]


@pytest.mark.parametrize("change, path", [
    (lambda o: o.pop("number"), "$: 'number' is a required property"),
    (lambda o: o["lines"][0].__setitem__("total", 37.5), "$.lines[0].total"),
    (lambda o: o["lines"][0].__setitem__("unit_price", "12.5"), "$.lines[0].unit_price"),
    (lambda o: o["totals"].__setitem__("grand_total", "1,234.00"), "$.totals.grand_total"),
    (lambda o: o["payments"][0]["fields"].__setitem__("Number", "4111111111111111"), "$.payments[0].fields"),
    (lambda o: o["payments"][0]["fields"].__setitem__("CVV2", "123"), "$.payments[0].fields"),
    (lambda o: o["billing"].__setitem__("zip", "04001"), "$.billing"),
    (lambda o: o["raw"].__setitem__("X", 5), "$.raw.X"),
    (lambda o: o.__setitem__("extra", 1), "$"),
])
def test_bad_records_fail_both_validators_and_are_explained_by_path(change, path):
    order = copy.deepcopy(_order())
    change(order)
    assert not schemas.is_valid("order", order)
    with pytest.raises(schemas.SchemaViolation):
        schemas.validator("order")(order)
    problems = schemas.explain("order", order)
    assert len(problems) == 1 and problems[0].startswith(path)


def test_explain_lists_every_error():
    order = copy.deepcopy(_order())
    order["lines"][0]["total"] = 1.0
    order["lines"][1]["quantity"] = "1"
    order["totals"]["tax"] = 2.81
    assert [p.split(":")[0] for p in schemas.explain("order", order)] == \
        ["$.lines[0].total", "$.lines[1].quantity", "$.totals.tax"]


def test_nulls_are_accepted_for_absent_values():
    order = {"number": "1", "status": None, "billing": {"company": None}, "lines": [{"total": None}]}
    assert schemas.is_valid("order", order)
    assert schemas.is_valid("inventory", {"code": "A", "qoh": None})
    assert not schemas.is_valid("inventory", {"code": "A"})


# --- generated orders: whatever the cart sends, the record validates ---------------------------------

ENTITY_SAMPLES = ("&eacute;", "&#x1;")  # sent raw: entities a cart's XML may carry (one undefined, one illegal)
VALUE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1,234.50", "1.00", "-0", "12", "Yes", "No", "NA", "NaN", "1e5", *ENTITY_SAMPLES,
                     "2011-03-14 16:05:33", "14-Mar-2011 4:05:33 PM", "", "   ", "9e999999", "1e-30",
                     "9999999999999.99", "0.0000001"]),
)
LINE_FIELDS = ["SKU", "Sku", "Name", "Quantity", "ItemPrice", "Weight", "ProdType", "Taxable", "CustomerText",
               "LineID", "Total"]
ORDER_PARTS = {
    "Billing": ["FullName", "Company", "CompanyName", "Phone", "Email", "TaxID"],
    "Totals": ["ProductTotal", "SubTotal", "GrandTotal", "Tax", "ShippingTotal"],
    "Other": ["OrderInstructions", "Comments", "IpHostname", "IPHostName", "WebCustomerID", "TotalOrderWeight"],
    "Coupon": ["Name", "Status", "Total", "ApplyCoupon"],
    "Discount": ["Amount", "Type", "Percent", "ApplyDiscount"],
}


def _xml_text(value: str) -> str:
    # the entity samples raw; everything else escaped (generated text such as "&<" too)
    return value if value in ENTITY_SAMPLES else escape(value)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_generated_orders_always_validate(data):
    parts = []
    for part, fields in ORDER_PARTS.items():
        chosen = data.draw(st.lists(st.sampled_from(fields), max_size=4))
        parts.append(f"<{part}>" + "".join(f"<{f}>{_xml_text(data.draw(VALUE))}</{f}>" for f in chosen)
                     + f"</{part}>")
    lines = []
    for _ in range(data.draw(st.integers(0, 3))):
        chosen = data.draw(st.lists(st.sampled_from(LINE_FIELDS), max_size=8))
        option = f"<OrderOption><OptionName>{escape(data.draw(st.text(max_size=5)))}</OptionName>" \
                 f"<OptionPrice>{_xml_text(data.draw(VALUE))}</OptionPrice></OrderOption>"
        lines.append("<Product>" + "".join(f"<{f}>{_xml_text(data.draw(VALUE))}</{f}>" for f in chosen)
                     + option + "</Product>")
    payment = f"<Payment><CreditCard><Number>{escape(data.draw(st.text(max_size=20)))}</Number>" \
              f"<Amount>{_xml_text(data.draw(VALUE))}</Amount></CreditCard></Payment>"
    body = ("<SETIOrders><Response><ResponseCode>1</ResponseCode></Response><Order><OrderNumber>N1</OrderNumber>"
            f"<OrderDate>{_xml_text(data.draw(VALUE))}</OrderDate>{''.join(parts)}<Shipping>{''.join(lines)}"
            f"</Shipping>{payment}</Order></SETIOrders>")
    [order] = read_records([body.encode("utf-8", "surrogatepass")], function="t", kind="orders")
    assert schemas.explain("order", order) == []
    schemas.validator("order")(order)


def test_compiled_validator_resolves_only_packaged_schemas():
    """References outside seconnect's own schema files are refused, never fetched."""
    import jsonschema_rs

    with pytest.raises(ValueError, match="outside seconnect's schemas"):
        jsonschema_rs.Draft202012Validator({"$ref": "https://example.com/other.schema.json"},
                                           retriever=schemas._packaged)
