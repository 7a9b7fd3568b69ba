"""The sub-SKU rules themselves: option codes, built SKUs, names, option resolution, matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seconnect.subskus import (
    build_sub_sku,
    match_variant,
    option_code,
    parent_sku_from_name,
    split_variation_name,
    variation_options,
)
from seconnect_generic import variation_of


@pytest.mark.parametrize(("value", "code", "delimiter", "expected"), [
    ("Red", "RED", "-", "RED"),  # the cart's code wins
    ("Red", "  RD ", "-", "RD"),  # trimmed
    ("Extra Large", None, "-", "ExtraLarge"),  # whitespace removed
    (" Navy\tBlue ", "", "-", "NavyBlue"),  # an empty code counts as none
    ("Blue-Green", None, "-", "BlueGreen"),  # the delimiter removed from text
    ("Blue-Green", None, "/", "Blue-Green"),
    ("Blue-Green", "B-G", "-", "B-G"),  # a code is taken as given
    ("5 / 6", None, "/", "56"),
    (None, None, "-", ""),
])
def test_option_code(value, code, delimiter, expected):
    assert option_code(value, code, delimiter) == expected


def test_build_sub_sku_follows_seom_example():
    assert build_sub_sku("1234", ["Red", "L"], "-") == "1234-Red-L"
    assert build_sub_sku("1234", [option_code("Red", None, "-"), option_code("Large", "L", "-")], "-") == "1234-Red-L"
    assert build_sub_sku("1234", ["Red", "", "L"], ".") == "1234.Red.L"  # empty codes add nothing
    assert build_sub_sku("1234", [], "-") == "1234"


@given(parent=st.text(min_size=1, max_size=12),
       values=st.lists(st.text(max_size=8), max_size=4),
       delimiter=st.sampled_from(["-", "_", "/", "."]))
def test_text_codes_never_carry_the_delimiter_or_spaces(parent, values, delimiter):
    codes = [option_code(v, None, delimiter) for v in values]
    sub = build_sub_sku(parent, codes, delimiter)
    assert sub.startswith(parent)
    suffix = sub[len(parent):]
    assert suffix.count(delimiter) == sum(1 for c in codes if c)
    assert not any(ch.isspace() for ch in suffix)


@pytest.mark.parametrize(("name", "expected"), [
    ("Deck Lantern (Brass, Large)", ("Deck Lantern", ["Brass", "Large"])),
    ("Lighthouse Print 🗼 (Red)", ("Lighthouse Print 🗼", ["Red"])),
    ("Widget (2024 edition) (Red, S)", ("Widget (2024 edition)", ["Red", "S"])),
    ("Harbor Lantern", ("Harbor Lantern", [])),
    ("", ("", [])),
])
def test_split_variation_name(name, expected):
    assert split_variation_name(name) == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("Brass Ship's Bell", "BRASS-SHIPS-BELL"),
    ("Crème Brûlée Torch", "CRÈME-BRÛLÉE-TORCH"),
    ("抹茶 Matcha Set", "抹茶-MATCHA-SET"),
    ("Rope Coil 30'", "ROPE-COIL-30"),
    ("Nautical Chart — Penobscot Bay, 1:40,000 scale edition", "NAUTICAL-CHART-PENOBSCOT-BAY-1-40-000"),
    ("☕ 🗼", ""),
])
def test_parent_sku_from_name(name, expected):
    assert parent_sku_from_name(name) == expected


LISTS = [
    {"name": "Finish", "values": [{"name": "Brass", "code": "BR"}, {"name": "Nickel", "code": "NI"}]},
    {"name": "Engraving", "type": "memo", "values": []},
    {"name": "Size", "values": [{"name": "Small", "code": "S"}, {"name": "Extra Large"}]},
]


def test_variation_options_use_the_parents_lists():
    assert variation_options(["Brass", "Small"], LISTS, "-") == ({"Finish": "Brass", "Size": "Small"}, ["BR", "S"])
    # a value without a code is coded from its text; case and spacing do not matter for lookup
    assert variation_options(["nickel", "Extra  Large"], LISTS, "-") == (
        {"Finish": "nickel", "Size": "Extra  Large"}, ["NI", "ExtraLarge"])


def test_variation_options_without_lists_are_numbered_and_coded_from_text():
    assert variation_options(["Brass", "XL"], [], "-") == ({"Option 1": "Brass", "Option 2": "XL"}, ["Brass", "XL"])
    assert variation_options(["Brass", "Teal"], LISTS, "-") == ({"Finish": "Brass", "Option 2": "Teal"}, ["BR", "Teal"])


def test_match_variant_by_name_when_names_are_known():
    children = [("A", {"Finish": "Brass", "Size": "Small"}), ("B", {"Finish": "Nickel", "Size": "Small"})]
    line = [{"name": "Size", "value": "small"}, {"name": "Finish", "value": "Nickel"}]
    assert match_variant(children, line) == "B"
    assert match_variant(children, [{"name": "Finish", "value": "Copper"}, {"name": "Size", "value": "Small"}]) is None


def test_match_variant_by_values_ignores_extra_text_options():
    children = [("A", {"Option 1": "Brass", "Option 2": "XL"}), ("B", {"Option 1": "Brass", "Option 2": "Small"})]
    line = [{"name": "Finish", "value": "Brass"}, {"name": "Size", "value": "XL"},
            {"name": "Gift note", "value": "Small thanks"}]
    assert match_variant(children, line) == "A"


def test_match_variant_breaks_ties_by_order_or_gives_up():
    children = [("A", {"Option 1": "Red"}), ("B", {"Option 1": "Blue"})]
    assert match_variant(children, [{"name": "Color", "value": "Red"}, {"name": "Note", "value": "Blue"}]) == "A"
    assert match_variant(children, [{"name": "Note", "value": "Blue Red"}]) is None
    assert match_variant([("A", {}), ("B", None)], [{"name": "x", "value": "y"}]) is None


def test_generic_plugin_marks_parentcode_records_as_variations():
    record = {"code": "DCK-101-OAK", "web_id": "2-1", "name": "Deck Lantern (Oak)",
              "custom_fields": [{"name": "ParentCode", "value": "DCK-101"}]}
    assert variation_of(record)["variation"] == {
        "parent_code": "DCK-101", "parent_web_id": "2", "combination_id": "1", "parent_name": "Deck Lantern",
        "values": ["Oak"], "code_is_shared": False}
    plain = {"code": "LNT-100", "web_id": "1", "custom_fields": [{"name": "Material", "value": "Brass"}]}
    assert variation_of(plain) is plain
    odd = variation_of({"code": "X", "web_id": "77", "name": "X", "custom_fields": [{"name": "parentcode", "value": "X"}]})
    assert odd["variation"]["parent_web_id"] is None and odd["variation"]["code_is_shared"] is True
