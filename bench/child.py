"""One measured process: ``django.setup()``, then one operation, timed, with its SQL recorded.

Run by bench/run.py under either interpreter (the system python for pgtrigger_live, the
venv for django-pgtrigger); needs only the standard library and Django. The project and the
library come from the environment (see bench/project.py). Writes one JSON object to --out.

Times are ``time.perf_counter()`` around the operation only: the connection is opened
before the clock starts and the recorded SQL is parsed after it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import importlib.metadata
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqltext

OPERATIONS = ("setup", "syncdb", "install", "migrate", "ls", "prune", "install_loop", "bare")


class Recorder:
    """A Django execute wrapper that keeps every SQL string sent and counts transactions.

    A statement outside ``atomic`` is a transaction of its own (autocommit); statements
    inside one count once, when the outermost block commits or rolls back.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.sent: list[str] = []
        self.transactions = 0
        self._open = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.sent.append(sql)
        if self.connection.in_atomic_block:
            self._open = True
        else:
            self.transactions += 1
        return execute(sql, params, many, context)

    def _ended(self) -> None:
        if self._open:
            self.transactions += 1
            self._open = False

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        connection = self.connection
        commit, rollback = connection.commit, connection.rollback

        def counted_commit() -> None:
            self._ended()
            commit()

        def counted_rollback() -> None:
            self._ended()
            rollback()

        connection.commit, connection.rollback = counted_commit, counted_rollback
        try:
            with connection.execute_wrapper(self):
                yield
        finally:
            del connection.commit, connection.rollback  # back to the class's methods


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _operation(library: Any, op: str) -> Callable[[], int]:
    """The timed callable for ``op``; it returns the number of output lines (for ``ls``)."""
    from django.core.management import call_command

    def install() -> int:
        library.install()
        return 0

    def prune() -> int:
        library.prune()
        return 0

    def migrate() -> int:
        # skip_checks=False: what ``manage.py migrate`` does, system checks included.
        call_command("migrate", verbosity=0, interactive=False, skip_checks=False)
        return 0

    def syncdb() -> int:
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        return 0

    def ls() -> int:
        # django-pgtrigger prints with print(), pgtrigger_live writes to the command's stdout.
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            call_command("pgtrigger", "ls", stdout=out)
        return len(out.getvalue().splitlines())

    table: dict[str, Callable[[], int]] = {
        "install": install,
        "prune": prune,
        "migrate": migrate,
        "syncdb": syncdb,
        "ls": ls,
    }
    return table[op]


def connection_driver() -> str:
    """The driver Django's backend imported, with its version."""
    from django.db import connection

    database = connection.Database
    return f"{database.__name__} {getattr(database, '__version__', '?').split()[0]}"


def _bare(library: Any, connection: Any) -> Callable[[], int]:
    """The floor of a no-op: the catalog query a reconcile sends, on a plain driver cursor.

    The query and its parameters are captured from ``status()`` (untimed); the timed callable
    sends them on a new connection of the same driver, in autocommit as Django's, so its
    backend is as cold as the one a reconcile meets.
    """
    captured: list[tuple[str, Any]] = []

    def capture(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, ctx)

    with connection.execute_wrapper(capture):
        library.status()
    if len(captured) != 1:
        raise RuntimeError(f"status() sent {len(captured)} queries, expected the catalog query")
    sql, params = captured[0]
    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = True

    def send() -> int:
        cursor = raw.cursor()
        cursor.execute(sql, params)
        return len(cursor.fetchall())

    return send


def _wait_for_go(barrier: Path, name: str) -> None:
    """Tell the parent this process is ready, then wait until it says go (at most 2 min)."""
    (barrier / f"ready-{name}").touch()
    deadline = time.monotonic() + 120
    while not (barrier / "go").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the parent never said go")
        time.sleep(0.002)


def _install_loop(library: Any, calls: int) -> dict[str, Any]:
    """Call install() ``calls`` times in a row; a failure is recorded, not raised."""
    results: list[dict[str, Any]] = []
    for _ in range(calls):
        started = time.perf_counter()
        error = None
        try:
            library.install()
        except Exception as exc:  # every failure counts, whatever its type
            message = str(exc).strip().splitlines()
            error = f"{type(exc).__name__}: {message[0] if message else ''}"
        results.append({"s": time.perf_counter() - started, "error": error})
    return {"calls": results, "failures": sum(1 for r in results if r["error"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--op", choices=OPERATIONS, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=10, help="install_loop: install() calls")
    parser.add_argument("--barrier", type=Path, help="install_loop: directory to sync on")
    parser.add_argument("--name", default="0", help="install_loop: this process's name")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the operation")
    args = parser.parse_args()

    sys.path.insert(0, str(args.project))
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchproj.settings"
    if os.environ.get("BENCH_DRIVER") == "psycopg2":
        # Django prefers psycopg 3 when both are installed: hide it so the backend and the
        # library under test both run on psycopg2.
        sys.modules["psycopg"] = None  # type: ignore[assignment]
    import django

    started = time.perf_counter()
    django.setup()
    setup_s = time.perf_counter() - started

    module = os.environ["BENCH_LIB"]
    library = importlib.import_module(module)
    result: dict[str, Any] = {
        "library": module,
        "library_version": _version("django-pgtrigger" if module == "pgtrigger" else module),
        "django": django.__version__,
        "psycopg": _version("psycopg"),
        "driver": connection_driver(),
        "python": platform.python_version(),
        "op": args.op,
        "registered": len(library.registered()),
        "setup_s": setup_s,
    }
    if args.op == "setup":
        args.out.write_text(json.dumps(result))
        return 0

    from django.db import connection

    connection.ensure_connection()
    result["server_version"] = getattr(connection, "pg_version", None)
    if args.op == "install_loop":
        if args.barrier is not None:
            _wait_for_go(args.barrier, args.name)
        result.update(_install_loop(library, args.calls))
        args.out.write_text(json.dumps(result))
        return 0

    operation = _bare(library, connection) if args.op == "bare" else _operation(library, args.op)
    recorder = Recorder(connection)
    profiler = cProfile.Profile() if args.profile else None
    with recorder.recording():
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        output_lines = operation()
        result["op_s"] = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    result["output_lines"] = output_lines
    result["transactions"] = recorder.transactions
    result.update(sqltext.summarize(recorder.sent))
    args.out.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
