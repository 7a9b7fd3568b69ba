"""Whole-number values typed on the command line (quantities, ids), shared by every command.

Python's ``int()`` also reads '١٢٣', '１２３' and '1_000'; a merchant's script typing those has a
bug, so only ASCII digits with an optional sign are taken. Ranges are what the store holds, so
an out-of-range value is refused here with the range instead of failing deep in the database.
"""

from __future__ import annotations

import re
from typing import Any

import click

from ..inventory import QOH_LIMIT
from ..store.types import ID_MAX

__all__ = ["WholeNumber", "ID", "QUANTITY", "DELTA"]

_DIGITS = re.compile(r"[+-]?[0-9]+")


class WholeNumber(click.ParamType):
    """A whole number in ``minimum..maximum``, written in ASCII digits."""

    name = "integer"

    def __init__(self, minimum: int, maximum: int, what: str):
        self.minimum, self.maximum, self.what = minimum, maximum, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not _DIGITS.fullmatch(text):
                self.fail(f"{value!r} is not a whole number (digits 0-9, e.g. 12 or -3).", param, ctx)
            number = int(text)
        if not self.minimum <= number <= self.maximum:
            self.fail(f"{number} is out of range: {self.what} is between {self.minimum:,} and {self.maximum:,}.",
                      param, ctx)
        return number


#: A row id of any table (customers, outbox, quarantine…).
ID = WholeNumber(1, ID_MAX, "an id")
#: A quantity on hand set by hand: a count, never negative (stock goes below 0 only by sales and
#: adjustments, as an oversold item).
QUANTITY = WholeNumber(0, QOH_LIMIT, "a quantity")
#: A signed change to a quantity on hand.
DELTA = WholeNumber(-QOH_LIMIT, QOH_LIMIT, "a change of quantity")
