"""Talking to a sandbox the way SEOM does: form-encoded POSTs over verified HTTPS."""

from __future__ import annotations

import re
import ssl
import xml.etree.ElementTree as ET
from html.entities import name2codepoint

import httpx

from seconnect.sandbox import Sandbox

_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_NAMED = re.compile(rb"&([A-Za-z][A-Za-z0-9]*);")


def lenient_xml(body: bytes) -> ET.Element:
    """Parse a reply, first turning HTML named entities (Interspire's htmlentities bug) into
    character references, as a tolerant client has to."""
    def fix(match: re.Match) -> bytes:
        name = match.group(1).decode()
        if name in _XML_ENTITIES or name not in name2codepoint:
            return match.group(0)
        return f"&#{name2codepoint[name]};".encode()
    return ET.fromstring(_NAMED.sub(fix, body))


def trust(sb: Sandbox) -> ssl.SSLContext:
    """Verify against the sandbox's own CA, as a cart defined with ``--ca-bundle`` does."""
    return ssl.create_default_context(cafile=sb.ca_file)


class Seti:
    """A SETI caller bound to one sandbox (its own keep-alive httpx client)."""

    def __init__(self, sb: Sandbox):
        self.sb = sb
        self.http = httpx.Client(verify=trust(sb), timeout=10)

    def close(self) -> None:
        self.http.close()

    def raw(self, url: str | None = None, **fields: str) -> httpx.Response:
        return self.http.post(url or self.sb.url, data=fields)

    def call(self, function: str, **fields: str | None) -> httpx.Response:
        data = {"setifunction": function, "setiuser": self.sb.user, "password": self.sb.password,
                "code": self.sb.store_code, "omversion": "6.000", **fields}
        return self.http.post(self.sb.url, data={k: v for k, v in data.items() if v is not None})

    def text(self, function: str, **fields: str | None) -> str:
        reply = self.call(function, **fields)
        assert reply.status_code == 200, reply.text
        return reply.text

    def xml(self, function: str, **fields: str | None) -> ET.Element:
        reply = self.call(function, **fields)
        assert reply.status_code == 200, reply.text
        return lenient_xml(reply.content)

    def all_records(self, function: str, tag: str, batch: int = 7, **fields: str) -> list[ET.Element]:
        """Page through a download with ``startnum``/``batchsize`` until code 2."""
        out: list[ET.Element] = []
        start = 1
        while True:
            root = self.xml(function, startnum=str(start), batchsize=str(batch), **fields)
            code = root.findtext("Response/ResponseCode")
            if code == "2":
                return out
            assert code == "1", ET.tostring(root)
            page = root.findall(tag)
            assert 0 < len(page) <= batch
            out.extend(page)
            start += batch


def response_code(root: ET.Element) -> str | None:
    return root.findtext("Response/ResponseCode")


def money(text: str) -> int:
    """Cents from a money string, thousands separators allowed."""
    whole, _, frac = text.replace(",", "").partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))
