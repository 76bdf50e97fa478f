"""Benchmark pgtrigger_live against django-pgtrigger 4.17.0, side by side, in one run.

    python bench/run.py            # ~8 minutes; writes bench/README.md, RESULTS-*.md, results/

Run by hand, never by pytest. Everything runs once per driver (psycopg2, then psycopg 3;
``--drivers``), both libraries on the same driver, next to two floors: the no-op's catalog
query alone on a plain driver cursor (F0) and the first install's plan sent by psql (F1).
django-pgtrigger runs in its own virtualenv (bench/.venv-pgtrigger, created on first use, or
BENCH_ANCHOR_PYTHON); pgtrigger_live runs from this checkout with the system python. PostgreSQL comes from DATABASE_URL (the role needs CREATEDB) or is a throwaway
server started by pgtrigger_live/testing/postgres.py (set PG_BINDIR to choose the binaries).

Every timed number is the median of --runs fresh processes; each process times only the
operation (bench/child.py). Databases are cloned from templates, so every scenario starts
from a known state: no tables' triggers (empty) or all of one library's triggers (installed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import project
import psycopg
import report
from psycopg import sql

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CHILD = BENCH / "child.py"
VENV = BENCH / ".venv-pgtrigger"
RESULTS = BENCH / "results"
ANCHOR_REQUIREMENTS = (
    "django-pgtrigger==4.17.0",
    "Django==5.2.*",
    "psycopg[binary]",
    "psycopg2-binary",
)
DRIVERS = ("psycopg2", "psycopg")
DB_PREFIX = "pgtl_bench_"
#: Every measured count that must not vary between runs of one scenario.
COUNT_KEYS = ("round_trips", "statements", "transactions", "ddl_total", "table_lock_statements")

sys.path.insert(0, str(REPO))
from pgtrigger_live.testing import postgres as pgtest  # noqa: E402  (the repo root is only importable after the line above)


class BenchError(RuntimeError):
    """A child process failed or the database is not in the state a scenario expects."""


@dataclass(frozen=True)
class Library:
    module: str  # BENCH_LIB: the Django app and the module models.py imports
    title: str
    python: Path
    pythonpath: str | None
    driver: str = "psycopg"


# -- setup ------------------------------------------------------------------------------------


def ensure_venv() -> Path:
    """bench/.venv-pgtrigger's python, with django-pgtrigger 4.17.0 installed in it."""
    python = Path(os.environ.get("BENCH_ANCHOR_PYTHON") or VENV / "bin" / "python")
    probe = (
        "import importlib.metadata as m, psycopg, psycopg2; print(m.version('django-pgtrigger'))"
    )
    if python.exists():
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == "4.17.0":
            return python
    print(f"creating {VENV.relative_to(REPO)} with {' '.join(ANCHOR_REQUIREMENTS)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", VENV], check=True)
    pip: list[str | Path] = [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, *ANCHOR_REQUIREMENTS], check=True)
    return python


def child_environment() -> dict[str, str]:
    """Our environment minus what could leak into a child's Django or libpq.

    PYTHONDONTWRITEBYTECODE is dropped too: a deployed project imports from its bytecode
    caches, which the first (untimed) child of each library writes; without them every
    child would compile the modules it imports lazily (the management command of ``ls``)
    from source, inside the timed operation, while a pip-installed library has them.
    """
    drop = {
        "PYTHONPATH",
        "DJANGO_SETTINGS_MODULE",
        "DATABASE_URL",
        "VIRTUAL_ENV",
        "PYTHONDONTWRITEBYTECODE",
    }
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PG")}


class Cluster:
    """The PostgreSQL server: creates, clones and inspects the benchmark databases."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = psycopg.connect(url, autocommit=True)
        self.created: set[str] = set()

    def settings(self, name: str) -> dict[str, Any]:
        entry = pgtest.parse_database_url(self.url)
        entry["NAME"] = name
        return entry

    def connect(self, name: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, dbname=name, autocommit=autocommit)

    def create(self, name: str, template: str | None = None) -> str:
        self.drop(name)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        for attempt in range(20):  # a child's backend may still be exiting from the template
            try:
                self.admin.execute(statement)
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        self.created.add(name)
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        self.created.discard(name)

    def close(self) -> None:
        """Drop every database this run created, then disconnect."""
        for name in sorted(self.created):
            self.drop(name)
        self.admin.close()

    def version(self) -> str:
        row = self.admin.execute("SELECT version()").fetchone()
        return str(row[0]) if row else "?"


# -- catalog snapshots --------------------------------------------------------------------------

_TRIGGERS = """
SELECT c.relname, t.tgname, t.oid::bigint, t.xmin::text, p.oid::bigint, p.xmin::text,
       coalesce(obj_description(t.oid, 'pg_trigger'), '')
  FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  LEFT JOIN pg_proc p ON p.oid = t.tgfoid
 WHERE t.tgname LIKE 'pgtrigger\\_%' AND NOT t.tgisinternal
"""
_FUNCTIONS = "SELECT count(*) FROM pg_proc WHERE proname LIKE 'pgtrigger\\_%'"
_WAITING = """
SELECT l.mode, coalesce(l.relation::regclass::text, l.locktype)
  FROM pg_locks l
 WHERE NOT l.granted AND l.database = (SELECT oid FROM pg_database
                                        WHERE datname = current_database())
"""

Snapshot = dict[tuple[str, str], tuple[Any, ...]]


def snapshot(cluster: Cluster, name: str) -> Snapshot:
    """(table, trigger) -> (oid, xmin, function oid, function xmin, comment)."""
    with cluster.connect(name) as conn:
        return {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(_TRIGGERS).fetchall()}


def count_functions(cluster: Cluster, name: str) -> int:
    with cluster.connect(name) as conn:
        row = conn.execute(_FUNCTIONS).fetchone()
    return int(row[0]) if row else 0


def compare(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """What happened to each trigger: re-created (new OID), row rewritten, function or
    comment replaced. ``touched`` is every trigger with any of these changes."""
    recreated = {
        k
        for k in before.keys() | after.keys()
        if before.get(k, (None,))[0] != after.get(k, (None,))[0]
    }
    common = (before.keys() & after.keys()) - recreated
    rewritten = {k for k in common if before[k][1] != after[k][1]}
    functions = {k for k in common if before[k][2:4] != after[k][2:4]}
    comments = {k for k in common if before[k][4] != after[k][4]}
    touched = recreated | rewritten | functions | comments
    return {
        "recreated": len(recreated),
        "row_rewritten": len(rewritten),
        "function_replaced": len(functions),
        "comment_changed": len(comments),
        "touched": len(touched),
        "touched_examples": sorted(f"{t}.{g}" for t, g in touched)[:3],
    }


# -- the benchmark ------------------------------------------------------------------------------


class Bench:
    def __init__(
        self, args: argparse.Namespace, cluster: Cluster, libraries: list[Library], workdir: Path
    ) -> None:
        self.args = args
        self.cluster = cluster
        self.libraries = libraries
        self.workdir = workdir
        self.project = workdir / "project"
        self.models: int = args.models
        self.triggers = 3 * self.models
        self.raw: list[dict[str, Any]] = []
        self._children = 0
        self.empty = DB_PREFIX + "empty"
        self.installed: dict[str, str] = {}
        self.scenarios: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.extras: dict[str, Any] = {"lock_checks": {}, "concurrency": {}, "setup": {}}

    # -- processes ------------------------------------------------------------------------------

    def spawn(
        self,
        lib: Library,
        op: str,
        *,
        db: str,
        triggers: int | None = None,
        variant: str = "0",
        install_on_migrate: bool = True,
        extra: tuple[str, ...] = (),
    ) -> tuple[subprocess.Popen[str], Path]:
        self._children += 1
        out = self.workdir / f"child-{self._children:04d}.json"
        env = child_environment() | {
            "BENCH_LIB": lib.module,
            "BENCH_DB": json.dumps(self.cluster.settings(db)),
            "BENCH_TRIGGERS": str(self.triggers if triggers is None else triggers),
            "BENCH_VARIANT": variant,
            "BENCH_INSTALL_ON_MIGRATE": "1" if install_on_migrate else "0",
            "BENCH_DRIVER": lib.driver,
        }
        if lib.pythonpath:
            env["PYTHONPATH"] = lib.pythonpath
        cmd = [
            str(lib.python),
            str(CHILD),
            "--project",
            str(self.project),
            "--op",
            op,
            "--out",
            str(out),
            *extra,
        ]
        process = subprocess.Popen(
            cmd,
            env=env,
            cwd=self.workdir,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return process, out

    def collect(
        self, process: subprocess.Popen[str], out: Path, label: str, timeout: float = 600
    ) -> dict[str, Any]:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise BenchError(f"{label}: timed out after {timeout} s") from None
        if process.returncode != 0 or not out.exists():
            raise BenchError(f"{label}: exit {process.returncode}\n{stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        result["label"] = label
        self.raw.append(result)
        return result

    def child(self, lib: Library, op: str, *, db: str, label: str, **kwargs: Any) -> dict[str, Any]:
        process, out = self.spawn(lib, op, db=db, **kwargs)
        return self.collect(process, out, f"{label} {lib.module}")

    def runs(self) -> Iterator[tuple[int, Library]]:
        """Every (run, library), alternating which library goes first."""
        for run in range(self.args.runs):
            yield from ((run, lib) for lib in self.libraries[:: 1 if run % 2 == 0 else -1])

    def record(self, scenario: str, lib: Library, result: dict[str, Any]) -> None:
        self.scenarios.setdefault(scenario, {}).setdefault(lib.module, []).append(result)

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def expect_triggers(self, db: str, expected: int, label: str) -> None:
        found = len(snapshot(self.cluster, db))
        if found != expected:
            raise BenchError(f"{label}: {found} triggers installed, expected {expected}")

    # -- templates ------------------------------------------------------------------------------

    def prepare(self) -> None:
        project.write(self.project, self.models)
        live = next(lib for lib in self.libraries if lib.module == "pgtrigger_live")
        self.say(f"template: {self.models} tables, no triggers")
        self.cluster.create(self.empty)
        self.child(
            live, "syncdb", db=self.empty, label="syncdb", triggers=0, install_on_migrate=False
        )
        for lib in self.libraries:  # also warms each interpreter's bytecode caches
            name = self.cluster.create(f"{DB_PREFIX}installed_{lib.module}", self.empty)
            self.child(lib, "install", db=name, label="template install")
            self.expect_triggers(name, self.triggers, f"template {lib.module}")
            self.installed[lib.module] = name

    def clone(self, lib: Library, what: str, source: str) -> str:
        return self.cluster.create(f"{DB_PREFIX}{what}_{lib.module}", source)

    # -- scenarios ------------------------------------------------------------------------------

    def setup_times(self) -> None:
        counts = [0, self.triggers // 2, self.triggers, 2 * self.triggers]
        self.say(f"django.setup() at {counts} triggers")
        for _, lib in self.runs():
            for count in counts:
                result = self.child(
                    lib, "setup", db=self.empty, label=f"setup {count}", triggers=count
                )
                if result["registered"] != count:
                    raise BenchError(f"setup {count}: {result['registered']} registered")
                times = self.extras["setup"].setdefault(lib.module, {})
                times.setdefault(str(count), []).append(result["setup_s"])

    def first_install(self) -> None:
        self.say("S1 first install()")
        for run, lib in self.runs():
            db = self.clone(lib, f"s1_{run}", self.empty)
            result = self.child(lib, "install", db=db, label="S1")
            self.expect_triggers(db, self.triggers, "S1")
            result["functions_after"] = count_functions(self.cluster, db)
            self.record("S1", lib, result)
            self.cluster.drop(db)
        self.say("F1 psql floor of the first install")
        self.psql_floor(next(lib for lib in self.libraries if lib.module == "pgtrigger_live"))

    def in_sync(self) -> None:
        """S2 install(), S2m migrate and S3 ls on a database that is already in sync."""
        dbs = {
            lib.module: self.clone(lib, "sync", self.installed[lib.module])
            for lib in self.libraries
        }
        live = next(lib for lib in self.libraries if lib.module == "pgtrigger_live")
        for scenario, op in (("S2", "install"), ("S2m", "migrate"), ("S3", "ls")):
            self.say(f"{scenario} {op} with everything in sync")
            for run, lib in self.runs():
                db = dbs[lib.module]
                before = snapshot(self.cluster, db)
                result = self.child(lib, op, db=db, label=scenario)
                result["catalog"] = compare(before, snapshot(self.cluster, db))
                self.record(scenario, lib, result)
                if scenario == "S2" and lib is live and run % 2 == 0:
                    self.bare_query(live, db)
                elif scenario == "S2" and lib is not live and run % 2 == 1:
                    self.bare_query(live, dbs[live.module])
        self.say("S2 lock check: install() while a writer holds every table")
        for lib in self.libraries:
            self.extras["lock_checks"].setdefault("S2", {})[lib.module] = self.lock_check(
                lib, dbs[lib.module], variant="0"
            )
            self.cluster.drop(dbs[lib.module])

    def bare_query(self, live: Library, db: str) -> None:
        """F0: the catalog query of a no-op alone, on a plain driver cursor (fresh backend)."""
        result = self.child(live, "bare", db=db, label="F0 bare catalog query")
        self.record("F0", live, result)

    def psql_floor(self, live: Library) -> None:
        """F1/F1d: the first install's plan sent by psql as one transaction in one query.

        F1: the statements ``pgtrigger install --dry-run --json`` lists as ``round_trips``
        (exactly what the applier sends after its catalog read: table locks, functions,
        triggers, one signing block per round trip). F1d: the same without any ``DO`` block
        (no table locks, no signing): the trigger DDL alone. psql's ``\\timing`` measures from
        sending to the result, connection excluded, as the children do.
        """
        env = child_environment() | {
            "BENCH_LIB": live.module,
            "BENCH_DB": json.dumps(self.cluster.settings(self.empty)),
            "BENCH_TRIGGERS": str(self.triggers),
            "BENCH_VARIANT": "0",
            "BENCH_DRIVER": live.driver,
            "DJANGO_SETTINGS_MODULE": "benchproj.settings",
        }
        if live.pythonpath:
            env["PYTHONPATH"] = live.pythonpath
        done = subprocess.run(
            [str(live.python), "manage.py", "pgtrigger", "install", "--dry-run", "--json"],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        plan = json.loads(done.stdout)
        if "round_trips" in plan:
            statements = [sql for trip in plan["round_trips"] for sql in trip]
        else:  # a --ref older than round_trips: each action's own statements
            statements = [sql for action in plan["actions"] for sql in action["sql"]]
        ddl_only = [sql for sql in statements if not sql.startswith("DO ")]
        entry = pgtest.parse_database_url(self.cluster.url)
        psql_env = child_environment() | {"PGPASSWORD": str(entry.get("PASSWORD") or "")}
        for key, chosen in (("F1", statements), ("F1d", ddl_only)):
            script = self.workdir / f"floor-{key}.sql"
            # "\;" keeps psql from splitting: the whole transaction is one query, one round trip.
            script.write_text("\\timing on\n" + " \\;\n".join(["BEGIN", *chosen, "COMMIT"]) + ";\n")
            for run in range(self.args.runs):
                db = self.clone(live, f"floor_{run}", self.empty)
                out = subprocess.run(
                    [
                        "psql",
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-h",
                        str(entry.get("HOST") or "localhost"),
                        "-p",
                        str(entry.get("PORT") or 5432),
                        "-U",
                        str(entry.get("USER") or "postgres"),
                        "-d",
                        db,
                        "-f",
                        str(script),
                    ],
                    env=psql_env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                times = [
                    float(line.split()[1]) for line in out.splitlines() if line.startswith("Time:")
                ]
                self.expect_triggers(db, self.triggers, key)
                self.cluster.drop(db)
                self.record(key, live, {"op_s": times[-1] / 1000, "statements": len(chosen)})

    def one_change(self) -> None:
        """S4: each run's code differs from the database in one trigger's body."""
        self.say("S4 one trigger's body changed, install()")
        dbs = {
            lib.module: self.clone(lib, "s4", self.installed[lib.module]) for lib in self.libraries
        }
        variant = {lib.module: "0" for lib in self.libraries}
        for _, lib in self.runs():
            db = dbs[lib.module]
            variant[lib.module] = "1" if variant[lib.module] == "0" else "0"
            before = snapshot(self.cluster, db)
            result = self.child(lib, "install", db=db, label="S4", variant=variant[lib.module])
            result["catalog"] = compare(before, snapshot(self.cluster, db))
            self.record("S4", lib, result)
        self.say("S4 lock check: one changed trigger while a writer holds every table")
        for lib in self.libraries:
            other = "1" if variant[lib.module] == "0" else "0"
            self.extras["lock_checks"].setdefault("S4", {})[lib.module] = self.lock_check(
                lib, dbs[lib.module], variant=other
            )
            self.cluster.drop(dbs[lib.module])

    def prune(self) -> None:
        keep = self.triggers // 2
        self.say(f"S5 prune() after {self.triggers - keep} triggers left the code")
        for run, lib in self.runs():
            db = self.clone(lib, f"s5_{run}", self.installed[lib.module])
            result = self.child(lib, "prune", db=db, label="S5", triggers=keep)
            self.expect_triggers(db, keep, "S5")
            result["functions_after"] = count_functions(self.cluster, db)
            self.record("S5", lib, result)
            self.cluster.drop(db)

    def lock_check(self, lib: Library, db: str, *, variant: str) -> dict[str, Any]:
        """Run install() while another transaction holds ROW EXCLUSIVE on every table.

        That is what any in-flight INSERT/UPDATE/DELETE holds; it conflicts with the locks
        trigger DDL takes (SHARE ROW EXCLUSIVE and up) but not with reads or COMMENT. If the
        child waits for a table lock, the wait is recorded and the writer lets go.
        """
        tables = sql.SQL(", ").join(sql.Identifier(project.table(i)) for i in range(self.models))
        waits: list[list[str]] = []
        with (
            self.cluster.connect(db, autocommit=False) as writer,
            self.cluster.connect(db) as monitor,
        ):
            writer.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(tables))
            process, out = self.spawn(lib, "install", db=db, variant=variant)
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                if not waits:
                    waits = [list(r) for r in monitor.execute(_WAITING).fetchall()]
                    if waits:
                        writer.rollback()
                time.sleep(0.005)
            writer.rollback()
        result = self.collect(process, out, f"lock check {lib.module}")
        return {
            "waited": bool(waits),
            "waiting_for": sorted({f"{mode} on {rel}" for mode, rel in waits}),
            "op_s": result["op_s"],
            "ddl_total": result["ddl_total"],
            "table_lock_statements": result["table_lock_statements"],
        }

    def concurrency(self) -> None:
        n, calls = self.args.processes, self.args.calls
        self.say(f"concurrency: {n} processes x {calls} install() at once, from empty tables")
        for lib in self.libraries:
            db = self.clone(lib, "concurrent", self.empty)
            barrier = self.workdir / f"barrier-{lib.module}"
            barrier.mkdir()
            children = [
                self.spawn(
                    lib,
                    "install_loop",
                    db=db,
                    extra=("--calls", str(calls), "--barrier", str(barrier), "--name", str(k)),
                )
                for k in range(n)
            ]
            deadline = time.monotonic() + 120
            while len(list(barrier.glob("ready-*"))) < n:
                if time.monotonic() > deadline or any(p.poll() is not None for p, _ in children):
                    break
                time.sleep(0.005)
            started = time.perf_counter()
            (barrier / "go").touch()
            results = [self.collect(p, out, f"concurrency {lib.module}") for p, out in children]
            wall = time.perf_counter() - started
            errors: Counter[str] = Counter(
                c["error"] for r in results for c in r["calls"] if c["error"]
            )
            self.extras["concurrency"][lib.module] = {
                "processes": n,
                "calls": n * calls,
                "failures_per_process": [r["failures"] for r in results],
                "failures": sum(r["failures"] for r in results),
                "errors": dict(errors.most_common(3)),
                "wall_s": wall,
                "triggers_after": len(snapshot(self.cluster, db)),
            }
            self.cluster.drop(db)


# -- summary ------------------------------------------------------------------------------------


def _counts(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in (*COUNT_KEYS, "ddl")}


def summarize_runs(results: list[dict[str, Any]]) -> dict[str, Any]:
    times = [r["op_s"] for r in results]
    first = results[0]
    summary: dict[str, Any] = {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": [round(t, 4) for t in times],
        "counts": _counts(first),
        "counts_stable": all(_counts(r) == _counts(first) for r in results),
        "max_statements": max(r["statements"] for r in results),
        "max_round_trips": max(r["round_trips"] for r in results),
        "max_ddl": max(r["ddl_total"] for r in results),
        "max_table_lock_statements": max(r["table_lock_statements"] for r in results),
    }
    if "catalog" in first:
        summary["catalog"] = [r["catalog"] for r in results]
    if "functions_after" in first:
        summary["functions_after"] = first["functions_after"]
    if first.get("output_lines"):
        summary["output_lines"] = first["output_lines"]
    return summary


def summarize_floor(results: list[dict[str, Any]]) -> dict[str, Any]:
    """A floor (F0, F1, F1d): times only."""
    times = [r["op_s"] for r in results]
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": [round(t, 4) for t in times],
    }


def machine(cluster: Cluster, server_note: str, source: str) -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    system = platform.platform()
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "system": system,
        "postgres": cluster.version().split(" on ")[0] + server_note,
        "pgtrigger_live_source": source,
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return done.stdout.strip()


def pgtrigger_live_source(ref: str | None, workdir: Path) -> tuple[Path, str]:
    """Where pgtrigger_live is imported from, and a description of that version.

    Without ``ref`` it is this checkout, as it is now. With ``ref`` the package as committed
    there is extracted (``git archive``) into ``workdir``, so edits made to the working tree
    while the benchmark runs cannot change what is measured.
    """
    if ref is None:
        modified = _git("status", "--porcelain", "--", "pgtrigger_live")
        note = " + uncommitted changes in pgtrigger_live/" if modified else ""
        return REPO, f"working tree at {_git('rev-parse', '--short', 'HEAD')}{note}"
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    if not commit:
        raise BenchError(f"--ref {ref}: not a commit")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "pgtrigger_live"],
        capture_output=True,
        check=True,
    ).stdout
    destination = workdir / "source"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination, f"commit {commit[:7]} ({ref})"


def build_summary(bench: Bench, meta: dict[str, Any]) -> dict[str, Any]:
    scenarios = {
        name: {
            lib: summarize_runs(results) if name.startswith("S") else summarize_floor(results)
            for lib, results in by_lib.items()
        }
        for name, by_lib in bench.scenarios.items()
    }
    setup = {
        lib: {
            count: {"median_s": statistics.median(ts), "times_s": [round(t, 4) for t in ts]}
            for count, ts in by_count.items()
        }
        for lib, by_count in bench.extras["setup"].items()
    }
    versions: dict[str, dict[str, str]] = {}
    for result in bench.raw:
        versions.setdefault(
            result["library"],
            {
                "library": result["library_version"],
                "django": result["django"],
                "psycopg": result["psycopg"],
                "python": result["python"],
            },
        )
    summary = {
        "meta": meta
        | {
            "versions": versions,
            "runs": bench.args.runs,
            "models": bench.models,
            "triggers": bench.triggers,
            "processes": bench.args.processes,
            "calls": bench.args.calls,
        },
        "scenarios": scenarios,
        "setup": setup,
        "lock_checks": bench.extras["lock_checks"],
        "concurrency": bench.extras["concurrency"],
    }
    summary["targets"] = report.targets(summary)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement")
    parser.add_argument("--models", type=int, default=200, help="models (3 triggers each)")
    parser.add_argument("--processes", type=int, default=4, help="concurrency: processes")
    parser.add_argument("--calls", type=int, default=10, help="concurrency: install() each")
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the report only; leave bench/README.md and results/ alone",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (project, raw)")
    parser.add_argument(
        "--drivers",
        default=",".join(DRIVERS),
        help="database drivers to run everything under, in turn (default: psycopg2,psycopg)",
    )
    parser.add_argument(
        "--machine-note",
        default="",
        help="how busy the machine was (written next to the figures)",
    )
    parser.add_argument(
        "--ref",
        help="measure pgtrigger_live as committed at this git ref (default: the working tree)",
    )
    args = parser.parse_args()

    started = time.monotonic()
    venv_python = ensure_venv()
    with contextlib.ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="pgtl-bench-"))
        if args.keep:
            cleanup.callback(print, f"kept {workdir}", file=sys.stderr)
        else:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        source, source_note = pgtrigger_live_source(args.ref, workdir)
        if url := os.environ.get("DATABASE_URL"):
            server_note = " (DATABASE_URL)"
        else:
            server = pgtest.start_throwaway_server()
            cleanup.callback(server.stop)
            url = server.url
            server_note = f" (throwaway server, {pgtest.find_bindir()})"
        cluster = Cluster(url)
        cleanup.callback(cluster.close)
        summaries: dict[str, dict[str, Any]] = {}
        raws: list[dict[str, Any]] = []
        for driver in args.drivers.split(","):
            if driver not in DRIVERS:
                raise BenchError(f"--drivers: {driver!r} is not one of {', '.join(DRIVERS)}")
            print(f"== driver {driver}", flush=True)
            started_driver = time.monotonic()
            libraries = [
                Library("pgtrigger", "django-pgtrigger 4.17.0", venv_python, None, driver),
                Library(
                    "pgtrigger_live", "pgtrigger_live", Path(sys.executable), str(source), driver
                ),
            ]
            driver_dir = workdir / driver
            driver_dir.mkdir()
            bench = Bench(args, cluster, libraries, driver_dir)
            meta = machine(cluster, server_note, source_note) | {"driver": driver}
            bench.prepare()
            bench.setup_times()
            bench.first_install()
            bench.in_sync()
            bench.one_change()
            bench.prune()
            bench.concurrency()
            meta["duration_s"] = round(time.monotonic() - started_driver)
            summaries[driver] = build_summary(bench, meta)
            raws.extend(bench.raw)
            print(report.render(summaries[driver]), flush=True)
        overview = report.render_overview(
            summaries, round(time.monotonic() - started), args.machine_note
        )
        print(overview)
        if not args.no_write:
            RESULTS.mkdir(exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            for driver, summary in summaries.items():
                (RESULTS / f"results-{driver}.json").write_text(
                    json.dumps(summary, indent=1) + "\n"
                )
                (BENCH / f"RESULTS-{driver}.md").write_text(report.render(summary))
            (RESULTS / f"raw-{stamp}.json.tmp").write_text(json.dumps(raws))
            (BENCH / "README.md").write_text(overview)
            print(f"wrote {BENCH / 'README.md'}, RESULTS-*.md and {RESULTS}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
