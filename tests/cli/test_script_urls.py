"""Script URLs: only host[:port]/path[?query] over HTTPS is stored; anything else is refused with
a message that shows the accepted form, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from cli_helpers import add, dump_db

from seconnect.carts import normalize_script_url
from seconnect.errors import UsageError

FORM = "host[:port]/path[?query]"


@pytest.mark.parametrize(("typed", "stored"), [
    ("shop.example.com/seti.php?action=process&x=1", "shop.example.com/seti.php?action=process&x=1"),
    ("https://shop.example.com/seti.php?a=1#top", "shop.example.com/seti.php?a=1"),
    ("HTTPS://Shop.Example.com/s.php", "Shop.Example.com/s.php"),
    ("localhost:8443/seti.php", "localhost:8443/seti.php"),
    ("127.0.0.1:9/seti/stoneedge.php", "127.0.0.1:9/seti/stoneedge.php"),
    ("[::1]:8443/s.php", "[::1]:8443/s.php"),
    ("bücher.example/seti.php", "bücher.example/seti.php"),
])
def test_accepted_forms(typed, stored):
    assert normalize_script_url(typed) == stored


@pytest.mark.parametrize(("typed", "fragment"), [
    ("http:/127.0.0.1/x", "must not use http://"),
    ("HTTP://127.0.0.1/x", "must not use http://"),
    ("mailto:x@y", "is not a web address of a script: it starts with 'mailto:'"),
    ("https:/shop.example.com/x", "https must be followed by '://'"),
    ("ftp://host/x", "unsupported scheme: 'ftp'"),
    ("https://user:pw@host/x", "must not carry a user name or password"),
    ("host:99999/x", "invalid port: 99999"),
    ("host:0/x", "invalid port: 0"),
    ("ho%20st/x", "invalid host name or port"),
    ("-shop-.example.com/x", "invalid host name or port"),
    ("shop.example.com", "has no path to the script"),
    ("https://", "has no host name"),
])
def test_refused_forms_name_the_accepted_one(typed, fragment):
    with pytest.raises(UsageError) as caught:
        normalize_script_url(typed)
    assert fragment in caught.value.message
    assert FORM in (caught.value.hint or "") or "user name" in fragment


def test_cli_refuses_and_stores_nothing(seconnect, db_url):
    assert seconnect("carts", "list").exit_code == 0  # creates the store
    before = dump_db(db_url)
    for url in ("http:/127.0.0.1/x", "mailto:x@y"):
        result = add(seconnect, "X", url=url)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert FORM in result.output, result.output
    assert dump_db(db_url) == before
    assert add(seconnect, "X", url="https://127.0.0.1:8443/x?y=1").exit_code == 0
    assert json.loads(seconnect("carts", "show", "X", "--json").output)["settings"]["script_url"] == "127.0.0.1:8443/x?y=1"
