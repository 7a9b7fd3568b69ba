"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no exact decimal type and forgets time zones, so money and times are stored in forms
that both backends keep exactly, and converted back on the way out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["Id", "ID_MAX", "Json", "json_text", "Money", "Quantity", "ScaledDecimal", "UTCDateTime", "utcnow"]

#: Surrogate keys: BIGINT on PostgreSQL, but INTEGER on SQLite so the column aliases the rowid
#: and autoincrements (SQLite only does that for the exact type name INTEGER).
Id = BigInteger().with_variant(Integer(), "sqlite")
#: The largest id either backend holds (BIGINT; SQLite's INTEGER is 64-bit too).
ID_MAX = 2**63 - 1

#: JSON documents; Python ``None`` is stored as SQL NULL, not the JSON text ``null``.
Json = JSON(none_as_null=True)


_KNOWN_AMOUNTS = 50_000  # amount texts remembered per scale (see ScaledDecimal.bind_processor)
_KNOWN_UNITS: dict[int, dict[str, int]] = {}
_json_encode = json.JSONEncoder().encode  # what json.dumps does with its default arguments


def json_text(value: Any) -> str:
    """The store's JSON serializer: compact UTF-8 JSON from orjson (about 8x faster than the
    standard encoder; an imported order carries eight or so JSON values), with the empty
    containers most imported rows carry answered without encoding. What orjson refuses
    (non-string keys, integers beyond 64 bits) goes through ``json.dumps`` as before; the
    text differs from ``json.dumps`` only in spacing and escapes, not in the value read back
    (but for a float NaN, which ``json.dumps`` writes as invalid JSON and orjson as null)."""
    if not value and type(value) in (dict, list):
        return "{}" if type(value) is dict else "[]"
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _json_encode(value)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind the store accepts)."""
    return datetime.now(UTC)


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal stored as a BIGINT count of ``10**-scale`` units.

    Floats never appear: values are accepted as ``Decimal``, ``int``, ``str`` (or ``float``,
    read through its shortest decimal repr) and come back as ``Decimal`` with exactly ``scale``
    places.  Extra places are rounded half-up. Sums and comparisons in SQL stay exact because
    they run on integers of the same scale.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 4):
        super().__init__()
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def _to_units(self, value: Any) -> int:
        """Any accepted input to an integer count of units (the careful, slower path)."""
        if isinstance(value, bool):
            raise TypeError("a decimal amount was expected, not a boolean")
        try:
            dec = value if isinstance(value, Decimal) else Decimal(str(value).strip())
            scaled = dec.quantize(self._quantum, rounding=ROUND_HALF_UP).scaleb(self.scale)
            return int(scaled)
        except (InvalidOperation, ValueError, OverflowError) as exc:
            raise ValueError(f"not a decimal amount: {value!r}") from exc

    def bind_processor(self, dialect: Dialect):  # type: ignore[override]
        # A closure instead of process_bind_param: this runs for every amount of every imported
        # order, and the common case (a Decimal with <= scale places) needs no rounding.
        scale, to_units, unit = self.scale, self._to_units, 10 ** self.scale
        # Cart amounts arrive as decimal text and repeat (a product's price on every order of
        # it): each text is converted once per scale and process (bounded: a service runs long).
        known = _KNOWN_UNITS.setdefault(scale, {})

        def process(value: Any) -> int | None:
            if value is None:
                return None
            if type(value) is int:  # quantities
                return value * unit
            if type(value) is str:
                units = known.get(value)
                if units is not None:
                    return units
                try:
                    amount = Decimal(value)
                except InvalidOperation:
                    return to_units(value)  # raises the clear error
                units = process(amount)
                if len(known) >= _KNOWN_AMOUNTS:
                    known.clear()
                known[value] = units
                return units
            if type(value) is Decimal and value.is_finite():
                scaled = value.scaleb(scale)
                units = int(scaled)
                if units == scaled:
                    return units
            return to_units(value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object):  # type: ignore[override]
        scale = -self.scale

        def process(value: Any) -> Decimal | None:
            return None if value is None else Decimal(int(value)).scaleb(scale)

        return process

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return "NULL" if value is None else str(self._to_units(value))

    @property
    def python_type(self) -> type:
        return Decimal


class Money(ScaledDecimal):
    """Currency amounts to ten-thousandths (4 places), exact on every backend."""

    cache_ok = True


class Quantity(ScaledDecimal):
    """Quantities and weights that may be fractional (2.5 kg, 0.25 yd), exact to 4 places."""

    cache_ok = True


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC, always returned timezone-aware.

    Naive datetimes are refused: guessing their zone is how imports end up hours off. SQLite
    stores the UTC wall time as text (it sorts correctly because every value is UTC);
    PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect):  # type: ignore[override]
        sqlite = dialect.name == "sqlite"

        def process(value: Any) -> datetime | str | None:
            if value is None:
                return None
            if not isinstance(value, datetime):
                raise TypeError(f"a datetime was expected, not {type(value).__name__}")
            if value.tzinfo is not UTC:
                if value.tzinfo is None or value.utcoffset() is None:
                    raise ValueError("naive datetime given to the store; attach a time zone (e.g. UTC) first")
                value = value.astimezone(UTC)
            if sqlite:
                # The text SQLAlchemy's SQLite DateTime writes, but via the C isoformat: several
                # times faster, and every imported order carries three or more timestamps.
                return value.isoformat(" ", "microseconds")[:-6]  # drop "+00:00"
            return value

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type:
        return datetime
