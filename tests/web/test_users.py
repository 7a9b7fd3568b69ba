"""Users and API tokens in the store, on SQLite and PostgreSQL: only hashes are kept, names are
unique ignoring case, and removing a user takes their tokens with them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from seconnect import users
from seconnect.errors import NotFoundError, UsageError
from seconnect.store import tables


def test_passwords_and_tokens_are_kept_only_as_hashes(store):
    with store.begin() as conn:
        users.add_user(conn, "Alice", "a long passphrase")
        token = users.new_token(conn, "alice", "cron")
        rows = [dict(r._mapping) for t in (tables.users, tables.api_tokens) for r in conn.execute(sa.select(t))]
    stored = repr(rows)
    assert "a long passphrase" not in stored and token not in stored and "$argon2id$" in stored
    with store.begin() as conn:
        assert users.check_password(conn, "ALICE", "a long passphrase").name == "Alice"
        assert users.check_password(conn, "alice", "a long passphrasE") is None
        assert users.check_password(conn, "nobody", "a long passphrase") is None
        assert users.check_token(conn, token).name == "Alice"
        assert users.check_token(conn, token + "x") is None
        with pytest.raises(UsageError, match="already a user"):
            users.add_user(conn, "alice", "another long one")
    with store.begin() as conn:
        assert users.remove_user(conn, "alice") == "Alice"
        assert users.check_token(conn, token) is None
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.api_tokens)).scalar_one() == 0
        with pytest.raises(NotFoundError, match="users list"):
            users.new_token(conn, "alice")


@pytest.mark.parametrize("name", ["", "two words", "tab\there", "x" * 101])
def test_unusable_names_are_refused(store, name):
    with store.begin() as conn, pytest.raises(UsageError, match="usable user name"):
        users.add_user(conn, name, "a long passphrase")
