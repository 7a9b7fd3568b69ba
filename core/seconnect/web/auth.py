"""Who is asking: the session cookie, or an API token on /api/; and CSRF on every POST.

The session cookie is signed (itsdangerous, through Starlette's SessionMiddleware) with a key
derived from the store's key file (:func:`seconnect.secrets.derived_key`): nothing to configure,
the same on every instance that shares the key file (as they must, to read cart passwords), and
not in the database, so a copy of the store alone cannot forge a login. Replacing the key file
logs everyone out. The cookie holds only the user's id and the CSRF token; the user is looked up
on every request, so `seconnect users remove` ends their sessions at once.

Every POST must carry the session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``),
else 403. A call authenticated by ``Authorization: Bearer TOKEN`` needs none: a forged request
from another site cannot attach a bearer token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .. import users

__all__ = ["AuthMiddleware", "SECURITY_HEADERS", "csrf_token", "checked_form", "check_csrf", "OPEN_PATHS"]

#: Reachable without a login besides the app's ``public_paths``.
OPEN_PATHS = ("/login", "/static/")


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    if getattr(request.state, "via_token", False):
        return
    expected = request.session.get("csrf")
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "The form's security token is missing or out of date: reload the page and try again.")


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after its CSRF token is checked (403 otherwise)."""
    form = await request.form()
    check_csrf(request, form.get("csrf") or request.headers.get("x-csrf-token"))
    return form


def _matches(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in prefixes)


#: On every answer: no framing (clickjacking), scripts and styles from this origin only (an
#: injected inline script would not run even if escaping failed), no MIME sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class AuthMiddleware(BaseHTTPMiddleware):
    """Sets ``request.state.user``; sends anyone else to /login (401 JSON on ``token_paths``,
    where a bearer token is taken too: /api/ and what scrapers call, such as /metrics)."""

    def __init__(self, app, *, store, public_paths: Sequence[str], token_paths: Sequence[str]):
        super().__init__(app)
        self.store = store
        self.public = (*OPEN_PATHS, *public_paths)
        self.token_paths = tuple(token_paths)

    def _identify(self, request: Request) -> tuple[users.User | None, bool]:
        header = request.headers.get("authorization", "")
        with self.store.begin() as conn:
            if _matches(request.url.path, self.token_paths) and header[:7].lower() == "bearer ":
                return users.check_token(conn, header[7:].strip()), True
            uid = request.session.get("uid")
            return (users.user_by_id(conn, uid) if isinstance(uid, int) else None), False

    async def dispatch(self, request: Request, call_next) -> Response:
        response = await self._dispatch(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _dispatch(self, request: Request, call_next) -> Response:
        path = request.url.path
        if _matches(path, self.public):
            return await call_next(request)
        user, via_token = await run_in_threadpool(self._identify, request)
        if user is None:
            if _matches(path, self.token_paths):
                return JSONResponse({"error": "login required",
                                     "hint": "Send `Authorization: Bearer TOKEN` (make one with "
                                             "`seconnect users token NAME`), or log in to the dashboard."},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            request.session.pop("uid", None)
            target = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        request.state.user, request.state.via_token = user, via_token
        return await call_next(request)
