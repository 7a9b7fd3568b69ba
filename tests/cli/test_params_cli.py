"""System parameters through the CLI."""

from __future__ import annotations

import json

from cli_helpers import add


def test_set_get_list_global_and_cart(seconnect):
    assert add(seconnect).exit_code == 0
    assert seconnect("params", "get", "UseGenericStatusUpdates", "--cart", "Harbor").output.strip() == "FALSE"
    out = seconnect("params", "set", "usegenericstatusupdates", "true", "--cart", "Harbor")
    assert out.exit_code == 0 and "UseGenericStatusUpdates = TRUE for cart 'Harbor'" in out.output
    assert seconnect("params", "get", "UseGenericStatusUpdates", "--cart", "Harbor").output.strip() == "TRUE"
    assert seconnect("params", "get", "UseGenericStatusUpdates").output.strip() == "FALSE"

    # a global value of a cart-based parameter is every cart's fallback
    assert seconnect("params", "set", "DownloadBatchSize", "200").exit_code == 0
    rows = {r["name"]: r for r in json.loads(seconnect("params", "list", "--cart", "Harbor", "--json").output)}
    assert rows["DownloadBatchSize"]["value"] == "200" and rows["DownloadBatchSize"]["source"] == "global"
    assert rows["UseGenericStatusUpdates"]["source"] == "cart"
    assert rows["CustomerSearchField1"]["value"] == "Email" and rows["CustomerSearchField2"]["value"] == "Phone"
    assert seconnect("params", "set", "DownloadBatchSize", "25", "--cart", "Harbor").exit_code == 0
    assert seconnect("params", "get", "DownloadBatchSize", "--cart", "Harbor").output.strip() == "25"

    assert seconnect("params", "set", "CustomerSearchField3", "phone - no formatting").exit_code == 0
    assert seconnect("params", "get", "CustomerSearchField3").output.strip() == "Phone - No Formatting"

    # shown in carts show
    assert json.loads(seconnect("carts", "show", "Harbor", "--json").output)["capabilities"][
        "status-updates"].startswith("generic")


def test_bad_parameters_are_refused(seconnect, db_url):
    assert add(seconnect).exit_code == 0
    before = seconnect("params", "list", "--cart", "Harbor", "--json").output
    cases = [
        (("params", "set", "NoSuchParam", "1"), "unknown system parameter 'NoSuchParam'", "UseStatusUpdates"),
        (("params", "set", "UseStatusUpdates", "maybe"), "UseStatusUpdates is TRUE or FALSE, not 'maybe'", ""),
        (("params", "set", "DownloadBatchSize", "0", "--cart", "Harbor"), "between 1 and 1000", ""),
        (("params", "set", "DownloadBatchSize", "ten"), "whole number", ""),
        (("params", "set", "CustomerSearchField1", "Fax"), "cannot be 'Fax'", "Name, Address, Zip"),
        (("params", "set", "UseStatusUpdates", "TRUE", "--cart", "Harbor"), "global parameter", ""),
        (("params", "get", "Bogus"), "unknown system parameter", ""),
        (("params", "set", "SubSKUDelimiter", "a\nb"), "line breaks", ""),
    ]
    for args, message, hint in cases:
        result = seconnect(*args)
        assert result.exit_code == 2, result.output
        assert message in result.output and hint in result.output
        assert "Traceback" not in result.output
    assert seconnect("params", "list", "--cart", "Harbor", "--json").output == before
