"""A fake ExampleCart shop to test against: the shop's JSON API over real HTTPS on 127.0.0.1.

Its certificate comes from a throwaway CA of its own (trustme), so the plugin is tested the way
it talks to a real shop, verifying TLS against ``ca_file``. Besides serving the API it lets a
test look at what the shop holds and make it fail: the methods seconnect's conformance kit
asks of a test cart (``CartUnderTest``).

    python -m seconnect_examplecart.fake    # serve one until Ctrl-C, printing how to reach it
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import tempfile
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import trustme

API_VERSION = "1.2"


class FakeShop:
    """One shop with products and orders; ``with FakeShop() as shop:`` serves it."""

    def __init__(self, directory: str | Path | None = None, *, orders: int = 8, products: int = 5):
        self.directory = Path(directory or tempfile.mkdtemp(prefix="examplecart-"))
        self.user, self.password, self.store_code = "seconnect", secrets.token_urlsafe(12), ""
        self.fault: str | None = None
        self.lock = threading.Lock()
        self.products = {f"EX-{100 + i}": {"sku": f"EX-{100 + i}", "name": f"Example product {i + 1}",
                                           "price": f"{9 + i}.50", "stock": 20 + i} for i in range(products)}
        self.orders: list[dict] = []
        self.accepted: list[tuple[str, str]] = []
        self.add_orders(orders)

    def __enter__(self) -> FakeShop:
        ca = trustme.CA()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = str(self.directory / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(tls)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.shop = self
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.script_url = f"127.0.0.1:{self.server.server_port}/api"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- what a test looks at and steers (the conformance kit's CartUnderTest) ------------------
    def order_numbers(self) -> list[str]:
        return [str(o["number"]) for o in self.orders]

    def add_orders(self, count: int) -> list[str]:
        with self.lock:
            skus = sorted(self.products)
            first = self.orders[-1]["number"] + 1 if self.orders else 5001
            new = []
            for number in range(first, first + count):
                product, qty = self.products[skus[number % len(skus)]], 1 + number % 3
                new.append({"number": number, "placed_at": f"2024-05-{1 + number % 28:02d}T10:00:00",
                            "status": "paid", "total": f"{Decimal(product['price']) * qty:.2f}",
                            "customer": {"name": f"Customer {number}", "email": f"c{number}@example.org"},
                            "items": [{"sku": product["sku"], "name": product["name"], "qty": qty,
                                       "price": product["price"]}]})
            self.orders += new
        return [str(o["number"]) for o in new]

    def product_count(self) -> int:
        return len(self.products)

    def qoh(self, code: str) -> int | None:
        product = self.products.get(code)
        return product["stock"] if product else None

    def status_updates(self) -> list[tuple[str, str]]:
        return list(self.accepted)

    def set_fault(self, kind: str | None) -> None:
        """Answer every request with HTTP ``kind`` ("500", "503"), or normally again with None."""
        self.fault = kind

    # -- the API ---------------------------------------------------------------------------------
    def answer(self, method: str, path: str, query: dict, body: object, authorization: str) -> tuple[int, dict]:
        """The shop's API: (HTTP status, JSON answer) for one request."""
        if self.fault:
            return int(self.fault), {"error": "the shop is having trouble"}
        if path == "/api/ping":
            return 200, {"api": "examplecart", "version": API_VERSION}
        key = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if authorization != f"Basic {key}":
            return 401, {"error": "unknown API user or key"}
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
        with self.lock:
            if (method, path) == ("GET", "/api/orders"):
                after = int(query.get("after", 0))
                return 200, {"orders": [o for o in self.orders if o["number"] > after][:limit]}
            if (method, path) == ("GET", "/api/products"):
                return 200, {"products": list(self.products.values())[offset:offset + limit]}
            if (method, path) == ("PUT", "/api/stock"):
                results = {}
                for sku, qty in body.items():
                    if sku in self.products:
                        self.products[sku]["stock"] = qty
                    results[sku] = "updated" if sku in self.products else "unknown"
                return 200, {"results": results}
            parts = path.split("/")  # /api/orders/<number>/status
            if method == "POST" and len(parts) == 5 and parts[:3] == ["", "api", "orders"] and parts[4] == "status":
                if parts[3] not in self.order_numbers():
                    return 422, {"error": f"no order {parts[3]}"}
                self.accepted.append((parts[3], body["status"]))
                return 200, {"message": f"order {parts[3]} is now {body['status']}"}
        return 404, {"error": f"no such endpoint: {method} {path}"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        status, answer = self.server.shop.answer(self.command, url.path, dict(parse_qsl(url.query)), body,
                                                 self.headers.get("Authorization", ""))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: tests read the shop's state, not its log


def main() -> None:
    with FakeShop(Path("examplecart-shop")) as shop:
        print(f"Script URL: {shop.script_url}\nAPI User:   {shop.user}\nAPI Key:    {shop.password}\n"
              f"CA:         {shop.ca_file}\nServing until Ctrl-C.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
