"""The dashboard over HTTP (httpx against the app served on 127.0.0.1): login required, CSRF on
every POST, API tokens, no secret in any page, and cart text escaped."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import users
from seconnect.cli import build_cli
from seconnect.store import tables

from .helpers import PASSWORD, USER, csrf_of

PAGES = ("/carts", "/runs", "/outbox", "/quarantine", "/orders", "/products", "/params", "/schedules", "/carts/new")


def test_every_page_needs_a_login_and_the_api_a_token(served):
    with httpx.Client(base_url=served.url) as anon:
        for path in (*PAGES, "/carts/Shop", "/orders/Shop/1"):
            r = anon.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        r = anon.get("/api/orders")
        assert r.status_code == 401 and "seconnect users token NAME" in r.json()["hint"]
        assert anon.get("/api/orders", headers={"Authorization": "Bearer sec_wrong"}).status_code == 401
        assert anon.get("/static/style.css").status_code == 200  # the login page's own look


def test_login_with_a_wrong_password_fails_and_the_right_one_lands_on_the_page_asked_for(served):
    with httpx.Client(base_url=served.url) as c:
        page = c.get("/login?next=/orders")
        assert 'name="next" value="/orders"' in page.text
        wrong = c.post("/login", data={"name": USER, "password": "nope", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        right = c.post("/login", data={"name": USER.upper(), "password": PASSWORD, "csrf": csrf_of(wrong.text),
                                       "next": "/orders"})
        assert right.status_code == 303 and right.headers["location"] == "/orders"
        assert c.get("/orders").status_code == 200
        # elsewhere is never a place to go after logging in
        for elsewhere in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):
            assert 'name="next" value="/"' in c.get("/login", params={"next": elsewhere}).text


def test_no_users_yet_the_login_page_says_how_to_add_one(served):
    with served.store.begin() as conn:
        conn.execute(sa.delete(tables.users))
    with httpx.Client(base_url=served.url) as c:
        assert "seconnect users add NAME" in c.get("/login").text


def _post_paths(app) -> list[str]:
    """Every POST route of the app (pages and /api/), with sample path parameters."""
    from starlette.routing import Mount

    sample = {"{name}": "Shop", "{cart}": "Shop", "{number}": "1", "{sku:path}": "X", "{job}": "import-products"}
    paths = []
    for route in app.routes:
        for sub, prefix in ([(r, route.path) for r in route.routes] if isinstance(route, Mount) else [(route, "")]):
            if "POST" in (getattr(sub, "methods", None) or ()):
                path = prefix + sub.path
                for key, value in sample.items():
                    path = path.replace(key, value)
                paths.append(path)
    return paths


def test_every_post_without_the_csrf_token_is_refused(client, served, shop):
    posts = _post_paths(served.app)
    assert "/outbox/retry" in posts and "/api/outbox/retry" in posts and "/carts/new" in posts
    for path in posts:
        for data in ({}, {"csrf": "forged"}):
            r = client.post(path, data={**data, "id": "1", "label": "Shipped", "name": "SynchQOH", "value": "x"})
            assert r.status_code == 403, (path, data, r.status_code)
    with served.store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)).scalar_one() == 0
    assert client.get("/carts").status_code == 200  # still logged in: nothing above took effect


def test_a_token_opens_the_api_and_nothing_else(served, shop):
    with served.store.begin() as conn:
        token = users.new_token(conn, USER, "test")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=served.url) as c:
        carts = c.get("/api/carts", headers=auth).json()
        assert [x["name"] for x in carts] == ["Shop"]
        assert carts[0]["capabilities"]["status-updates"] == "supported"
        orders = c.get("/api/orders", headers=auth).json()
        assert orders["total"] == len(orders["rows"]) > 0
        assert c.get("/carts", headers=auth).status_code == 303  # pages want a login
        # a bearer call needs no CSRF token (no cookie a forged page could ride on)
        r = c.post("/api/params", headers=auth, json={"name": "DownloadBatchSize", "value": "7", "cart": "Shop"})
        assert r.status_code == 200 and r.json()["value"] == "7"
        bad = c.post("/api/params", headers=auth, json={"name": "NoSuchParam", "value": "1"})
        assert bad.status_code in (400, 404) and bad.json()["hint"]
    with served.store.begin() as conn:
        assert users.list_users(conn)[0]["token_last_used_at"] is not None
        users.remove_user(conn, USER)
    with httpx.Client(base_url=served.url) as c:
        assert c.get("/api/carts", headers=auth).status_code == 401  # gone with its user


def test_removing_a_user_ends_their_session(client, served):
    assert client.get("/carts").status_code == 200
    with served.store.begin() as conn:
        users.remove_user(conn, USER)
    assert client.get("/carts").status_code == 303


def test_secrets_are_never_in_any_page_or_api_answer(client, shop, gen):
    with client.stream("GET", "/carts/Shop/edit") as r:
        edit = r.read().decode()
    pages = [client.get(p).text for p in (*PAGES, "/carts/Shop", f"/orders/Shop/{_first_order(client)}")]
    api = [client.get(p).text for p in ("/api/carts", "/api/carts/Shop", "/api/params?cart=Shop")]
    for text in (*pages, *api, edit):
        assert gen.password not in text
    assert "********" in client.get("/carts/Shop").text  # shown as set, never its value


def _first_order(client) -> str:
    return re.findall(r'/orders/Shop/([^"]+)"', client.get("/orders").text)[0]


def test_text_from_carts_is_escaped(client, served):
    with served.store.begin() as conn:
        conn.execute(sa.insert(tables.products).values(sku="<script>alert(1)</script>", name="<img src=x onerror=alert(2)>"))
    answer = client.get("/products")
    page = answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]  # and inline scripts would not run
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders(client, shop, path):
    assert client.get(path).status_code == 200


def test_users_cli(seconnect_home):
    cli = build_cli()
    runner = CliRunner()
    r = runner.invoke(cli, ["users", "add", "bob", "--password-stdin"], input="short\n")
    assert r.exit_code == 2 and "shorter than 8" in r.output
    r = runner.invoke(cli, ["users", "add", "bob"], input="long enough 1\nlong enough 2\n")
    assert r.exit_code == 2 and "do not match" in r.output
    assert runner.invoke(cli, ["users", "add", "bob", "--password-stdin"], input="long enough\n").exit_code == 0
    r = runner.invoke(cli, ["users", "add", "BOB", "--password-stdin"], input="long enough\n")
    assert r.exit_code == 2 and "already a user" in r.output
    r = runner.invoke(cli, ["users", "token", "bob"])
    token = r.stdout.strip()
    assert r.exit_code == 0 and token.startswith("sec_") and len(token) > 40
    listed = runner.invoke(cli, ["users", "list", "--json"])
    assert '"tokens": 1' in listed.output and token not in listed.output and "long enough" not in listed.output
    assert runner.invoke(cli, ["users", "remove", "bob"]).exit_code == 0
    assert "No users yet" in runner.invoke(cli, ["users", "list"]).output


def test_no_new_key_file_is_made_beside_stored_passwords(web_store, plugins, gen, seconnect_home):
    from seconnect import carts
    from seconnect.errors import UsageError
    from seconnect.secrets import key_path
    from seconnect.web import create_app

    with web_store.begin() as conn:
        carts.add_cart(conn, plugins, name="Shop", cart_type="Generic", user=gen.user, password=gen.password,
                       script_url=gen.script_url, ca_bundle=gen.ca_file)
    key_path().unlink()  # the key file lost
    with pytest.raises(UsageError, match="key file .* is missing"):
        create_app(web_store, plugins=plugins)
    assert not key_path().exists()


def test_extra_routes_are_behind_the_login_unless_public(web_store, plugins):
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from seconnect.testing.web import serve
    from seconnect.web import create_app

    extra = [Route("/healthz", lambda r: PlainTextResponse("ok")), Route("/metrics", lambda r: PlainTextResponse("m 1")),
             Route("/hooks/{cart}", lambda r: PlainTextResponse("hook"), methods=["POST"])]
    with web_store.begin() as conn:
        token = users.new_token(conn, USER)
    with serve(create_app(web_store, plugins=plugins, extra_routes=extra)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/healthz").text == "ok"
        assert c.post("/hooks/Shop").text == "hook"  # verified by the cart's plugin, not by a login
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text == "m 1"
