"""What ``track_functions = 'pl'`` costs a trigger-heavy write loop, next to django-pgtrigger.

    python bench/bench_stats.py                 # a few minutes; prints and writes bench/STATS.md
    python bench/bench_stats.py --n 20000 --repeat 3 --no-write
    BENCH_ANCHOR_PYTHON=/path/to/venv/bin/python python bench/bench_stats.py

Run by hand, never by pytest. One table with three row-level UPDATE triggers that always run
their function (no WHEN clause), declared the same way for both libraries, each installed by
its own library (django-pgtrigger 4.17.0 from bench/.venv-pgtrigger or BENCH_ANCHOR_PYTHON,
pgtrigger_live from this checkout) in a database of its own on one throwaway server. The
timed work is server-side only, so the client and the driver do not blur it: one ``DO`` block
that runs ``--n`` single-row UPDATEs, one per row of an ``--n``-row table (a row updated
again and again in one transaction would grow a version chain that only the end of the
transaction can prune, and time that instead), each firing the three triggers. Each round times, in a random order, on a new connection each:

* ``off``: ``track_functions = 'none'`` (PostgreSQL's default);
* ``pl``: ``track_functions = 'pl'`` (what ``pgtrigger stats`` needs);
* ``off again``: ``off`` a second time: how far two identical runs differ on this machine;
* ``no triggers``: ``session_replication_role = replica`` (ordinary triggers do not fire): the
  UPDATEs alone, so the triggers' own cost can be told from the counting's.

Each round's ``pl`` and ``off again`` are divided by the same round's ``off`` (paired, so a
busy moment hits both); the median ratio over ``--repeat`` rounds is reported, with its range. The calls PostgreSQL counted during the ``pl`` runs are
checked against ``n x 3 x repeat`` (django-pgtrigger's triggers call a second function each
time, its ignore check, so it is counted too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv-pgtrigger"  # shared with bench/run.py and bench/bench_ignore.py
ANCHOR = ("django-pgtrigger==4.17.0", "Django==5.2.*", "psycopg[binary]")
OUTPUT = BENCH / "STATS.md"
sys.path.insert(0, str(REPO))
from pgtrigger_live.testing import postgres as pgtest  # noqa: E402  (importable once the repo root is on the path)

MODELS = """
import os
from django.db import models

if os.environ["BENCH_LIB"] == "pgtrigger_live":
    import pgtrigger_live as pgtrigger
else:
    import pgtrigger


class Item(models.Model):
    x = models.IntegerField(default=0)
    changes = models.IntegerField(default=0)
    touched = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Trigger(
                name="count_changes",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="NEW.changes := OLD.changes + 1; RETURN NEW;",
            ),
            pgtrigger.Trigger(
                name="touch",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="NEW.touched := NEW.x % 7; RETURN NEW;",
            ),
            pgtrigger.Trigger(
                name="after_update",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                func="RETURN NULL;",
            ),
        ]
"""

SETTINGS = """
import json, os
SECRET_KEY = "bench"
USE_TZ = True
INSTALLED_APPS = [os.environ["BENCH_LIB"], "benchapp"]
DATABASES = {"default": json.loads(os.environ["BENCH_DB"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = True
"""

CHILD = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "benchproj.settings"
import django

django.setup()
from django.core.management import call_command

call_command("migrate", run_syncdb=True, verbosity=0)
if os.environ["BENCH_LIB"] == "pgtrigger":
    call_command("pgtrigger", "install")  # django-pgtrigger installs on migrate too; no harm
from benchapp.models import Item

Item.objects.bulk_create(Item() for _ in range(int(os.environ["BENCH_ROWS"])))
print(Item._meta.db_table)
"""

LOOP = """
DO $bench$
DECLARE first bigint := (SELECT min(id) FROM {table});
BEGIN
    FOR i IN 0 .. {n} - 1 LOOP
        UPDATE {table} SET x = x + 1 WHERE id = first + i;
    END LOOP;
END
$bench$
"""

VARIANTS = {
    "off": "SET track_functions = 'none'",
    "pl": "SET track_functions = 'pl'",
    "off again": "SET track_functions = 'none'",  # the same as off: the harness's own noise
    "no triggers": "SET session_replication_role = replica",
}


def anchor_python() -> Path:
    """django-pgtrigger 4.17.0's python: BENCH_ANCHOR_PYTHON, else bench/.venv-pgtrigger."""
    given = os.environ.get("BENCH_ANCHOR_PYTHON")
    python = Path(given) if given else VENV / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('django-pgtrigger'))"
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    if done.returncode != 0 or done.stdout.strip() != "4.17.0":
        if given:
            raise SystemExit(f"BENCH_ANCHOR_PYTHON={given} has no django-pgtrigger 4.17.0")
        print(f"creating {VENV.relative_to(REPO)}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *ANCHOR], check=True)
    return python


def create_database(url: str, name: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    entry = pgtest.parse_database_url(url)
    entry["NAME"] = name
    return entry


def set_up(python: Path, library: str, project: Path, db: dict[str, Any], rows: int) -> str:
    """Install the library's triggers with the library itself; the table's name."""
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PG")}
    paths = [str(project)] + ([str(REPO)] if library == "pgtrigger_live" else [])
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        BENCH_LIB=library,
        BENCH_DB=json.dumps(db),
        BENCH_ROWS=str(rows),
    )
    done = subprocess.run(
        [str(python), str(project / "child.py")], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{library} failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def conninfo(db: dict[str, Any]) -> dict[str, Any]:
    keys = {"NAME": "dbname", "USER": "user", "PASSWORD": "password", "HOST": "host"}
    info = {new: db[old] for old, new in keys.items() if db.get(old)}
    if db.get("PORT"):
        info["port"] = int(db["PORT"])
    return info


def time_loop(db: dict[str, Any], table: str, variant: str, n: int) -> float:
    """Seconds for the DO block of n UPDATEs under one variant, on a new connection."""
    import psycopg

    with psycopg.connect(**conninfo(db), autocommit=True) as conn:
        conn.execute(f"VACUUM {table}")
        conn.execute(VARIANTS[variant])
        started = time.perf_counter()
        conn.execute(LOOP.format(table=table, n=n))
        seconds = time.perf_counter() - started
        if variant == "pl":
            conn.execute("SELECT pg_stat_force_next_flush()")
    return seconds


def counted_calls(db: dict[str, Any]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(**conninfo(db), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT funcname, calls FROM pg_stat_user_functions ORDER BY funcname"
        ).fetchall()
    return {name: int(calls) for name, calls in rows}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def paired(times: dict[str, list[float]], variant: str) -> tuple[float, float, float]:
    """Median, min and max over rounds of (variant / off) - 1."""
    ratios = [v / o - 1 for v, o in zip(times[variant], times["off"], strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def ratio(value: tuple[float, float, float]) -> str:
    mid, low, high = (x * 100 for x in value)
    return f"{mid:+.1f} % ({low:+.1f} to {high:+.1f})"


def report(results: dict[str, dict[str, Any]], args: Any, meta: dict[str, str]) -> str:
    lines = [
        "# What `track_functions = 'pl'` costs (for `pgtrigger stats`)",
        "",
        f"Generated by `bench/bench_stats.py` ({meta['date']}, {meta['server']}, "
        f"Python {platform.python_version()}, this machine: {os.cpu_count()} cores; "
        f"machine load: {args.machine_note or 'not noted'}; load average "
        f"{meta['load_before']} at the start, {meta['load_after']} at the end).",
        "",
        f"One table, three row-level UPDATE triggers that always run their function, installed "
        f"by each library in its own database. Timed: one `DO` block of {args.n:,} single-row "
        f"UPDATEs, one per row of a {args.n:,}-row table (server-side, no client round "
        f"trips; `VACUUM` before each run), on a new connection per run; "
        f"{args.repeat} rounds, the variants of a round in a random order. µs/UPDATE: "
        "medians. *pl vs off* and *off again vs off*: the median of each round's ratio to its "
        "own *off* run (min to max in brackets); *per trigger call*: that median, in time, "
        "divided by the 3 trigger calls of an UPDATE. *no triggers* = "
        "`session_replication_role = replica` (the UPDATEs alone).",
        "",
        "| library | no triggers, µs/UPDATE | off, µs/UPDATE | pl, µs/UPDATE | pl vs off | "
        "off again vs off (noise) | counting, per trigger call | trigger calls counted |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results.values():
        times = result["times"]
        med = {v: statistics.median(t) / args.n * 1e6 for v, t in times.items()}
        pl, again = paired(times, "pl"), paired(times, "off again")
        per_call = pl[0] * med["off"] / 3 * 1000
        counted = result["calls"]
        triggers = sum(c for name, c in counted.items() if name.startswith("pgtrigger_"))
        others = sum(c for name, c in counted.items() if not name.startswith("pgtrigger_"))
        expected = args.n * 3 * args.repeat
        lines.append(
            f"| {result['label']} | {med['no triggers']:.2f} | {med['off']:.2f} | "
            f"{med['pl']:.2f} | {ratio(pl)} | {ratio(again)} | {per_call:+.0f} ns | "
            f"{triggers:,} of {expected:,} expected"
            + (f", and {others:,} calls of its ignore check" if others else "")
            + " |"
        )
    lines += [
        "",
        "Every run, seconds:",
        "",
    ]
    for result in results.values():
        for variant, times in result["times"].items():
            shown = ", ".join(f"{t:.3f}" for t in times)
            lines.append(f"- {result['label']}, {variant}: {shown}")
    lines += ["", "Functions counted during the `pl` runs:", ""]
    for result in results.values():
        shown = ", ".join(f"`{name}` {calls:,}" for name, calls in result["calls"].items())
        lines.append(f"- {result['label']}: {shown}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="UPDATEs per run")
    parser.add_argument("--repeat", type=int, default=9, help="rounds")
    parser.add_argument("--seed", type=int, default=1, help="seed of the variant order")
    parser.add_argument("--no-anchor", action="store_true", help="pgtrigger_live only")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {OUTPUT.name}")
    parser.add_argument("--machine-note", default="", help="e.g. 'busy: 2 cores, 3 agents'")
    args = parser.parse_args()
    libraries: list[tuple[str, str, Path]] = [
        ("pgtrigger_live", "pgtrigger_live (this checkout)", Path(sys.executable))
    ]
    if not args.no_anchor:
        libraries.insert(0, ("pgtrigger", "django-pgtrigger 4.17.0", anchor_python()))
    url = os.environ.get("DATABASE_URL")
    server = None if url else pgtest.start_throwaway_server()
    url = url or (server.url if server else "")
    started, load_before = time.time(), load_average()
    rng = random.Random(args.seed)
    results: dict[str, dict[str, Any]] = {}
    try:
        dbs: dict[str, tuple[dict[str, Any], str]] = {}
        with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
            root = Path(tmp)
            for name, text in {
                "benchproj/__init__.py": "",
                "benchproj/settings.py": SETTINGS,
                "benchapp/__init__.py": "",
                "benchapp/models.py": MODELS,
                "child.py": CHILD,
            }.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(textwrap.dedent(text))
            for library, label, python in libraries:
                db = create_database(url, f"bench_stats_{library}")
                dbs[library] = (db, set_up(python, library, root, db, args.n))
                results[library] = {"label": label, "times": {v: [] for v in VARIANTS}}
        for db, table in dbs.values():  # warm up: caches, first-call costs
            for variant in VARIANTS:
                time_loop(db, table, variant, min(args.n, 5000))
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        before = {library: counted_calls(db) for library, (db, _) in dbs.items()}
        for round_no in range(args.repeat):
            runs = [(library, variant) for library in dbs for variant in VARIANTS]
            rng.shuffle(runs)
            for library, variant in runs:
                db, table = dbs[library]
                seconds = time_loop(db, table, variant, args.n)
                results[library]["times"][variant].append(seconds)
                print(
                    f"round {round_no + 1}: {library} {variant}: {seconds:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
        for library, (db, _) in dbs.items():  # the calls counted during the timed runs only
            after = counted_calls(db)
            results[library]["calls"] = {
                name: calls - before[library].get(name, 0) for name, calls in after.items()
            }
    finally:
        if server is not None:
            server.stop()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "server": f"PostgreSQL {version[0] if version else '?'}",
        "load_before": load_before,
        "load_after": load_average(),
    }
    text = report(results, args, meta)
    print(text)
    if not args.no_write:
        OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
