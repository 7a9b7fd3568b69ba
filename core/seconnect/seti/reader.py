"""Decide what a reply body is — SETI text, SETI XML, an HTML page, nothing — and parse it.

Scripts answer every function with HTTP 200 (section 1), so the body alone says whether the call
worked: a download may come back as ``SETIError: …`` text, a count as Interspire's ``SETIError``
XML document, and a misconfigured URL as a login page or PHP warnings. Each case gets its own
error, with the first bytes shown, so the merchant can tell them apart.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import CartProtocolError
from .documents import KINDS, iter_document
from .replies import TextReply, parse_text_reply, snippet

__all__ = ["read_text", "read_records"]

_SKIP = b"\xef\xbb\xbf \t\r\n"
_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body|title|meta|script|br|b|p|div|h[1-6]|pre)\b",
                   re.IGNORECASE)
_PEEK = 96  # enough to show ~80 bytes in messages and to tell HTML from XML


def _peek(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first significant bytes (BOM and whitespace skipped) and the full stream again."""
    it = iter(chunks)
    seen: list[bytes] = []
    head = b""
    for chunk in it:
        seen.append(chunk)
        head = (head + chunk).lstrip(_SKIP)[:_PEEK]
        if len(head) >= _PEEK:
            break
    return head, itertools.chain(seen, it)


def _decode(data: bytes) -> str:
    """Text replies echo SKUs; a Latin-1 script's bytes are read as such rather than mangled."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _reject_unusable(head: bytes, function: str) -> None:
    if not head:
        raise CartProtocolError(
            f"{function}: the cart's script sent an empty reply",
            hint="Check the Script URL, query string included, against the cart type's example "
                 "(`seconnect carts types`; some scripts answer an empty page to a wrong parameter), "
                 "and the web server's error log.")
    if _HTML.match(head):
        raise CartProtocolError(
            f"{function}: the reply is an HTML page, not a SETI reply: {snippet(head)}",
            hint="The Script URL leads to a web page (login, error page or PHP warnings) instead of the "
                 "integration script: verify it matches the URL on the cart's Stone Edge settings page.")


def read_text(chunks: Iterable[bytes], *, function: str) -> TextReply:
    """A reply to a text function (counts, version, inventory, status)."""
    head, stream = _peek(chunks)
    _reject_unusable(head, function)
    if head.startswith(b"<"):
        for _ in iter_document(stream, kind=None, function=function):
            pass
        raise AssertionError("iter_document(kind=None) always raises")  # pragma: no cover
    return parse_text_reply(_decode(b"".join(stream)), function=function)


def read_records(chunks: Iterable[bytes], *, function: str, kind: str) -> list[dict[str, Any]]:
    """A reply to a download function: the records of its XML document."""
    head, stream = _peek(chunks)
    _reject_unusable(head, function)
    if not head.startswith(b"<"):
        text = _decode(b"".join(stream))
        parse_text_reply(text, function=function)  # raises for SETIError and for non-SETI text
        raise CartProtocolError(f"{function}: expected a {KINDS[kind].root} XML document, got a text "
                                f"reply: {snippet(text)}")
    return list(iter_document(stream, kind=kind, function=function))
