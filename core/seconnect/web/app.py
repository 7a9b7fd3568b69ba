"""The Starlette app: login, the dashboard's pages and /api/, over one store.

``create_app(db)`` is what `seconnect serve` mounts; ``extra_routes`` (health, metrics, webhooks)
come first, ``public_paths`` are reachable without a login (see :mod:`seconnect.web.auth`).
Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..carts import refuse_new_key
from ..errors import CapabilityError, CartError, NotFoundError, SeconnectError, StoreError, UsageError
from ..plugins import Plugins, load_plugins
from ..secrets import derived_key
from ..store import Store, open_store
from .auth import AuthMiddleware

__all__ = ["create_app", "http_status"]

_HERE = Path(__file__).parent
SESSION_COOKIE = "seconnect_session"
#: A login lasts a working day; the cookie is dropped when it is older.
SESSION_SECONDS = 12 * 3600


def http_status(exc: SeconnectError) -> int:
    """The HTTP status of one of seconnect's errors."""
    for family, code in ((NotFoundError, 404), (UsageError, 400), (CapabilityError, 409), (CartError, 502),
                         (StoreError, 503)):
        if isinstance(exc, family):
            return code
    return 500


def create_app(db: Store | str | None = None, *, extra_routes: Sequence[BaseRoute] = (),
               public_paths: Sequence[str] = ("/healthz", "/hooks/"), lifespan: Callable[..., Any] | None = None,
               token_paths: Sequence[str] = ("/api/", "/metrics"),
               plugins: Plugins | None = None, https_only: bool = False,
               schedules: Callable[[Any], list[dict[str, Any]]] | None = None) -> Starlette:
    """The dashboard over ``db`` (a :class:`Store`, a URL/path, or None for the default store).

    ``token_paths`` also take ``Authorization: Bearer TOKEN`` (`seconnect users token NAME`) and
    answer 401 instead of redirecting to the login page. ``https_only`` marks the session cookie Secure (set it when served over TLS). ``schedules``,
    when given, lists the schedules for the Schedules page and ``/api/schedules`` (called with a
    connection; `seconnect serve` passes its own).
    """
    from . import api, pages

    store = db if isinstance(db, Store) else open_store(db)
    with store.begin() as conn:
        refuse_new_key(conn)  # the session key derives from the key file: never a new one beside passwords
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=env)
    routes = [*extra_routes, *pages.routes(), Mount("/api", routes=api.routes()),
              Mount("/static", StaticFiles(directory=_HERE / "static"), name="static")]
    middleware = [
        Middleware(SessionMiddleware, secret_key=derived_key("seconnect dashboard session").hex(),
                   session_cookie=SESSION_COOKIE, max_age=SESSION_SECONDS, same_site="lax", https_only=https_only),
        Middleware(AuthMiddleware, store=store, public_paths=public_paths, token_paths=token_paths),
    ]

    async def seconnect_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SeconnectError)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message, "hint": exc.hint, "exit_code": exc.exit_code},
                                status_code=http_status(exc))
        return pages.error_page(request, exc.message, exc.hint, http_status(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        if exc.status_code in (403, 404, 405):
            return pages.error_page(request, exc.detail, None, exc.status_code)
        return PlainTextResponse(exc.detail, status_code=exc.status_code)

    async def bad_value(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, click.BadParameter)
        return await seconnect_error(request, UsageError(exc.message))

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={SeconnectError: seconnect_error, HTTPException: http_error,
                                        click.BadParameter: bad_value})
    app.state.store, app.state.plugins = store, plugins or load_plugins()
    app.state.templates, app.state.schedules = templates, schedules
    return app
