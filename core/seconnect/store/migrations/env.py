"""Alembic environment for the store schema.

seconnect runs it from ``seconnect.store.migrate.upgrade`` with an open connection (already in
a locked transaction) in ``config.attributes["connection"]``. For development it also works from
a bare Config with ``sqlalchemy.url`` set (e.g. to autogenerate a new revision against an empty
SQLite file), and offline (``--sql``) to hand a DBA the SQL.
"""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.types import TypeDecorator

from seconnect.store.migrate import VERSION_TABLE
from seconnect.store.tables import metadata


def render_item(type_, obj, autogen_context):
    """Write our TypeDecorators as the plain type they store, so revisions never import them:
    a revision is a frozen snapshot and must not change when seconnect's Python types do."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        return f"sa.{impl!r}"
    return False


def _configure(**kwargs):
    context.configure(
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_item=render_item,
        compare_type=True,
        # All revisions in one transaction: a failure leaves the old schema as it was.
        transaction_per_migration=False,
        transactional_ddl=True,
        **kwargs,
    )


config = context.config
connection = config.attributes.get("connection")

if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as own_connection:
        _configure(connection=own_connection, render_as_batch=own_connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
