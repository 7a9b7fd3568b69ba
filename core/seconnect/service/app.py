"""The service's HTTP side: ``/healthz``, ``/metrics`` and ``POST /hooks/<cart>`` (Starlette).

:func:`service_routes` gives the routes for any Starlette app (the dashboard's app adds them to
its own, with its login in front of everything but ``/healthz`` and ``/hooks/``);
:func:`build_app` is the plain app with only these routes. Store work runs in worker threads,
never on the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import webhooks
from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .core import Service

__all__ = ["service_routes", "build_app"]


def service_routes(service: Service) -> list[Route]:
    async def healthz(request: Request) -> Response:
        healthy, report = await run_in_threadpool(service.health)
        return JSONResponse(report, status_code=200 if healthy else 503)

    async def metrics(request: Request) -> Response:
        return Response(await run_in_threadpool(service.metrics.render), media_type=CONTENT_TYPE)

    async def hook(request: Request) -> Response:
        cart = request.path_params["cart"]
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > webhooks.MAX_BODY:
            answer = webhooks.Answer(413, "too-large")
        else:
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > webhooks.MAX_BODY:
                    break
            if len(body) > webhooks.MAX_BODY:
                answer = webhooks.Answer(413, "too-large")
            else:
                answer = await run_in_threadpool(webhooks.receive, service.store, service.plugins, cart,
                                                 request.headers, body)
        if answer.outcome == "queued":
            service.scheduler.wake.set()  # run it now, not at the next poll
        # Only known carts get their own label: names sent by strangers must not grow the metrics.
        label = "" if answer.outcome == "unknown-cart" else cart
        service.metrics.webhook_events.labels(label, answer.outcome).inc()
        return JSONResponse(answer.body(), status_code=answer.status)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/hooks/{cart}", hook, methods=["POST"]),
    ]


def build_app(service: Service) -> Starlette:
    """The service's app on its own (the lead swaps in the dashboard's ``create_app`` at merge)."""
    return Starlette(routes=service_routes(service), lifespan=service.lifespan)
