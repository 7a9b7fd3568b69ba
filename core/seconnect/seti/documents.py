"""Streaming, safe parsing of SETI XML documents (``SETIOrders`` / ``SETIProducts`` /
``SETICustomers`` and Interspire's ``SETIError``; protocol sections 2.2, 3.3-3.7, 6.6).

Memory stays flat in document size: bytes are pushed into lxml's pull parser as they arrive,
each record is converted when its end tag is read, then cleared and unlinked.

Safety comes from lxml itself (no DTD loading, no network, entities never resolved) plus one
rule: a document with a DOCTYPE is refused. SETI documents never carry one, and refusing it
rules out external entities and entity-expansion bombs whatever the parser version.

Tolerance comes from a thin clean-up step in front of the parser, for what real carts send:
Interspire runs ``htmlentities`` before building XML, so ``&eacute;`` / ``&nbsp;`` arrive as
undefined entities (section 6.6-9); they become the characters they name. Bytes that are not
valid in the declared encoding become U+FFFD, as do control characters XML forbids; a stray
``&`` becomes a literal ampersand. CDATA sections pass through untouched.
"""

from __future__ import annotations

import codecs
import html.entities
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..errors import CartProtocolError
from .records import build_customer, build_order, build_product, build_qoh, local, text_of
from .replies import rejection, snippet

__all__ = ["DocumentKind", "KINDS", "iter_document", "clean_xml_chunks"]


@dataclass(frozen=True)
class DocumentKind:
    root: str
    record: str
    build: Callable[[etree._Element, str], dict[str, Any]]


KINDS = {
    "orders": DocumentKind("SETIOrders", "Order", build_order),
    "products": DocumentKind("SETIProducts", "Product", build_product),
    "qoh": DocumentKind("SETIProducts", "Product", build_qoh),
    "customers": DocumentKind("SETICustomers", "Customer", build_customer),
}
_SETI_ROOTS = frozenset(k.root.lower() for k in KINDS.values()) | {"setierror"}

# Parser settings that keep lxml from touching anything outside the reply.
_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False,
         "huge_tree": False, "remove_comments": True, "remove_pis": True}


# --- byte clean-up --------------------------------------------------------------------------------

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_REF = re.compile(r"&(?:#([0-9]{1,8}|[xX][0-9a-fA-F]{1,8});|([A-Za-z][A-Za-z0-9]{0,31});)?")
_REF_OR_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>|" + _REF.pattern, re.DOTALL)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CDATA_OPEN = "<![CDATA["
_MAX_REF = 42  # longest reference the regexes accept, for holding back a split one


def _legal_char(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD \
        or 0x10000 <= code <= 0x10FFFF


def _fix_ref(m: re.Match[str]) -> str:
    whole = m.group(0)
    if whole.startswith("<"):
        return whole  # a CDATA section
    number, name = m.group(1), m.group(2)
    if number is not None:
        code = int(number[1:], 16) if number[0] in "xX" else int(number)
        return whole if _legal_char(code) else "&#xFFFD;"
    if name is None:
        return "&amp;"
    if name in _XML_ENTITIES:
        return whole
    chars = html.entities.html5.get(name + ";")
    if chars is None:
        return f"&amp;{name};"  # unknown name: keep the text as sent
    return "".join(f"&#{ord(c)};" for c in chars)


def _clean(text: str) -> str:
    if "&" in text:
        text = (_REF_OR_CDATA if _CDATA_OPEN in text else _REF).sub(_fix_ref, text)
    return _ILLEGAL.sub("\ufffd", text)


def _safe_cut(text: str) -> int:
    """Where to split ``text`` so that no reference or CDATA section is cut in two."""
    cut = len(text)
    cdata = text.rfind(_CDATA_OPEN)
    if cdata != -1 and text.find("]]>", cdata) == -1:
        cut = cdata
    lt = text.rfind("<", max(0, cut - len(_CDATA_OPEN)), cut)
    if lt != -1 and _CDATA_OPEN.startswith(text[lt:cut]):
        cut = lt
    amp = text.rfind("&", max(0, cut - _MAX_REF), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    m = _DECL_ENCODING.match(head)
    if m:
        try:
            name = codecs.lookup(m.group(1).decode("ascii")).name
        except LookupError:
            return "utf-8"
        # A UTF-16 declaration on a document without a BOM is not believable; read UTF-8.
        return "utf-8" if name.startswith("utf-16") or name.startswith("utf-32") else name
    return "utf-8"


def clean_xml_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-encode a reply as clean UTF-8 (see the module docstring), chunk by chunk."""
    pending = b""
    decoder = None
    carry = ""
    started = False  # whitespace before the XML declaration (a blank line before "<?php") is dropped
    for chunk in chunks:
        if decoder is None:
            pending += chunk
            if len(pending) < 256 and b"?>" not in pending:
                continue
            decoder = codecs.getincrementaldecoder(_sniff_encoding(pending))("replace")
            chunk, pending = pending, b""
        text = carry + decoder.decode(chunk)
        if not started:
            text = text.lstrip()
            started = bool(text)
        cut = _safe_cut(text)
        carry = text[cut:]
        if cut:
            yield _clean(text[:cut]).encode("utf-8")
    if decoder is None:
        decoder = codecs.getincrementaldecoder(_sniff_encoding(pending))("replace")
    tail = carry + decoder.decode(pending, True)
    if not started:
        tail = tail.lstrip()
    if tail:
        yield _clean(tail).encode("utf-8")


# --- the document --------------------------------------------------------------------------------

class _Reader:
    """Follows one document's events: checks the root, reads Response, converts records."""

    def __init__(self, kind: DocumentKind | None, function: str, head: bytearray):
        self.kind = kind
        self.function = function
        self.head = head
        self.root: str | None = None
        self.code: int | None = None
        self.description = ""
        self.count = 0

    def fail(self, message: str, hint: str | None = None) -> CartProtocolError:
        return CartProtocolError(f"{self.function}: {message}: {snippet(bytes(self.head))}", hint=hint)

    def check_root(self, root: etree._Element) -> None:
        if root.getroottree().docinfo.doctype:
            raise self.fail("the XML reply declares a DTD, which SETI replies never do; refused",
                            hint="A proxy or the web server may be answering instead of the cart's script.")
        name = local(root) or ""
        self.root = name
        low = name.lower()
        if low not in _SETI_ROOTS:
            raise self.fail(f"the XML reply is not a SETI document (root <{name}>)")
        if self.kind is not None and low not in (self.kind.root.lower(), "setierror"):
            raise self.fail(f"expected a {self.kind.root} document, got <{name}>")

    def response(self, el: etree._Element) -> None:
        code_text = description = None
        for child in el:
            low = (local(child) or "").lower()
            if low == "responsecode":
                code_text = text_of(child)
            elif low == "responsedescription":
                description = text_of(child)
        self.description = description or ""
        if code_text not in ("1", "2", "3"):
            raise self.fail(f"{self.root}/Response has ResponseCode {code_text!r}, expected 1, 2 or 3")
        self.code = int(code_text)
        if self.code == 3 or (self.root or "").lower() == "setierror":
            raise rejection(self.description, function=self.function)

    def events(self, events: Iterable[tuple[str, etree._Element]]) -> Iterator[dict[str, Any]]:
        for event, el in events:
            if event == "start":
                if self.root is None:
                    self.check_root(el.getroottree().getroot())
                continue
            parent = el.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the root itself, or a same-named element deeper down
            if (local(el) or "").lower() == "response":
                self.response(el)
            elif self.kind is not None and (self.root or "").lower() != "setierror":
                if self.code is None:
                    raise self.fail(f"{self.root} has a {self.kind.record} before its Response block")
                self.count += 1
                yield self.kind.build(el, f"{self.root}/{self.kind.record}[{self.count}]")
            el.clear()
            while el.getprevious() is not None:
                del parent[0]

    def finish(self, root: etree._Element | None) -> None:
        if self.root is None and root is not None:
            self.check_root(root)
        if self.code is None:
            if (self.root or "").lower() == "setierror" and root is not None:
                raise rejection(text_of(root) or "", function=self.function)
            raise self.fail(f"{self.root} has no Response/ResponseCode")
        if self.kind is None:
            raise self.fail(f"expected a text SETIResponse, got a {self.root} document")


def iter_document(chunks: Iterable[bytes], *, kind: str | None, function: str) -> Iterator[dict[str, Any]]:
    """Yield the records of a SETI document as they are read.

    ``kind`` is a key of :data:`KINDS`; ``None`` means the function expects a text reply, so only
    an error document (SETIError or ResponseCode 3) is meaningful. Raises CartRejected /
    CartAuthError for error documents and CartProtocolError for anything that is not a SETI
    document of the expected kind.
    """
    spec = KINDS[kind] if kind is not None else None
    tags = ["{*}Response"] + ([f"{{*}}{spec.record}"] if spec else [])
    parser = etree.XMLPullParser(events=("start", "end"), tag=tags, encoding="utf-8", **_SAFE)
    head = bytearray()
    reader = _Reader(spec, function, head)

    def remember(raw: Iterable[bytes]) -> Iterator[bytes]:
        """Keeps the first bytes for error messages (snippet shows 80 and marks a cut)."""
        for chunk in raw:
            if len(head) < 120:
                head.extend(chunk[: 120 - len(head)])
            yield chunk

    try:
        for data in clean_xml_chunks(remember(chunks)):
            parser.feed(data)
            yield from reader.events(parser.read_events())
        root = parser.close()
        yield from reader.events(parser.read_events())
    except etree.XMLSyntaxError as exc:
        raise reader.fail(f"the XML reply is malformed or cut short ({exc.msg})",
                          hint="The script may have crashed or the connection dropped mid-reply; "
                               "if it repeats, lower the batch size.") from None
    reader.finish(root)
