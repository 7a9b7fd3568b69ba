"""The service's HTTP side: ``/healthz``, ``/metrics`` and ``POST /hooks/<cart>`` (Starlette).

:func:`service_routes` gives these routes; :func:`build_app` is what `seconnect serve` runs: the
dashboard's app (seconnect.web) with these routes added, its login in front of everything but
``/healthz`` and ``/hooks/`` (``/metrics`` takes an API token). Store work runs in worker threads,
never on the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import webhooks
from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from starlette.applications import Starlette

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


def build_app(service: Service, *, https_only: bool = False) -> Starlette:
    """The whole service app: the dashboard and JSON API, plus health, metrics and webhooks, with
    the service's scheduler and worker started and stopped by its lifespan."""
    from ..web import create_app
    from . import schedules

    def schedule_rows(conn) -> list[dict]:
        return [s.as_dict() for s in schedules.list_schedules(conn)]

    return create_app(service.store, extra_routes=service_routes(service), lifespan=service.lifespan,
                      plugins=service.plugins, https_only=https_only, schedules=schedule_rows)
