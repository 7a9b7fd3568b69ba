"""Every failure kind maps to its seconnect.errors type, with a hint, and never shows the password."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest

from seconnect.errors import (
    CartAuthError,
    CartHTTPError,
    CartProtocolError,
    CartRejected,
    CartTLSError,
    CartUnreachable,
    SeconnectError,
    UsageError,
)
from seconnect.seti import RetryPolicy, parse_retry_after

from .conftest import PASSWORD, URL


def _raise_from(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


def _dns_error() -> httpx.ConnectError:
    return _raise_from(httpx.ConnectError("[Errno -2] Name or service not known"),
                       socket.gaierror(-2, "Name or service not known"))


def _tls_verify_error() -> httpx.ConnectError:
    msg = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
    return _raise_from(httpx.ConnectError(msg), ssl.SSLCertVerificationError(1, msg))


def _tls_handshake_error() -> httpx.ConnectError:
    msg = "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"
    return _raise_from(httpx.ConnectError(msg), ssl.SSLError(1, msg))


@pytest.mark.parametrize("exc, kind, words", [
    (_dns_error(), CartUnreachable, "resolve the host name"),
    (httpx.ConnectError("[Errno 111] Connection refused"), CartUnreachable, "refused the connection"),
    (_raise_from(httpx.ConnectError("connect failed"), ConnectionRefusedError(111, "x")), CartUnreachable,
     "refused the connection"),
    (httpx.ConnectError("[Errno 101] Network is unreachable"), CartUnreachable, "cannot connect"),
    (httpx.ConnectTimeout("timed out"), CartUnreachable, "timed out connecting"),
    (httpx.ReadTimeout("timed out"), CartUnreachable, "sent no reply within 30s"),
    (httpx.WriteTimeout("timed out"), CartUnreachable, "timed out sending"),
    (httpx.PoolTimeout("timed out"), CartUnreachable, "no free connection"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), CartUnreachable,
     "reset or closed"),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), CartUnreachable, "reset or closed"),
    (httpx.ProxyError("407 Proxy Authentication Required"), CartUnreachable, "reset or closed"),
    (_tls_verify_error(), CartTLSError, "could not be verified"),
    (_tls_handshake_error(), CartTLSError, "TLS handshake"),
    (httpx.DecodingError("bad gzip"), CartProtocolError, "content encoding"),
])
def test_transport_failures(fake_cart, exc, kind, words):
    client, cart = fake_cart(exc, retry=RetryPolicy.never())
    with pytest.raises(kind) as info:
        client.order_count()
    assert type(info.value) is kind
    assert words in info.value.message
    assert info.value.message.startswith("ordercount: ")
    assert info.value.hint
    assert "store-h7q2k.example-cart.test" in info.value.message or kind is CartProtocolError


def test_certificate_failure_hint_names_ca_bundle(fake_cart):
    client, _ = fake_cart(_tls_verify_error(), retry=RetryPolicy.never())
    with pytest.raises(CartTLSError) as info:
        client.send_version()
    assert "--ca-bundle" in info.value.hint
    assert info.value.retriable is False


def test_unsupported_protocol_is_a_usage_error(fake_cart):
    client, _ = fake_cart(httpx.UnsupportedProtocol("Request URL has an unsupported protocol"))
    with pytest.raises(UsageError):
        client.send_version()


def test_http_404_hint(fake_cart):
    client, _ = fake_cart(httpx.Response(404, text="<h1>Not Found</h1>"))
    with pytest.raises(CartHTTPError) as info:
        client.send_version()
    err = info.value
    assert err.status == 404 and not err.retriable
    assert "HTTP 404 Not Found" in err.message
    assert err.hint == ("Verify the Script URL matches the one on the cart's Stone Edge settings page and ask "
                        "the web host to verify the secure URL and location of the integration script.")


@pytest.mark.parametrize("status, retriable", [(500, True), (502, True), (503, True), (429, True),
                                               (403, False), (401, False), (400, False)])
def test_http_status_errors(fake_cart, status, retriable):
    client, cart = fake_cart(httpx.Response(status), retry=RetryPolicy.never())
    with pytest.raises(CartHTTPError) as info:
        client.product_count()
    assert info.value.status == status
    assert info.value.retriable is retriable
    assert info.value.hint
    assert len(cart.requests) == 1


def test_redirect_is_not_followed_and_names_the_target(fake_cart):
    client, cart = fake_cart(httpx.Response(301, headers={"Location": "https://www.example-cart.test/x.php"}))
    with pytest.raises(CartHTTPError) as info:
        client.send_version()
    assert "https://www.example-cart.test/x.php" in info.value.hint
    assert len(cart.requests) == 1


def test_retry_after_seconds_and_date_are_parsed(fake_cart):
    client, _ = fake_cart(httpx.Response(429, headers={"Retry-After": "7"}), retry=RetryPolicy.never())
    with pytest.raises(CartHTTPError) as info:
        client.product_count()
    assert info.value.retry_after == 7.0
    client, _ = fake_cart(httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
                          retry=RetryPolicy.never())
    with pytest.raises(CartHTTPError) as info:
        client.product_count()
    assert info.value.retry_after > 3600


def test_parse_retry_after():
    from datetime import UTC, datetime
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("body, words", [
    (b"<!DOCTYPE html><html><head><title>Log in</title></head><body>Please log in</body></html>", "HTML page"),
    (b"<br />\n<b>Warning</b>:  mysql_connect(): Access denied in <b>/var/www/x.php</b>", "HTML page"),
    (b"", "empty reply"),
    (b"  \r\n ", "empty reply"),
    (b"Hello world", "not a SETI reply"),
    (b"\x1b[31mOops", "not a SETI reply"),
])
def test_unusable_text_replies(fake_cart, body, words):
    client, _ = fake_cart(body)
    with pytest.raises(CartProtocolError) as info:
        client.order_count()
    assert words in info.value.message
    assert info.value.hint
    assert "\x1b" not in str(info.value)  # control characters are escaped, not echoed


def test_html_reply_shows_first_bytes_escaped(fake_cart):
    client, _ = fake_cart(b"<html>\n<body>404 page" + b"x" * 500)
    with pytest.raises(CartProtocolError) as info:
        client.download_orders(lastorder="All", startnum=1, batchsize=10)
    assert "'<html>\\n<body>404 page" in info.value.message
    assert "…" in info.value.message
    assert len(info.value.message) < 200


def test_truncated_xml(fake_cart, fixture_bytes):
    body = fixture_bytes("orders_isc.xml")[:700]
    client, _ = fake_cart(body)
    with pytest.raises(CartProtocolError, match="malformed or cut short") as info:
        client.download_orders(lastorder="All", startnum=1, batchsize=10)
    assert "<?xml" in info.value.message
    assert "batch size" in info.value.hint


def test_wrong_document_kind(fake_cart, fixture_bytes):
    client, _ = fake_cart(fixture_bytes("products_isc.xml"))
    with pytest.raises(CartProtocolError, match="expected a SETIOrders document, got <SETIProducts>"):
        client.download_orders(lastorder="All", startnum=1, batchsize=10)


def test_unknown_xml_root(fake_cart):
    client, _ = fake_cart(b"<?xml version='1.0'?><rss><channel/></rss>")
    with pytest.raises(CartProtocolError, match=r"not a SETI document \(root <rss>\)"):
        client.download_products(startnum=1, batchsize=10)


def test_text_reply_to_a_download_function(fake_cart):
    client, _ = fake_cart("SETIResponse: ordercount=2")
    with pytest.raises(CartProtocolError, match="expected a SETIOrders XML document"):
        client.download_orders(lastorder="All", startnum=1, batchsize=10)


def test_xml_reply_to_a_text_function(fake_cart, fixture_bytes):
    client, _ = fake_cart(fixture_bytes("orders_isc.xml"))
    with pytest.raises(CartProtocolError, match="expected a text SETIResponse"):
        client.order_count()


@pytest.mark.parametrize("body, kind", [
    # Interspire: SETIError root (10.9)
    ('<?xml version="1.0" encoding="UTF-8" ?><SETIError><Response><ResponseCode>3</ResponseCode>'
     '<ResponseDescription>Error: Either the username or password was invalid.</ResponseDescription>'
     '</Response></SETIError>', CartAuthError),
    ('<?xml version="1.0" encoding="UTF-8" ?><SETIError><Response><ResponseCode>3</ResponseCode>'
     '<ResponseDescription>Either a username or password was not provided.</ResponseDescription>'
     '</Response></SETIError>', CartAuthError),
    # spec style, text and XML
    ("SETIError: Invalid username, password, or store code.", CartAuthError),
    ('<?xml version="1.0" encoding="UTF-8"?><SETIOrders><Response><ResponseCode>3</ResponseCode>'
     '<ResponseDescription>Invalid username, password, or store code.</ResponseDescription></Response>'
     '</SETIOrders>', CartAuthError),
    ('SETIError: Function "frobnicate" was not found.', CartRejected),
    ("SETIError: No lastorder field received.", CartRejected),
    ('<?xml version="1.0"?><SETIError><Response><ResponseCode>3</ResponseCode><ResponseDescription>The URL '
     'entered into Stone Edge Order Manager is for an insecure connection.</ResponseDescription></Response>'
     '</SETIError>', CartRejected),
])
@pytest.mark.parametrize("call", ["count", "download"])
def test_seti_errors_become_rejections(fake_cart, body, kind, call):
    client, cart = fake_cart(body)
    with pytest.raises(CartRejected) as info:
        if call == "count":
            client.order_count()
        else:
            client.download_orders(lastorder="All", startnum=1, batchsize=10)
    assert type(info.value) is kind
    assert "the cart rejected the call" in info.value.message
    assert len(cart.requests) == 1  # rejections are never retried
    if kind is CartAuthError:
        assert "password" in info.value.hint and "seconnect carts edit NAME" in info.value.hint


def test_insecure_rejection_hint(fake_cart):
    client, _ = fake_cart('<SETIError><Response><ResponseCode>3</ResponseCode><ResponseDescription>The URL is '
                          'for an insecure connection</ResponseDescription></Response></SETIError>')
    with pytest.raises(CartRejected) as info:
        client.product_count()
    assert "https://" in info.value.hint


@pytest.mark.parametrize("code", ["0", "9", "", "OK"])
def test_bad_response_code(fake_cart, code):
    body = f"<SETIOrders><Response><ResponseCode>{code}</ResponseCode></Response></SETIOrders>"
    client, _ = fake_cart(body)
    with pytest.raises(CartProtocolError, match="ResponseCode"):
        client.download_orders(lastorder="All", startnum=1, batchsize=10)


def test_document_without_response(fake_cart):
    client, _ = fake_cart("<SETIOrders></SETIOrders>")
    with pytest.raises(CartProtocolError, match="no Response/ResponseCode"):
        client.download_orders(lastorder="All", startnum=1, batchsize=10)


def test_oversize_body_is_cut_off_while_streaming(fake_cart):
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><SETIOrders><Response><ResponseCode>1</ResponseCode></Response>'
        while True:
            produced.append(1)
            yield b"<Order><OrderNumber>1</OrderNumber></Order>" * 1000  # ~44 kB per chunk

    client, _ = fake_cart(lambda request: httpx.Response(200, content=endless()),
                          max_reply_bytes=200_000)
    with pytest.raises(CartProtocolError, match="larger than 200,000 bytes") as info:
        client.download_orders(lastorder="All", startnum=1, batchsize=10)
    assert len(produced) <= 5  # stopped at the cap, never read the (endless) rest
    assert "batch size" in info.value.hint


def test_oversize_declared_length_is_refused_before_reading(fake_cart):
    client, _ = fake_cart(lambda request: httpx.Response(200, headers={"Content-Length": "999999999"},
                                                         content=iter([b"SETIResponse: itemcount=1"])),
                          max_reply_bytes=1000)
    with pytest.raises(CartProtocolError, match="larger than 1,000 bytes"):
        client.product_count()


def test_read_timeout_mid_body_is_unreachable(fake_cart):
    def body() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><SETIOrders><Response>'
        raise httpx.ReadTimeout("timed out")

    client, cart = fake_cart(lambda request: httpx.Response(200, content=body()), retry=RetryPolicy.never())
    with pytest.raises(CartUnreachable, match="sent no reply"):
        client.download_orders(lastorder="All", startnum=1, batchsize=10)


# --- the password never shows ------------------------------------------------------------------

def _all_text(err: BaseException) -> str:
    parts = [str(err), repr(err), *map(str, err.args)]
    if isinstance(err, SeconnectError):
        parts += [err.message, err.hint or ""]
    return "\n".join(parts)


@pytest.mark.parametrize("reply", [
    # a broken script echoing the request body back
    lambda request: httpx.Response(200, content=b"Error: bad request " + request.content),
    lambda request: httpx.Response(200, content=b"<html>" + request.content + b"</html>"),
    lambda request: httpx.Response(200, content=b"SETIError: wrong password " + PASSWORD.encode()),
    lambda request: httpx.Response(200, content=b"<SETIError><Response><ResponseCode>3</ResponseCode>"
                                   b"<ResponseDescription>bad password " + PASSWORD.encode() +
                                   b"</ResponseDescription></Response></SETIError>"),
    lambda request: httpx.Response(500, content=request.content),
    httpx.ConnectError("[Errno 111] Connection refused"),
    httpx.ReadTimeout("timed out"),
])
def test_password_never_in_error_text(fake_cart, reply):
    client, _ = fake_cart(reply)
    with pytest.raises(SeconnectError) as info:
        client.order_count()
    text = _all_text(info.value)
    assert PASSWORD not in text
    assert "Tide-Pool" not in text


def test_password_not_in_client_repr(fake_cart):
    client, _ = fake_cart("x")
    assert PASSWORD not in repr(client)
    assert PASSWORD not in str(vars(client).get("_password"))
    assert repr(client) == f"SetiClient({URL!r}, user='seom.sync')"


def test_password_with_line_break_is_refused_without_echo():
    from seconnect.cartdef import Secret
    from seconnect.seti import SetiClient
    with pytest.raises(UsageError) as info:
        SetiClient(URL, password=Secret("abc\ndef"))
    assert "abc" not in str(info.value)


def test_retry_log_lines_do_not_show_the_password(fake_cart, caplog):
    # a transport error whose text carries the password: masked before the retry policy logs it
    leaky = httpx.ReadError(f"reset while sending password={PASSWORD}")
    client, _ = fake_cart(leaky, leaky, "SETIResponse: ordercount=1")
    with caplog.at_level("DEBUG", logger="seconnect"):
        assert client.order_count() == 1
    assert len([r for r in caplog.records if "failed" in r.getMessage()]) == 2
    assert "password=********" in caplog.text
    assert PASSWORD not in caplog.text


def test_password_split_across_chunks_is_still_masked(fake_cart):
    def split(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"SETIError: bad login seom.sync/Tide-Po", b"ol-42 (", b"x)"]))

    client, _ = fake_cart(split)
    with pytest.raises(CartAuthError) as info:
        client.order_count()
    assert "seom.sync/******** (x)" in info.value.message
    assert "Tide-Po" not in _all_text(info.value)


def test_url_encoded_password_echo_is_masked(fake_cart):
    from seconnect.cartdef import Secret
    client, _ = fake_cart(lambda request: httpx.Response(200, content=b"<p>" + request.content),
                          password=Secret("p@ss w&rd;1"))
    with pytest.raises(CartProtocolError) as info:
        client.order_count()
    assert "p%40ss" not in str(info.value) and "p@ss" not in str(info.value)
    assert "password=********" in str(info.value)


def test_password_cut_off_at_the_excerpt_end_is_masked(fake_cart):
    # 60 bytes of padding put the password across the 80-byte excerpt limit
    client, _ = fake_cart(lambda request: httpx.Response(200, content=b"x" * 66 + b"pw=" + PASSWORD.encode()))
    with pytest.raises(CartProtocolError) as info:
        client.order_count()
    assert "pw=********" in str(info.value)
    assert "Tide" not in str(info.value)


def test_a_short_password_does_not_corrupt_the_data(fake_cart, fixture_bytes):
    from seconnect.cartdef import Secret
    client, _ = fake_cart(fixture_bytes("orders_isc.xml"), password=Secret("1041"))
    [order] = client.download_orders(lastorder="All", startnum=1, batchsize=50)
    assert order["number"] == "1041"
