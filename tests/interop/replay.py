"""A replay cart: canned SETI replies served over real HTTPS on loopback.

Reply fixtures written from the facts in seti-protocol.md stand in for other scripts' replies.
Download functions serve their documents' records as one data set, paged by ``startnum`` and
``batchsize`` as a script does (``lastorder`` is ignored, as by scripts that select by date), so
any sequence of requests gets consistent answers; a reply that is not such a document (an HTML
page) is served as is. Other functions answer each call with their next reply (the last one
repeats); a function with no replies gets ``SETIError``. Count functions are answered from the
number of records unless given. ``forms`` holds each request's fields. A uniquely named module:
conftest names collide.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from seconnect.sandbox.certs import server_context

FIXTURES = Path(__file__).parent / "fixtures"
_COUNTS = {"ordercount": ("downloadorders", "Order", "ordercount"),
           "getproductscount": ("downloadprods", "Product", "itemcount"),
           "getcustomerscount": ("downloadcustomers", "Customer", "itemcount")}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class ReplayCart:
    def __init__(self, replies: dict[str, list[bytes] | bytes], tmp_path: Path, *, version: str = "1.000"):
        self.replies = {k: list(v) if isinstance(v, list) else [v] for k, v in replies.items()}
        self.replies.setdefault("sendversion", [f"SETIResponse: version={version}".encode()])
        for count, (download, record, key) in _COUNTS.items():
            if download in self.replies and count not in self.replies:
                total = sum(len(re.findall(rf"<{record}[\s>/]".encode(), r)) for r in self.replies[download])
                self.replies[count] = [f"SETIResponse: {key}={total}".encode()]
        self.forms: list[dict[str, str]] = []
        cart = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                cart.forms.append(form)
                function = form.get("setifunction", "")
                queue = cart.replies.get(function)
                reply = _page(function, queue, form) if queue else None
                if reply is None:
                    reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else b"SETIError: unknown function"
                self.send_response(200)
                self.send_header("Content-Type", "text/xml" if reply.lstrip().startswith(b"<") else "text/html")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        context, self.ca_file = server_context(tmp_path, "127.0.0.1")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.script_url = f"https://127.0.0.1:{self._server.server_address[1]}/stone-edge"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ReplayCart:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, function: str) -> list[dict[str, str]]:
        return [f for f in self.forms if f.get("setifunction") == function]


_RECORDS = {"downloadorders": b"Order", "downloadprods": b"Product", "downloadcustomers": b"Customer",
            "downloadqoh": b"Product"}


def _records(reply: bytes, tag: bytes) -> list[bytes]:
    return re.findall(rb"<%s\s*/>|<%s(?:\s[^>]*)?>.*?</%s>" % (tag, tag, tag), reply, re.S)


def _page(function: str, replies: list[bytes], form: dict[str, str]) -> bytes | None:
    """The records ``startnum``.. of every reply of a download function, in the first reply's
    envelope (ResponseCode 2, no data, past the end); None when the replies are not documents."""
    tag = _RECORDS.get(function)
    if tag is None or not all(r.lstrip().startswith(b"<?xml") for r in replies):
        return None
    records = [rec for r in replies for rec in _records(r, tag)]
    first = next((r for r in replies if _records(r, tag)), replies[0])
    found = _records(first, tag)
    head = first[:first.index(found[0])] if found else first[:first.rindex(b"</")]
    tail = first[first.rindex(found[-1]) + len(found[-1]):] if found else first[first.rindex(b"</"):]
    start, size = int(form.get("startnum") or 1), int(form.get("batchsize") or len(records) or 1)
    chosen = records[start - 1:start - 1 + size]
    if not chosen:
        head = re.sub(rb"<ResponseCode>\d+</ResponseCode>", b"<ResponseCode>2</ResponseCode>", head)
    return head + b"".join(chosen) + tail


def no_more(root: str) -> bytes:
    return (f'<?xml version="1.0"?><{root}><Response><ResponseCode>2</ResponseCode>'
            f'<ResponseDescription>Success</ResponseDescription></Response></{root}>').encode()


def document(root: str, records: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><{root}><Response><ResponseCode>1</ResponseCode>'
            f'<ResponseDescription>Success</ResponseDescription></Response>{records}</{root}>').encode()
