"""Numbers typed on the command line: out-of-range or non-ASCII ones are refused clearly (exit 2,
no traceback) and nothing is stored; both store backends."""

from __future__ import annotations

import pytest

from seconnect.errors import UsageError
from seconnect.inventory import QOH_LIMIT, adjust_quantity

from .helpers import Cli, add_product, changes, qoh

HUGE = "9223372036854775808"  # 2**63: past every integer column


@pytest.mark.parametrize(("args", "fragment"), [
    (("inventory", "set", "LNT-100", HUGE), "out of range: a quantity is between 0 and 1,000,000,000"),
    (("inventory", "set", "LNT-100", "-5"), "out of range: a quantity is between 0 and 1,000,000,000"),
    (("inventory", "set", "LNT-100", "١٢٣"), "is not a whole number (digits 0-9"),
    (("inventory", "set", "LNT-100", "１２"), "is not a whole number (digits 0-9"),
    (("inventory", "set", "LNT-100", "1_000"), "is not a whole number (digits 0-9"),
    (("inventory", "adjust", "LNT-100", HUGE), "a change of quantity is between -1,000,000,000 and"),
    (("inventory", "adjust", "LNT-100", "-" + HUGE), "a change of quantity is between -1,000,000,000 and"),
    (("inventory", "adjust", "LNT-100", "+٣"), "is not a whole number"),
    (("customers", "show", "99999999999999999999999"), "out of range: an id is between 1 and"),
    (("customers", "show", "0"), "out of range: an id is between 1 and"),
    (("outbox", "retry", HUGE), "out of range: an id is between 1 and 9,223,372,036,854,775,807"),
    (("quarantine", "retry", "1", HUGE), "out of range: an id is between 1 and"),
    (("quarantine", "retry", "٣"), "is not a whole number"),
])
def test_bad_numbers_are_refused_before_anything_is_stored(store, db_url, args, fragment):
    add_product(store, "LNT-100", 10)
    result = Cli(db_url)(*args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output
    assert qoh(store, "LNT-100") == 10 and changes(store, "LNT-100") == []


def test_signed_and_padded_numbers_still_parse(store, db_url):
    add_product(store, "LNT-100", 10)
    cli = Cli(db_url)
    assert cli("inventory", "adjust", "LNT-100", "+5").exit_code == 0
    assert cli("inventory", "adjust", "LNT-100", "-20").exit_code == 0  # oversold: below 0 is allowed
    assert qoh(store, "LNT-100") == -5
    assert cli("inventory", "set", "LNT-100", str(QOH_LIMIT)).exit_code == 0
    assert qoh(store, "LNT-100") == QOH_LIMIT


def test_an_adjustment_past_the_limit_is_refused_and_nothing_stored(store, plugins, db_url):
    add_product(store, "LNT-100", QOH_LIMIT - 1)
    result = Cli(db_url)("inventory", "adjust", "LNT-100", "2")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "LNT-100: a quantity of 1000000001 is out of range (at most 1,000,000,000 either way)" in result.output
    with pytest.raises(UsageError, match="out of range"), store.begin() as conn:
        adjust_quantity(conn, plugins, "LNT-100", QOH_LIMIT)
    assert qoh(store, "LNT-100") == QOH_LIMIT - 1 and changes(store, "LNT-100") == []
