"""What every listing shares: ``--limit N`` / ``--all``, and a note when the listing is cut.

The note goes to stderr, so stdout stays the listing (and exactly the JSON with ``--json``):
as a sentence for people, or with ``--json`` as one JSON object ``{"shown": N, "total": M}``
that scripts can read from stderr.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from .types import WholeNumber

__all__ = ["DEFAULT_LIMIT", "listing_options", "limit_of", "report_cut"]

DEFAULT_LIMIT = 100


def listing_options(all_help: str = "Show every row (no --limit).") -> Callable[[Callable[..., Any]], Any]:
    """``--limit N`` (default 100) and ``--all``; the command gets ``limit``: an int, or None with --all."""

    def decorate(f: Callable[..., Any]) -> Any:
        f = click.option("--all", "everything", is_flag=True, help=all_help)(f)
        return click.option("--limit", type=WholeNumber(1, 1_000_000_000, "--limit"), default=DEFAULT_LIMIT,
                            show_default=True, metavar="N", help="Show at most N rows (--all: every row).")(f)

    return decorate


def limit_of(limit: int, everything: bool) -> int | None:
    return None if everything else limit


def report_cut(page: Any, noun: str, as_json: bool) -> None:
    """Say on stderr that only part of a listing was shown (a :class:`~seconnect.store.paging.Page`)."""
    shown, total = len(page), getattr(page, "total", len(page))
    if shown >= total:
        return
    if as_json:
        click.echo(json.dumps({"shown": shown, "total": total}), err=True)
    else:
        click.echo(f"{shown} of {total} {noun} shown (--limit N, --all).", err=True)
