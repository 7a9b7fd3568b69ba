"""Text and XML helpers shared by both profiles.

Money is carried as integer cents everywhere in the sandbox so that every figure in a reply
is exact and reproducible; these helpers turn cents into the strings each profile emits,
including the PHP quirks the Interspire module shows (``number_format`` with a thousands
separator, ``htmlentities`` output pasted into XML).
"""

from __future__ import annotations

import re
from html.entities import codepoint2name

# PHP htmlentities() with ENT_QUOTES and the HTML 4.01 table: every character that has a
# named entity becomes that entity; characters without one (CJK, emoji) pass through.
_HTML_ENTITIES = {cp: f"&{name};" for cp, name in codepoint2name.items()}
_HTML_ENTITIES[ord("'")] = "&#039;"

_LEADING_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)")


def esc(text: object) -> str:
    """Escape text content for XML (attributes are never used in SETI documents).

    Written as membership tests plus ``replace`` because most values need no escaping and
    this runs a few dozen times per rendered order (``str.translate`` is 5x slower)."""
    if text.__class__ is not str:
        text = str(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def el(tag: str, text: object) -> str:
    """One leaf element with escaped text."""
    return f"<{tag}>{esc(text)}</{tag}>"


def htmlentities(text: str) -> str:
    """What PHP's htmlentities() makes of ``text`` (ENT_QUOTES, HTML 4.01 names)."""
    return text.translate(_HTML_ENTITIES)


def money(cents: int, thousands: bool = False) -> str:
    """Cents as a 2-decimal string; ``thousands`` adds PHP number_format's comma groups.

    ``cents / 100`` is never far enough from the decimal value to round the wrong way for any
    amount below 10**13, so float formatting is exact here (and 3x faster than divmod)."""
    return f"{cents / 100:,.2f}" if thousands else f"{cents / 100:.2f}"


def php_float_prefix(text: str) -> float:
    """PHP's numeric reading of a string: the leading number, so ``"1,234.50"`` gives 1.0."""
    match = _LEADING_NUMBER.match(text)
    return float(match.group(0)) if match else 0.0


def to_cents(value: float) -> int:
    """Round half away from zero, as PHP's number_format does."""
    scaled = abs(value) * 100
    cents = int(scaled + 0.5 + 1e-9)
    return -cents if value < 0 else cents


def decimal_text(hundredths: int) -> str:
    """A weight/dimension in hundredths printed the way PHP prints a float (``1.5``, ``2``)."""
    text = money(hundredths)
    text = text.rstrip("0").rstrip(".")
    return text or "0"


def fixed2(hundredths: int) -> str:
    """A weight/dimension in hundredths with exactly 2 decimals (``1.50``)."""
    return money(hundredths)


def xml_doc(root: str, code: int, description: str, records: list[bytes] | None = None) -> bytes:
    """A complete compact SETI document: Response block first, records as siblings."""
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><{root}><Response><ResponseCode>{code}</ResponseCode>'
        f"<ResponseDescription>{esc(description)}</ResponseDescription></Response>"
    ).encode()
    tail = f"</{root}>".encode()
    if not records:
        return head + tail
    return b"".join((head, *records, tail))
