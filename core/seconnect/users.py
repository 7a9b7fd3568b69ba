"""Dashboard users and their API tokens.

Passwords are hashed with argon2id (argon2-cffi, its recommended parameters) and never kept;
API tokens are 32 random bytes shown once, kept as their SHA-256 digest (a random token needs no
slow hash) and compared by that digest. Names are unique ignoring case, like cart names.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, func, insert, select, update

from .errors import NotFoundError, UsageError
from .store import tables, utcnow

__all__ = ["User", "add_user", "list_users", "remove_user", "new_token", "check_password", "check_token",
           "count_users", "MIN_PASSWORD"]

_U, _T = tables.users, tables.api_tokens
_HASHER = PasswordHasher()
#: Shortest password accepted: the dashboard may be reachable by others on the network.
MIN_PASSWORD = 8
_TOKEN_PREFIX = "sec_"


@dataclass(frozen=True)
class User:
    id: int
    name: str


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise UsageError(f"{name!r} is not a usable user name.",
                         hint="Use 1-100 visible characters without spaces, e.g. `seconnect users add alice`.")
    return name


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(_U)).scalar_one()


def add_user(conn: Connection, name: str, password: str) -> User:
    """A new user ``name`` with ``password`` (at least :data:`MIN_PASSWORD` characters)."""
    name = _check_name(name)
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is shorter than {MIN_PASSWORD} characters; nothing was saved.",
                         hint="Choose a longer one (a passphrase of a few words is easy to type).")
    if conn.execute(select(_U.c.id).where(_U.c.name_key == name.casefold())).first():
        raise UsageError(f"there is already a user named {name!r}.",
                         hint="Pick another name, or `seconnect users remove NAME` first.")
    user_id = conn.execute(insert(_U).values(name=name, name_key=name.casefold(),
                                             password_hash=_HASHER.hash(password), created_at=utcnow())
                           ).inserted_primary_key[0]
    return User(user_id, name)


def _get(conn: Connection, name: str) -> Any:
    row = conn.execute(select(_U).where(_U.c.name_key == name.strip().casefold())).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r}.", hint="`seconnect users list` shows them.")
    return row


def list_users(conn: Connection) -> list[dict[str, Any]]:
    tokens = (select(_T.c.user_id, func.count().label("n"), func.max(_T.c.last_used_at).label("used"))
              .group_by(_T.c.user_id).subquery())
    rows = conn.execute(select(_U.c.name, _U.c.created_at, tokens.c.n, tokens.c.used)
                        .outerjoin(tokens, tokens.c.user_id == _U.c.id).order_by(_U.c.name_key))
    return [{"name": r.name, "created_at": r.created_at, "tokens": r.n or 0, "token_last_used_at": r.used}
            for r in rows]


def remove_user(conn: Connection, name: str) -> str:
    """Remove the user and every API token of theirs; their open sessions stop at the next request."""
    row = _get(conn, name)
    conn.execute(delete(_T).where(_T.c.user_id == row.id))
    conn.execute(delete(_U).where(_U.c.id == row.id))
    return row.name


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(conn: Connection, name: str, label: str = "") -> str:
    """A new API token for user ``name``: returned once, only its digest is stored."""
    row = _get(conn, name)
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(_T).values(user_id=row.id, token_hash=_digest(token), label=label, created_at=utcnow()))
    return token


def check_password(conn: Connection, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else None (unknown names cost a hash too)."""
    dummy = _dummy_hash()  # made (once) before the lookup: a first unknown name takes no longer
    row = conn.execute(select(_U).where(_U.c.name_key == name.strip().casefold())).first()
    stored = row.password_hash if row else dummy
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return User(row.id, row.name) if row else None


def check_token(conn: Connection, token: str, now: datetime | None = None) -> User | None:
    """The token's user (and its last use noted), or None."""
    row = conn.execute(select(_T.c.id, _U.c.id.label("user_id"), _U.c.name).join(_U, _U.c.id == _T.c.user_id)
                       .where(_T.c.token_hash == _digest(token))).first()
    if row is None:
        return None
    conn.execute(update(_T).where(_T.c.id == row.id).values(last_used_at=now or utcnow()))
    return User(row.user_id, row.name)


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(_U.c.id, _U.c.name).where(_U.c.id == user_id)).first()
    return User(row.id, row.name) if row else None


@functools.cache
def _dummy_hash() -> str:
    # made on first need, not at import: hashing costs every seconnect command ~0.13 s of CPU
    return _HASHER.hash(secrets.token_hex(16))
