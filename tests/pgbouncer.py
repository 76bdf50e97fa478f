"""A throwaway PgBouncer in transaction pooling mode, in front of the test PostgreSQL.

``start(host, port)`` runs Debian's ``pgbouncer`` (``apt-get install pgbouncer``) on a free
loopback port, every database passed through to the server, one server connection per
database and user (``default_pool_size = 1``), so two clients share one server connection
and anything one of them leaves on it shows in the other. As root it runs as ``$PGTEST_USER``
(default ``nobody``), like the test server. ``find()`` returns None when it is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG = """\
[databases]
* = host={host} port={port} user={user}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 50
ignore_startup_parameters = extra_float_digits,options
server_reset_query =
logfile = {dir}/pgbouncer.log
"""


def find() -> str | None:
    """Path of the pgbouncer binary, or None."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    for candidate in ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@dataclass
class Bouncer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # SIGINT: safe shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "pgbouncer.log").read_text(errors="replace")[-3000:]
        return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> dict[str, Any]:
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import pwd

    entry = pwd.getpwnam(os.environ.get("PGTEST_USER") or "nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def start(
    host: str,
    port: int,
    binary: str,
    *,
    user: str = "postgres",
    password: str = "",
    timeout: float = 15.0,
) -> Bouncer:
    """Start pgbouncer in front of ``host:port``; raise RuntimeError if it does not come up.

    Clients log in to it as ``user`` without a password; it logs in to the server as
    ``user`` with ``password``.
    """
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    run_as = _run_as()
    if run_as:
        os.chown(directory, run_as["user"], run_as["group"])
    listen = _free_port()
    (directory / "users.txt").write_text(f'{_quote(user)} ""\n')
    config = directory / "pgbouncer.ini"
    secret = f" password={password}" if password else ""
    config.write_text(
        CONFIG.format(
            host=host, port=port, user=user, password=secret, listen=listen, dir=directory
        )
    )
    for path in directory.iterdir():
        os.chmod(path, 0o644)
    process = subprocess.Popen(
        [binary, str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory,
        start_new_session=True,
        **run_as,
    )
    bouncer = Bouncer(listen, directory, process)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            log = bouncer.log()
            bouncer.stop()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", listen), 1):
            return bouncer
        if time.monotonic() > deadline:
            log = bouncer.log()
            bouncer.stop()
            raise RuntimeError(f"pgbouncer did not listen within {timeout} s:\n{log}")
        time.sleep(0.02)
