"""Run history: what each `seconnect run …` job did, and which runs died without saying so.

Every job records one row in ``runs`` (:class:`seconnect.jobs.base.JobRun`): when, job, cart,
outcome, summary, error and hint. While it runs, the row also holds the job's pid and host, and a
heartbeat refreshed every :data:`HEARTBEAT_S`. A process killed with SIGKILL (or a machine that
stops) cannot record its end, so a ``running`` row counts as **abandoned** when

- it was started on this host and its process is gone (pid not alive, or a zombie), or
- its heartbeat is older than :data:`LEASE_S` (any host: workers on other machines sharing a
  PostgreSQL store, or a pid the system has since given to another process).

Looking at the history (`seconnect runs`, `carts show`, `doctor`) and starting a job store that
verdict (:func:`reap`), so a killed run never shows as running forever.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from .store import Store, tables
from .store.types import utcnow

__all__ = ["HEARTBEAT_S", "LEASE_S", "ABANDONED_ERROR", "ABANDONED_HINT", "this_host", "pid_alive", "reap", "reap_quietly",
           "list_runs", "last_runs", "counts"]

log = logging.getLogger(__name__)

#: How often a running job refreshes its heartbeat.
HEARTBEAT_S = 30.0
#: A running row without a heartbeat for this long is abandoned, wherever it ran.
LEASE_S = 300.0

ABANDONED_ERROR = "the job stopped without finishing (its process was killed, or the machine stopped)"
ABANDONED_HINT = ("What it stored before stopping is kept (each batch is saved with its checkpoint); "
                  "run the job again to continue.")


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    try:  # Linux: a killed child not yet reaped by its parent still has a pid
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _abandoned(row: Any, now: datetime, host: str) -> bool:
    last_sign = row.heartbeat_at or row.started_at
    if now - last_sign > timedelta(seconds=LEASE_S):
        return True
    return row.host == host and row.pid is not None and not pid_alive(row.pid)


def reap(conn: Connection) -> int:
    """Store every ``running`` row whose process is gone as ``abandoned``; returns how many."""
    r = tables.runs
    now, host = utcnow(), this_host()
    rows = conn.execute(select(r.c.id, r.c.pid, r.c.host, r.c.heartbeat_at, r.c.started_at)
                        .where(r.c.status == "running")).all()
    reaped = 0
    for row in rows:
        if _abandoned(row, now, host):
            # Only if still running: a job that finished meanwhile keeps its own outcome.
            reaped += conn.execute(update(r).where(r.c.id == row.id, r.c.status == "running").values(
                status="abandoned", finished_at=row.heartbeat_at or row.started_at,
                error=ABANDONED_ERROR, hint=ABANDONED_HINT)).rowcount
    return reaped


def reap_quietly(store: Store) -> None:
    """:func:`reap` in its own transaction, for commands that only look (a read-only store still shows)."""
    try:
        with store.begin() as conn:
            reap(conn)
    except Exception:
        log.debug("could not store abandoned runs", exc_info=True)


def counts(summary: dict[str, Any] | None) -> dict[str, int]:
    """The non-zero counts of a job's summary (top level, and a ``counts`` breakdown if any)."""
    summary = summary or {}
    found = {k: v for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)}
    nested = summary.get("counts")
    if isinstance(nested, dict):
        found.update({k: v for k, v in nested.items() if isinstance(v, int) and not isinstance(v, bool)})
    return {k: v for k, v in found.items() if v}


def _row(row: Any, now: datetime, host: str) -> dict[str, Any]:
    status, error, hint, finished = row.status, row.error, row.hint, row.finished_at
    if status == "running" and _abandoned(row, now, host):  # shown so even where reap() could not store it
        status, error, hint, finished = "abandoned", ABANDONED_ERROR, ABANDONED_HINT, row.heartbeat_at or row.started_at
    end = finished or (now if status == "running" else None)
    return {
        "id": row.id, "job": row.job, "cart": row.cart, "status": status,
        "started_at": row.started_at, "finished_at": finished,
        "duration_s": None if end is None else round((end - row.started_at).total_seconds(), 1),
        "counts": counts(row.summary), "error": error, "hint": hint,
        "pid": row.pid, "host": row.host, "summary": row.summary,
    }


def _query():
    r, c = tables.runs, tables.carts
    return (select(r.c.id, r.c.job, c.c.name.label("cart"), r.c.status, r.c.started_at, r.c.finished_at,
                   r.c.summary, r.c.error, r.c.hint, r.c.pid, r.c.host, r.c.heartbeat_at)
            .select_from(r.outerjoin(c, c.c.id == r.c.cart_id)))


def list_runs(conn: Connection, *, cart_id: int | None = None, job: str | None = None,
              limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The newest runs first, and how many match in all (abandoned runs shown so, stored or not)."""
    r = tables.runs
    where = [cond for cond in (r.c.cart_id == cart_id if cart_id is not None else None,
                               r.c.job == job if job else None) if cond is not None]
    total = conn.execute(select(func.count()).select_from(r).where(*where)).scalar_one()
    rows = conn.execute(_query().where(*where).order_by(r.c.id.desc()).limit(limit).offset(offset)).all()
    now, host = utcnow(), this_host()
    return [_row(row, now, host) for row in rows], total


def last_runs(conn: Connection, cart_id: int) -> dict[str, dict[str, Any]]:
    """The newest run of each job of one cart, by job name."""
    r = tables.runs
    newest = select(func.max(r.c.id)).where(r.c.cart_id == cart_id).group_by(r.c.job)
    rows = conn.execute(_query().where(r.c.id.in_(newest)).order_by(r.c.job)).all()
    now, host = utcnow(), this_host()
    return {row.job: _row(row, now, host) for row in rows}
