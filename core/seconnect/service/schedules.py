"""Schedules: which job runs for which cart, and when (`seconnect schedule …`, run by `seconnect serve`).

A schedule runs ``every`` N seconds (start to start) or daily ``at`` HH:MM in the **local time of
the machine running the service** (what the merchant's clock on the wall says; DST moves with it).
After each run the next one is computed from *now*: a service that was down runs a missed job
once when it starts, never a burst of catch-up runs. A job that takes longer than its interval
runs again right after, once.

Claiming is a conditional UPDATE on the row (``lease_until`` unset or lapsed), atomic on SQLite
and PostgreSQL alike: of several ``serve`` instances on one PostgreSQL store exactly one gets a
due schedule. The holder renews its lease while the job runs; a killed instance's lease lapses
and another instance runs the schedule (its run shows as abandoned in ``seconnect runs``).

A webhook asks for a run by setting ``wanted_at`` (see :func:`want`); a burst of events sets it
again and again but the schedule runs once, and an event that arrives during the run leaves it
set, so exactly one more run follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select, update

from ..capabilities import Capability
from ..cartdef import CartDefinition
from ..errors import NotFoundError, UsageError
from ..plugins import Plugins
from ..store import tables, utcnow

__all__ = ["JOBS", "Schedule", "parse_every", "parse_at", "every_text", "next_due", "add", "list_schedules",
           "get", "remove", "set_paused", "want", "claim_due", "seconds_to_next", "renew", "finish"]

#: The jobs a schedule can run: `seconnect run`'s per-cart jobs (realtime is the service's own worker).
JOBS = ("import-orders", "import-products", "import-customers", "inventory-get", "inventory-send")

_S = tables.schedules
_EVERY = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_AT = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
#: The shortest interval: less would only queue runs behind each other's job lock.
MIN_EVERY_S = 1
MAX_EVERY_S = 366 * 86400


def parse_every(text: str) -> int:
    """``5m``, ``1h``, ``90s``, ``1h30m`` (or plain seconds) as seconds; a UsageError naming the form."""
    value = text.strip().lower()
    match = _EVERY.fullmatch(value) if value and not value.isdigit() else None
    if value.isdigit():
        seconds = int(value)
    elif match and any(match.groups()):
        h, m, s = (int(g or 0) for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    else:
        raise UsageError(f"--every {text!r} is not an interval.",
                         hint="Write it like 30s, 5m, 1h or 1h30m (hours, minutes, seconds).")
    if not MIN_EVERY_S <= seconds <= MAX_EVERY_S:
        raise UsageError(f"--every {text!r} is out of range.", hint="Use between 1 second and 366 days.")
    return seconds


def parse_at(text: str) -> str:
    """``02:00`` (24-hour, the service's local time) as ``HH:MM``."""
    match = _AT.fullmatch(text.strip())
    if not match:
        raise UsageError(f"--at {text!r} is not a time of day.",
                         hint="Write it as HH:MM on the 24-hour clock, e.g. 02:00 or 18:30 (the service's local time).")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def every_text(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"


def next_due(every_s: int | None, at_time: str | None, now: datetime, started: datetime | None = None) -> datetime | None:
    """When a schedule runs next, from ``now`` (``started``: the run that just ended began then)."""
    if every_s is not None:
        due = (started or now) + timedelta(seconds=every_s)
        return max(due, now) if started else now  # a new schedule runs at once; a late one once, at once
    if at_time is not None:
        hour, minute = (int(x) for x in at_time.split(":"))
        local_now = now.astimezone()  # the service's local time zone
        candidate = datetime.combine(local_now.date(), time(hour, minute)).astimezone()
        if candidate <= local_now:
            candidate = datetime.combine(local_now.date() + timedelta(days=1), time(hour, minute)).astimezone()
        return candidate.astimezone(now.tzinfo)
    return None


@dataclass(frozen=True)
class Schedule:
    id: int
    cart_id: int
    cart: str
    job: str
    every_s: int | None
    at_time: str | None
    paused: bool
    next_due: datetime | None
    wanted_at: datetime | None
    last_run_id: int | None
    lease_owner: str | None
    lease_until: datetime | None
    claimed_at: datetime | None

    @property
    def timing(self) -> str:
        if self.every_s is not None:
            return f"every {every_text(self.every_s)}"
        if self.at_time is not None:
            return f"daily at {self.at_time}"
        return "on webhooks only"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "cart": self.cart, "job": self.job, "every_s": self.every_s, "at": self.at_time,
                "timing": self.timing, "paused": self.paused, "next_due": self.next_due, "wanted_at": self.wanted_at,
                "last_run_id": self.last_run_id, "running_on": self.lease_owner}


def _query():
    c = tables.carts
    return select(_S, c.c.name.label("cart")).select_from(_S.join(c, c.c.id == _S.c.cart_id))


def _schedule(row: Any) -> Schedule:
    return Schedule(row.id, row.cart_id, row.cart, row.job, row.every_s, row.at_time, row.paused, row.next_due,
                    row.wanted_at, row.last_run_id, row.lease_owner, row.lease_until, row.claimed_at)


def check_job(plugins: Plugins, cart: CartDefinition, job: str) -> None:
    """Refuse a job name that is not schedulable, or that the cart's type cannot do."""
    if job not in JOBS:
        extra = " The outbox worker (`run realtime`) runs all the time inside `seconnect serve`." \
            if job == "realtime" else ""
        raise UsageError(f"{job!r} is not a job a schedule can run.",
                         hint=f"Choose one of: {', '.join(JOBS)} (see `seconnect run --help`).{extra}")
    plugins.require(cart, Capability(job))


def add(conn: Connection, plugins: Plugins, cart: CartDefinition, job: str, *, every_s: int | None = None,
        at_time: str | None = None) -> Schedule:
    check_job(plugins, cart, job)
    if (every_s is None) == (at_time is None):
        raise UsageError("say when the job runs: --every INTERVAL or --at HH:MM (one of them).")
    new_id = conn.execute(insert(_S).values(
        cart_id=cart.id, job=job, every_s=every_s, at_time=at_time, paused=False,
        next_due=next_due(every_s, at_time, utcnow()), created_at=utcnow()).returning(_S.c.id)).scalar_one()
    return get(conn, new_id)


def list_schedules(conn: Connection, cart_id: int | None = None) -> list[Schedule]:
    query = _query().order_by(_S.c.id)
    if cart_id is not None:
        query = query.where(_S.c.cart_id == cart_id)
    return [_schedule(r) for r in conn.execute(query).all()]


def get(conn: Connection, schedule_id: int) -> Schedule:
    row = conn.execute(_query().where(_S.c.id == schedule_id)).first()
    if row is None:
        raise NotFoundError(f"no schedule has id {schedule_id}.", hint="See `seconnect schedule list`.")
    return _schedule(row)


def remove(conn: Connection, schedule_id: int) -> Schedule:
    found = get(conn, schedule_id)
    conn.execute(delete(_S).where(_S.c.id == schedule_id))
    return found


def set_paused(conn: Connection, schedule_id: int, paused: bool) -> Schedule:
    found = get(conn, schedule_id)
    values: dict[str, Any] = {"paused": paused}
    if not paused and found.next_due is not None:  # resumed: a run missed while paused runs once, now
        values["next_due"] = max(found.next_due, utcnow()) if found.at_time is None else \
            next_due(None, found.at_time, utcnow())
    conn.execute(update(_S).where(_S.c.id == schedule_id).values(**values))
    return get(conn, schedule_id)


def want(conn: Connection, cart: CartDefinition, job: str) -> int:
    """A webhook wants ``job`` run for ``cart`` soon: mark its first active schedule for the job
    (one is added, "on webhooks only", if the cart has none). Returns the schedule's id."""
    now = utcnow()
    first = conn.execute(select(_S.c.id).where(_S.c.cart_id == cart.id, _S.c.job == job)
                         .order_by(_S.c.paused, _S.c.id).limit(1)).scalar()
    if first is None:
        return conn.execute(insert(_S).values(cart_id=cart.id, job=job, paused=False, wanted_at=now,
                                              created_at=now).returning(_S.c.id)).scalar_one()
    conn.execute(update(_S).where(_S.c.id == first).values(wanted_at=now))
    return first


def _due(now: datetime):
    return and_(_S.c.paused.is_(False),
                or_(_S.c.next_due <= now, _S.c.wanted_at.is_not(None)),
                or_(_S.c.lease_until.is_(None), _S.c.lease_until < now))


def claim_due(conn: Connection, owner: str, lease_s: float, limit: int, *,
              running: Sequence[int] = ()) -> list[Schedule]:
    """Claim up to ``limit`` due schedules for ``owner``; each is claimed by one instance only.
    ``running``: schedules the owner runs now, never claimed again even if their lease lapsed."""
    now = utcnow()
    query = select(_S.c.id).where(_due(now), _S.c.id.not_in(list(running))).order_by(_S.c.next_due, _S.c.id) \
        .limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for schedule_id in conn.execute(query).scalars().all():
        got = conn.execute(update(_S).where(_S.c.id == schedule_id, _due(now)).values(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_s), claimed_at=now)).rowcount
        if got:
            claimed.append(get(conn, schedule_id))
    return claimed


def seconds_to_next(conn: Connection) -> float | None:
    """Seconds until the earliest schedule nobody runs now is due (None: none is timed)."""
    now = utcnow()
    due = conn.execute(select(func.min(_S.c.next_due)).where(
        _S.c.paused.is_(False), or_(_S.c.lease_until.is_(None), _S.c.lease_until < now))).scalar()
    return None if due is None else (due - now).total_seconds()


def renew(conn: Connection, owner: str, schedule_ids: list[int], lease_s: float) -> None:
    if schedule_ids:
        conn.execute(update(_S).where(_S.c.id.in_(schedule_ids), _S.c.lease_owner == owner)
                     .values(lease_until=utcnow() + timedelta(seconds=lease_s)))


def finish(conn: Connection, owner: str, schedule: Schedule, run_id: int | None) -> bool:
    """Release a schedule after its run: next due from now, a webhook's wish kept if it came during
    the run. False if the lease was lost meanwhile (another instance took it over)."""
    now = utcnow()
    values: dict[str, Any] = {
        "lease_owner": None, "lease_until": None,
        "next_due": next_due(schedule.every_s, schedule.at_time, now, schedule.claimed_at or now),
        "wanted_at": case((_S.c.wanted_at <= _S.c.claimed_at, None), else_=_S.c.wanted_at),
    }
    if run_id is not None:
        values["last_run_id"] = run_id
    return bool(conn.execute(update(_S).where(_S.c.id == schedule.id, _S.c.lease_owner == owner)
                             .values(**values)).rowcount)
