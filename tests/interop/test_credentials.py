"""Issue 13-5: the ways scripts word a rejected login all mean exit 15, said once."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from seconnect.cli import build_cli
from seconnect.errors import CartAuthError, CartRejected
from seconnect.seti import read_records
from seconnect.seti.reader import read_text

from .replay import ReplayCart

WORDINGS = [
    (b"SETIError: User does not have access to store.", "User does not have access to store."),
    (b"SETIError: Invalid username, password, or store code.", "Invalid username, password, or store code."),
    (b'<?xml version="1.0" encoding="UTF-8" ?><SETIError><Response><ResponseCode>3</ResponseCode>'
     b"<ResponseDescription>Error: Either the username or password was invalid.</ResponseDescription>"
     b"</Response></SETIError>", "Either the username or password was invalid."),
    (b'<?xml version="1.0"?><SETIOrders><Response><ResponseCode>3</ResponseCode><ResponseDescription>Access '
     b"denied for this user</ResponseDescription></Response></SETIOrders>", "Access denied for this user"),
    (b"SETIError: Invalid username, password, or store code.\r\nSETIError: Invalid username, password, or "
     b"store code.", "Invalid username, password, or store code."),
]


@pytest.mark.parametrize(("body", "said"), WORDINGS)
def test_rejected_logins_are_credential_errors_said_once(body, said):
    for call in (lambda: read_text([body], function="ordercount"),
                 lambda: read_records([body], function="downloadorders", kind="orders")):
        with pytest.raises(CartAuthError) as failed:
            call()
        assert failed.value.exit_code == 15
        assert failed.value.message.endswith(f"the cart rejected the call: {said}")
        assert "Error:" not in failed.value.message


@pytest.mark.parametrize("body", [b'SETIError: Function "frobnicate" was not found.', b"SETIError: Out of stock",
                                  b"SETIError: No lastorder field received."])
def test_other_rejections_stay_rejections(body):
    with pytest.raises(CartRejected) as failed:
        read_text([body], function="ordercount")
    assert not isinstance(failed.value, CartAuthError)


def test_carts_test_exits_15_with_the_message_once(db_url, tmp_path):
    body, said = WORDINGS[0]
    with ReplayCart({"ordercount": [body]}, tmp_path) as replay:
        run = CliRunner()
        added = run.invoke(build_cli(), ["--db", db_url, "carts", "add", "Mage", "--type", "Generic", "--user", "u",
                                         "--script-url", replay.script_url, "--ca-bundle", str(replay.ca_file),
                                         "--password-stdin"], input="pw\n")
        assert added.exit_code == 0, added.output
        result = run.invoke(build_cli(), ["--db", db_url, "carts", "test", "Mage", "--check-credentials"])
    assert result.exit_code == 15, result.output
    assert result.output.count(said) == 1 and "Error: SETIError" not in result.output
