"""A throwaway Redis server for tests and benchmarks: ``redis-server`` from the Debian
package, in a temporary folder, on a free loopback port, nothing persisted."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from harvester.testing import free_port, stop_process


def binary() -> str | None:
    """Path of ``redis-server``, if installed (Debian puts it in /usr/bin)."""
    return shutil.which("redis-server", path="/usr/local/bin:/usr/bin:/usr/sbin")


@contextmanager
def run_redis() -> Iterator[str]:
    """Start a server; yield its URL (``redis://127.0.0.1:<port>/0``)."""
    server = binary()
    if server is None:
        raise RuntimeError("redis-server not found: apt-get install -y redis-server")
    folder = tempfile.mkdtemp(prefix="harvester-redis-")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [server, *options, "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)
        shutil.rmtree(folder, ignore_errors=True)
