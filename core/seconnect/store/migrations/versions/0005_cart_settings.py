"""Cart settings as one document from the cart type's schema; secrets apart, still encrypted.

Revision ID: 0005
Revises: 0004

The SETI columns ``user_name``, ``store_code`` and ``script_url`` become the ``settings``
document ``{"user", "store_code", "script_url"}`` (every value kept, a blank Store Code too), and
``password_enc`` becomes ``secrets = {"password": <token>}``: the Fernet token is moved as it is,
so no key is needed (a forgotten password stays ``""``). Carts are few: rows are moved one by
one in Python, the same on SQLite (batch mode rebuilds the table) and PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SETTINGS_COMMENT = ("the settings that are not secret, valid against the type's config_schema (a script_url is "
                     "stored without scheme; traffic is always HTTPS)")
_SECRETS_COMMENT = "secret setting name -> Fernet token (seconnect.secrets); '' once forgotten"
_JSON = sa.JSON(none_as_null=True)

_carts = sa.table("carts", sa.column("id", sa.Integer), sa.column("user_name", sa.Text),
                  sa.column("password_enc", sa.Text), sa.column("store_code", sa.Text),
                  sa.column("script_url", sa.Text), sa.column("settings", _JSON), sa.column("secrets", _JSON))


def upgrade() -> None:
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("settings", _JSON, nullable=True, comment=_SETTINGS_COMMENT))
        batch.add_column(sa.Column("secrets", _JSON, nullable=True, comment=_SECRETS_COMMENT))
    conn = op.get_bind()
    c = _carts.c
    for row in conn.execute(sa.select(c.id, c.user_name, c.password_enc, c.store_code, c.script_url)).all():
        conn.execute(_carts.update().where(c.id == row.id).values(
            settings={"user": row.user_name or "", "store_code": row.store_code or "", "script_url": row.script_url},
            secrets={"password": row.password_enc or ""}))
    with op.batch_alter_table("carts") as batch:
        batch.alter_column("settings", existing_type=_JSON, nullable=False, existing_comment=_SETTINGS_COMMENT)
        batch.alter_column("secrets", existing_type=_JSON, nullable=False, existing_comment=_SECRETS_COMMENT)
        for column in ("user_name", "password_enc", "store_code", "script_url"):
            batch.drop_column(column)


def downgrade() -> None:
    """Back to the SETI columns; a setting they have no place for is lost (only a non-SETI cart has one)."""
    with op.batch_alter_table("carts") as batch:
        batch.add_column(sa.Column("user_name", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("password_enc", sa.Text(), nullable=False, server_default="",
                                   comment="Fernet token (seconnect.secrets)"))
        batch.add_column(sa.Column("store_code", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("script_url", sa.Text(), nullable=True,
                                   comment="without scheme, as typed; traffic is always HTTPS"))
    conn = op.get_bind()
    c = _carts.c
    for row in conn.execute(sa.select(c.id, c.settings, c.secrets)).all():
        settings, secrets = row.settings or {}, row.secrets or {}
        conn.execute(_carts.update().where(c.id == row.id).values(
            user_name=str(settings.get("user", "")), store_code=str(settings.get("store_code", "")),
            script_url=str(settings.get("script_url", "")), password_enc=secrets.get("password", "")))
    with op.batch_alter_table("carts") as batch:
        batch.alter_column("script_url", existing_type=sa.Text(), nullable=False)
        batch.drop_column("secrets")
        batch.drop_column("settings")
