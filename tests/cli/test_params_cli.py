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

    # the Interspire cart now supports status updates (its plugin's capabilities answer says so)
    assert json.loads(seconnect("carts", "show", "Harbor", "--json").output)["capabilities"][
        "status-updates"] == "supported"


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


def test_booleans_take_exactly_the_spellings_the_error_lists(seconnect):
    refused = seconnect("params", "set", "UseStatusUpdates", "maybe")
    listed = refused.output.split("Accepted, in any case: ")[1].split(".")[0]
    spellings = [s for pair in listed.split(", ") for s in pair.split("/")]
    assert spellings == ["true", "false", "yes", "no", "y", "n", "1", "0", "on", "off"]
    for i, spelling in enumerate(spellings):
        for typed in (spelling, spelling.upper()):
            assert seconnect("params", "set", "UseStatusUpdates", typed).exit_code == 0, typed
            expected = "TRUE" if i % 2 == 0 else "FALSE"
            assert seconnect("params", "get", "UseStatusUpdates").output.strip() == expected
    for other in ("ja", "t", "١", "yes please"):
        result = seconnect("params", "set", "UseStatusUpdates", other)
        assert result.exit_code == 2 and "Accepted, in any case: true/false" in result.output


def test_negative_numbers_parse_and_non_ascii_digits_are_refused(seconnect):
    result = seconnect("params", "set", "RequestTimeout", "-5")
    assert result.exit_code == 2 and "RequestTimeout must be between 1 and 600, not -5" in result.output
    result = seconnect("params", "set", "RequestTimeout", "١٢")
    assert result.exit_code == 2 and "whole number (digits 0-9), not '١٢'" in result.output
    assert seconnect("params", "set", "RequestTimeout", "+30").exit_code == 0
    assert seconnect("params", "get", "RequestTimeout").output.strip() == "30"


def test_unset_falls_back_cart_then_global_then_default(seconnect):
    assert add(seconnect).exit_code == 0
    assert seconnect("params", "set", "DownloadBatchSize", "200").exit_code == 0
    assert seconnect("params", "set", "DownloadBatchSize", "25", "--cart", "Harbor").exit_code == 0
    out = seconnect("params", "unset", "downloadbatchsize", "--cart", "Harbor")
    assert out.exit_code == 0 and "DownloadBatchSize for cart 'Harbor' unset; now 200 (from global)." in out.output
    assert seconnect("params", "get", "DownloadBatchSize", "--cart", "Harbor").output.strip() == "200"
    out = seconnect("params", "unset", "DownloadBatchSize")
    assert out.exit_code == 0 and "DownloadBatchSize unset; now 50 (from default)." in out.output
    again = seconnect("params", "unset", "DownloadBatchSize")
    assert again.exit_code == 0 and "had no value of its own; it is 50 (from default)" in again.output
    refused = seconnect("params", "unset", "UseStatusUpdates", "--cart", "Harbor")
    assert refused.exit_code == 2 and "global parameter" in refused.output


def test_unknown_names_get_did_you_mean(seconnect):
    for typed, meant in (("DownloadBatchSise", "DownloadBatchSize"), ("SyncQOH", "SynchQOH"),
                         ("customersearchfeld1", "CustomerSearchField1")):
        for command in (("set", typed, "1"), ("get", typed), ("unset", typed)):
            result = seconnect("params", *command)
            assert result.exit_code == 2 and f"Did you mean {meant}" in result.output, result.output
    assert "Did you mean" not in seconnect("params", "get", "Zzzzzz").output
