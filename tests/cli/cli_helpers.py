"""Helpers shared by the CLI tests."""

from __future__ import annotations

import sqlalchemy as sa

URL = "store-xyz.bigcommerce.com/accountinggateway.php?action=process&accounting=stoneedge"
PASSWORD = "Tide-Pool-42'\\"


def add(seconnect, name="Harbor", *extra, password=PASSWORD, type_="Interspire", url=URL):
    return seconnect("carts", "add", name, "--type", type_, "--user", "seom.sync", "--script-url", url,
                     "--password-stdin", *extra, input=password + "\n")


def dump_db(db_url) -> str:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            out += [repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(out)


