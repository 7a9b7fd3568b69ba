"""The plain-text reply parser: every form carts send, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seconnect.errors import CartAuthError, CartProtocolError, CartRejected
from seconnect.seti import parse_text_reply, read_text
from seconnect.seti.replies import parse_qoh_results, snippet


@pytest.mark.parametrize("text, status, fields", [
    ("SETIResponse: version=6.000", None, {"version": "6.000"}),
    ("SetiResponse: ordercount=2", None, {"ordercount": "2"}),
    ("SETIRESPONSE: itemcount=3\r\n", None, {"itemcount": "3"}),
    ("SETIResponse=OK;SKU=LNT-100;QOH=36;NOTE=", "OK", {"sku": "LNT-100", "qoh": "36", "note": ""}),
    ("SETIResponse: update=OK;Notes=", None, {"update": "OK", "notes": ""}),
    ("SETIResponse=OK;", "OK", {}),
    ("SETIResponse: OK", "OK", {}),
    ("  \n\ufeffSETIResponse : version = 1.000 ", None, {"version": "1.000"}),
    ("SETIResponse: update=False;Notes=a; b;c=d", None, {"update": "False", "notes": "a; b", "c": "d"}),
    ("SETIResponse=False;Note=x=y", "False", {"note": "x=y"}),
])
def test_single_line_forms(text, status, fields):
    reply = parse_text_reply(text)
    assert reply.status == status
    assert dict(reply.fields) == fields
    assert reply.lines == ()


def test_lookup_is_case_insensitive():
    reply = parse_text_reply("SETIResponse=OK;Sku=A;qoh=1;Note=")
    assert (reply.get("SKU"), reply.get("QOH"), reply.get("NOTE")) == ("A", "1", "")


def test_multiline_block():
    reply = parse_text_reply("SETIResponse \r\nA=OK \r\nB~1=NF\r\nC=D=Update Error  \r\n\r\nSETIEndOfData\r\nignored")
    assert reply.lines == (("A", "OK"), ("B~1", "NF"), ("C=D", "Update Error"))
    assert reply.ended


def test_multiline_garbage_line():
    with pytest.raises(CartProtocolError, match="unexpected line"):
        parse_text_reply("SETIResponse\nno equals sign here\nSETIEndOfData")


def test_qoh_results_keep_unknown_texts_and_drop_empty_skus():
    reply = parse_text_reply("SETIResponse\nA=ok\nB=Update Error \n=Update Error \nC=weird\nSETIEndOfData")
    assert parse_qoh_results(reply) == {"A": "OK", "B": "Update Error", "C": "weird"}


@pytest.mark.parametrize("text, kind", [
    ("SETIError: Invalid username, password, or store code.", CartAuthError),
    ("setierror: Invalid Login", CartAuthError),
    ("SETIError: Authentication failed", CartAuthError),
    ("SETIError: Invalid/missing update command: x", CartRejected),
    ("SETIError: Integration has no support for function: frob", CartRejected),
    ("SETIError:", CartRejected),
])
def test_seti_error_text(text, kind):
    with pytest.raises(CartRejected) as info:
        parse_text_reply(text, function="qohreplace")
    assert type(info.value) is kind
    assert info.value.message.startswith("qohreplace: the cart rejected the call: ")


def test_unknown_function_hint():
    with pytest.raises(CartRejected) as info:
        parse_text_reply("SETIError: Integration has no support for function: updatestatus", function="updatestatus")
    assert "does not understand 'updatestatus'" in info.value.hint


@pytest.mark.parametrize("text", ["", "OK", "Response: x", "<SETIResponse>", "SETI Response: x", "\x00\x01"])
def test_not_seti(text):
    with pytest.raises(CartProtocolError, match="not a SETI reply"):
        parse_text_reply(text)


def test_latin1_text_reply_keeps_skus():
    reply = read_text([b"SETIResponse\nCaf\xe9-1=OK\nSETIEndOfData"], function="qohreplace")
    assert reply.lines == (("Café-1", "OK"),)


def test_snippet_escapes_and_cuts():
    assert snippet(b"a\x1b[2Jb\n") == "'a\\x1b[2Jb\\n'"
    assert snippet("x" * 100).endswith("'…")
    assert len(snippet("x" * 100)) == 80 + 3


# --- fuzzing ---------------------------------------------------------------------------------------

@given(st.text())
def test_any_text_parses_or_raises_a_cart_error(text):
    try:
        reply = parse_text_reply(text)
    except (CartProtocolError, CartRejected):
        return
    assert text.lstrip("\ufeff").lstrip().lower().startswith(("setiresponse", "setierror"))
    assert all(k == k.lower() for k in reply.fields)


@given(st.binary(max_size=300))
def test_any_bytes_read_as_text_reply_raise_only_cart_errors(data):
    try:
        read_text([data], function="ordercount")
    except (CartProtocolError, CartRejected):
        pass


KEY = st.text(st.characters(blacklist_characters=";=\r\n", blacklist_categories=("Cs",)),
              min_size=1, max_size=12).filter(str.strip)
VALUE = st.text(st.characters(blacklist_characters=";\r\n", blacklist_categories=("Cs",)), max_size=20)


@given(st.sampled_from(["SETIResponse", "SetiResponse", "SETIRESPONSE"]), st.sampled_from([": ", "=", ":"]),
       st.dictionaries(KEY.map(str.strip).map(str.lower), VALUE.map(str.strip), min_size=1, max_size=5))
def test_key_value_replies_round_trip(prefix, sep, pairs):
    text = prefix + sep + ";".join(f"{k}={v}" for k, v in pairs.items())
    assert dict(parse_text_reply(text).fields) == pairs


SKU = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1, max_size=15)


@given(st.dictionaries(SKU, st.sampled_from(["OK", "NF", "NA", "Err", "Update Error"]), max_size=8),
       st.sampled_from(["\n", "\r\n"]), st.sampled_from(["", " ", "  "]))
def test_qoh_blocks_round_trip(results, newline, trailing):
    lines = [f"{sku}={result}{trailing}" for sku, result in results.items()]
    text = newline.join(["SETIResponse" + trailing, *lines, "SETIEndOfData"])
    parsed = parse_qoh_results(parse_text_reply(text))
    expected = {sku: {"Err": "ERR"}.get(r, r) for sku, r in results.items() if sku}
    assert parsed == expected
