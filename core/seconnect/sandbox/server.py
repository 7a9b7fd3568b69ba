"""The HTTPS server: TLS, HTTP/1.1 keep-alive, faults, latency, the admin endpoints.

Standard library only: ``ThreadingHTTPServer`` with one thread per connection, TLS
handshakes done in that thread (a slow client never blocks ``accept``), ``TCP_NODELAY`` and
each reply written in one ``sendall`` so small replies are not held back by Nagle/delayed-ACK.
Profiles never see sockets; this module decides faults and mangles replies.
"""

from __future__ import annotations

import hmac
import json
import socket
import socketserver
import sqlite3
import ssl
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_to_bytes, urlsplit

from .faults import FaultPlan
from .profiles_base import Profile, Reply, SetiRequest

MAX_BODY = 64 * 1024 * 1024
ADMIN_PREFIX = "/__sandbox/"
SLOW_PIECES = 20
SLOW_SECONDS = 2.0


class Gateway:
    """Everything a request needs besides the socket; swapped/retuned while serving."""

    def __init__(self, *, admin_token: str, add_orders: Callable[[int], list[int]],
                 summary: Callable[[], dict], log: Callable[[str], None] | None = None):
        self.admin_token = admin_token
        self.add_orders = add_orders
        self.summary = summary
        self.log = log
        self.steer: Callable[[str, dict[str, str]], dict] | None = None  # REST profile steering
        self.profile: Profile | None = None
        self.faults: FaultPlan | None = None
        self.latency = 0.0
        self._requests: list[tuple[str, int]] = []
        self._rest: list[tuple[str, str, int]] = []
        self.throttled = 0  # REST replies that were the quota's 429 (not the load-shedding fault)
        self._lock = threading.Lock()

    def record(self, function: str, status: int) -> None:
        with self._lock:
            self._requests.append((function, status))

    def record_rest(self, method: str, route: str, status: int, *, throttled: bool = False) -> None:
        with self._lock:
            self._rest.append((method, route, status))
            self.throttled += throttled

    def rest_requests(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._rest)

    def requests(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._requests)


def _form(raw: bytes) -> dict[str, str]:
    """Decode a form body or query string (later duplicates win, as in PHP): UTF-8, or
    Windows-1252 when it is not valid UTF-8 (what an older Windows client may send)."""
    pairs = []
    for part in raw.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append((unquote_to_bytes(key.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    try:
        return {k.decode("utf-8"): v.decode("utf-8") for k, v in pairs}
    except UnicodeDecodeError:
        return {k.decode("cp1252", "replace"): v.decode("cp1252", "replace") for k, v in pairs}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "seconnect-sandbox/1"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.request.do_handshake()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # requests are reported through Gateway.log instead

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._route()

    def do_POST(self) -> None:  # noqa: N802
        self._route()

    def do_PUT(self) -> None:  # noqa: N802 - REST profile only
        self._route()

    def do_DELETE(self) -> None:  # noqa: N802 - REST profile only
        self._route()

    # ---------------------------------------------------------------- plumbing

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        raw = self.headers.get("Content-Length") or "0"
        length = int(raw) if raw.strip().isdigit() else MAX_BODY + 1
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _head(self, status: int, content_type: str, length: int, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Server: {self.server_version}",
                 f"Date: {formatdate(usegmt=True)}",
                 *((f"Content-Type: {content_type}", f"Content-Length: {length}") if status != 204 else ()),
                 *(f"{k}: {v}" for k, v in extra)]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=UTF-8",
              extra: tuple[tuple[str, str], ...] = ()) -> None:
        self.wfile.write(self._head(status, content_type, len(body), extra) + body)

    def _json(self, status: int, payload: object) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no TLS close_notify."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.rfile.close()
        self.wfile.close()
        sock.close()

    # ---------------------------------------------------------------- routing

    def _route(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(413, b"Request body too large or its length unreadable\n")
            return
        query = _form(url.query.encode("latin-1", "replace"))
        gateway = self.server.gateway
        if url.path.startswith(ADMIN_PREFIX):
            self._admin(url.path, query)
            return
        profile = gateway.profile
        if profile is not None and profile.rest:
            self._rest(gateway, profile, url.path, url.query, body)
            return
        if profile is None or url.path != profile.path or self.command not in ("GET", "POST"):
            self._send(404, b"Not Found\n")
            return
        params = dict(query)
        if body:
            params.update(_form(body))
        self._seti(gateway, profile, SetiRequest(params=params, query=query))

    def _seti(self, gateway: Gateway, profile: Profile, request: SetiRequest) -> None:
        """Serve one SETI call; it is recorded before the reply leaves, so a client that reads
        ``Sandbox.requests()`` after its response always finds it there."""
        started = time.monotonic()
        function = request.function
        if gateway.latency:
            time.sleep(gateway.latency)
        fault = gateway.faults.decide(function) if gateway.faults else None
        if fault in ("500", "503", "429"):
            status = int(fault)
            gateway.record(function, status)
            retry = (("Retry-After", "1"),) if fault != "500" else ()
            self._send(status, f"{status} {HTTPStatus(status).phrase} (sandbox fault)\n".encode(), extra=retry)
        elif fault == "reset":
            status = 0
            gateway.record(function, status)
            self._reset()
        else:
            request.force_bad_auth = fault == "badauth"
            try:
                reply = profile.handle(request)
            except Exception as exc:  # a sandbox bug must show, not look like a network fault
                traceback.print_exc()
                reply = Reply(f"sandbox internal error: {exc!r}\n".encode(), status=500)
            status = reply.status
            gateway.record(function, status)
            if fault == "truncate":
                self._truncated(reply)
            elif fault == "slow":
                self._slow(reply)
            else:
                self._send(reply.status, reply.body, reply.content_type)
        if gateway.log:
            note = f" fault={fault}" if fault else ""
            gateway.log(f"{function or '-'} {status} {1000 * (time.monotonic() - started):.0f} ms{note}")

    def _rest(self, gateway: Gateway, profile: Profile, path: str, query: str, body: bytes) -> None:
        """Serve one REST call: faults are decided per resource (``@orders``…), the 429 fault
        being load shedding (no rate-limit headers); the profile counts what it answered."""
        started = time.monotonic()
        method = self.command
        route, resource = profile.route_of(method, path)
        if gateway.latency:
            time.sleep(gateway.latency)
        fault = gateway.faults.decide(resource) if gateway.faults else None
        if fault in ("500", "503", "429", "reset"):
            status = 0 if fault == "reset" else int(fault)
            gateway.record_rest(method, route, status)
            if fault == "reset":
                self._reset()
            else:
                retry = (("Retry-After", "1"),) if fault != "500" else ()
                self._send(status, f"{status} {HTTPStatus(status).phrase} (sandbox fault)\n".encode(), extra=retry)
        else:
            try:
                reply = profile.handle_rest(method, path, query, self.headers, body, bad_auth=fault == "badauth")
            except Exception as exc:  # a sandbox bug must show, not look like a network fault
                traceback.print_exc()
                reply = Reply(f"sandbox internal error: {exc!r}\n".encode(), status=500)
            status = reply.status
            gateway.record_rest(method, route, status, throttled=status == 429)
            if fault == "truncate":
                self._truncated(reply)
            elif fault == "slow":
                self._slow(reply)
            else:
                self._send(reply.status, reply.body, reply.content_type, reply.headers)
        if gateway.log:
            note = f" fault={fault}" if fault else ""
            gateway.log(f"{method} {path} {status} {1000 * (time.monotonic() - started):.0f} ms{note}")

    def _truncated(self, reply: Reply) -> None:
        self.close_connection = True
        head = self._head(reply.status, reply.content_type, len(reply.body), reply.headers)
        self.wfile.write(head + reply.body[: len(reply.body) // 2])

    def _slow(self, reply: Reply) -> None:
        self.wfile.write(self._head(reply.status, reply.content_type, len(reply.body), reply.headers))
        body = reply.body
        step = max(1, -(-len(body) // SLOW_PIECES))
        pieces = [body[i:i + step] for i in range(0, len(body), step)]
        for piece in pieces:
            time.sleep(SLOW_SECONDS / max(1, len(pieces)))
            self.wfile.write(piece)

    def _admin(self, path: str, query: dict[str, str]) -> None:
        gateway = self.server.gateway
        token = self.headers.get("X-Sandbox-Token", "")
        if not hmac.compare_digest(token.encode(), gateway.admin_token.encode()):
            self._json(403, {"error": "missing or wrong X-Sandbox-Token header (it is the sandbox password)"})
            return
        if path == ADMIN_PREFIX + "orders":
            if self.command != "POST":
                self._json(405, {"error": "use POST /__sandbox/orders?count=N"})
                return
            raw = query.get("count", "1")
            if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
                self._json(400, {"error": f"count must be a whole number from 1 to 100000, not {raw!r}"})
                return
            try:
                numbers = gateway.add_orders(int(raw))
            except ValueError as exc:  # e.g. a store without products cannot take orders
                self._json(409, {"error": str(exc)})
                return
            self._json(200, {"orders": [str(n) for n in numbers]})
        elif path == ADMIN_PREFIX + "state/summary":
            self._json(200, gateway.summary())
        elif path.startswith(ADMIN_PREFIX + "steer/") and gateway.steer is not None:
            if self.command != "POST":
                self._json(405, {"error": f"use POST {path}"})
                return
            try:
                self._json(200, gateway.steer(path.removeprefix(ADMIN_PREFIX + "steer/"), query))
            except (KeyError, ValueError) as exc:
                self._json(400, {"error": str(exc).strip("'\"")})
        else:
            self._json(404, {"error": f"no admin endpoint {path}"})


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threaded HTTPS server that tracks its open connections so a stop really disconnects
    keep-alive clients (as a restarted web server would)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, gateway: Gateway):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self.gateway = gateway
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.accepted = 0  # connections accepted: tells clients that keep theirs alive from those that don't
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve our FQDN, which can take seconds
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = self.socket.accept()
        tls = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(tls)
            self.accepted += 1
        return tls, address

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        # client disconnects, TLS failures and resets are normal traffic for a test server, and
        # so are requests cut off by a reset fault (closed file) or by a restart (closed state)
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ValueError, sqlite3.ProgrammingError)):
            super().handle_error(request, client_address)

    def disconnect_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServerThread:
    """Runs a :class:`SandboxHTTPServer` in a daemon thread; start/stop are synchronous."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, gateway: Gateway):
        self.server = SandboxHTTPServer((host, port), context, gateway)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.server.disconnect_all()
        self._thread.join(timeout=5)
