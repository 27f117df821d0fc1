"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from the Debian
``postgresql`` package, in a temporary folder, on a free loopback port.

As root (CI), the server runs as the ``postgres`` system user the package creates
(or ``nobody``): PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harvester.testing import free_port


def binaries() -> str | None:
    """Folder of the newest installed PostgreSQL server binaries, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return os.path.dirname(found[-1]) if found else None


def _server_user() -> str:
    """The unprivileged user a root process runs the server as."""
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@contextmanager
def run_postgres() -> Iterator[str]:
    """Start a server; yield a SQLAlchemy URL of an empty database on it."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install -y postgresql")
    folder = tempfile.mkdtemp(prefix="harvester-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = _server_user()
        shutil.chown(folder, user)
        as_user = ["runuser", "-u", user, "--"]
    data, log, port = os.path.join(folder, "data"), os.path.join(folder, "log"), free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True)
        if done.returncode != 0:
            server_log = (
                Path(log).read_text(errors="replace")[-2000:] if os.path.exists(log) else ""
            )
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}{server_log}")

    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        # paths are mkdtemp's: no spaces
        run(f"{bindir}/initdb", *f"-D {data} -A trust -U harvester -E UTF8 --no-sync".split())
        run(f"{bindir}/pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")
        run(f"{bindir}/createdb", *f"-h 127.0.0.1 -p {port} -U harvester harvester_test".split())
        yield f"postgresql+psycopg://harvester@127.0.0.1:{port}/harvester_test"
    finally:
        stop = [*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
