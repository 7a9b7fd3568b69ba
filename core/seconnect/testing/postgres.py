"""A throwaway PostgreSQL cluster for tests and benchmarks: real server, no mock, no leftovers.

``throwaway_postgres()`` runs ``initdb`` in a temporary directory (in RAM where possible), starts the server on a free
loopback port with durability switched off (``fsync=off``: the data dies with the test run
anyway), yields a SQLAlchemy URL, and on exit stops the server and deletes the directory.

``initdb`` refuses to run as root, so as root the cluster is created and run as the ``postgres``
system user. Trust authentication on 127.0.0.1 only, which is fine for a cluster that lives
for one test session and listens on loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "PostgresNotAvailable",
    "find_pg_bin",
    "throwaway_postgres",
    "create_database",
    "drop_database",
]

_INSTALL_HINT = (
    "install the PostgreSQL server binaries (Debian/Ubuntu: `apt-get install postgresql`), "
    "set SECONNECT_PG_BIN to their directory, or set SECONNECT_TEST_PG_URL to an existing server"
)
_SERVER_USER = "postgres"
#: Where distributions install versioned server binaries (``<root>/<version>/bin``).
SERVER_ROOTS = ("/usr/lib/postgresql",)


class PostgresNotAvailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the cluster would not start."""


def find_pg_bin() -> Path:
    """The directory of the newest installed server binaries (``initdb``, ``pg_ctl``)."""
    env = os.environ.get("SECONNECT_PG_BIN")
    candidates = [Path(env)] if env else []

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", p.parent.name)) or (0,)

    for root in SERVER_ROOTS:
        candidates += sorted(Path(root).glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresNotAvailable(f"no PostgreSQL server binaries (initdb, pg_ctl) found: {_INSTALL_HINT}")


def _as_server_user(argv: Sequence[str]) -> list[str]:
    """Prefix a command so it runs as ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", _SERVER_USER, "--", *argv]
    import shlex

    return ["su", _SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: Sequence[str], what: str, log: Path | None = None) -> None:
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, env=_server_env(), cwd="/")
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        if log is not None and log.exists():
            detail += "\n--- server log ---\n" + log.read_text(errors="replace")[-4000:]
        raise PostgresNotAvailable(f"{what} failed (exit {proc.returncode}):\n{detail}")


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_"))}
    env.update(LANG="C", LC_ALL="C")
    return env


def _scratch_parent() -> str | None:
    """Where to put the cluster: RAM (``/dev/shm``) when there is one.

    Measured here: ``CREATE DATABASE`` takes ~20 ms on tmpfs and 200-600 ms on the VM's ext4
    disk (each database is ~300 small files); the cluster is thrown away, so RAM is the place.
    ``SECONNECT_PG_TMPDIR`` overrides.
    """
    chosen = os.environ.get("SECONNECT_PG_TMPDIR")
    if chosen:
        return chosen
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) and shutil.disk_usage(shm).free > 1 << 30:
        return str(shm)
    return None  # the platform's temp directory


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres(dbname: str = "seconnect") -> Iterator[str]:
    """Start a private PostgreSQL cluster; yield ``postgresql+psycopg://postgres@127.0.0.1:PORT/dbname``."""
    bindir = find_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="seconnect-pg-", dir=_scratch_parent()))
    data, log = root / "data", root / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, user=_SERVER_USER, group=None)
        _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C", "--no-sync", "--no-instructions"], "initdb")
        for attempt in range(3):
            port = _free_port()
            options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                      "-o", options, "start"], "starting PostgreSQL", log)
                started = True
                break
            except PostgresNotAvailable:
                if attempt == 2:  # the port may have been taken between probe and start
                    raise
        server = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        create_database(f"{server}/postgres", dbname)
        yield f"{server}/{dbname}"
    finally:
        if started:
            subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                            "-w", "stop"]), capture_output=True, env=_server_env(), cwd="/")
        shutil.rmtree(root, ignore_errors=True)


def _admin_conninfo(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql", database="postgres")
    return url.render_as_string(hide_password=False)


def create_database(server_url: str, name: str | None = None, template: str = "template0") -> str:
    """Create a database on the server of ``server_url``; return its URL (same credentials).

    ``name`` defaults to a unique ``test_<hex>``. ``template0`` + ``FILE_COPY`` is the quickest
    way PostgreSQL has to make an empty database (``FILE_COPY`` needs PostgreSQL 15; older servers
    use their default).
    """
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = name or f"test_{uuid.uuid4().hex[:16]}"
    create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        if conn.info.server_version >= 150000:
            create += sql.SQL(" STRATEGY FILE_COPY")
        conn.execute(create)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database, disconnecting anyone still on it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_admin_conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
