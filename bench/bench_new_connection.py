"""What a request that opens its own connection pays for ``ignore()`` (``CONN_MAX_AGE = 0``).

    python bench/bench_new_connection.py --before /tmp/old-checkout   # appends to IGNORE.md
    python bench/bench_new_connection.py --no-write

Run by hand, never by pytest. The project, model and triggers of bench_ignore.py; each
"request" closes the connection, then runs one single-row ``UPDATE`` on a new one, outside any
block or inside ``ignore()`` of a trigger that does not fire on UPDATE, in autocommit or in
``transaction.atomic()``. Libraries: pgtrigger_live from this checkout, from ``--before`` (a
checkout of an earlier commit, e.g. ``git archive <commit> | tar -x -C DIR``) and
django-pgtrigger 4.17.0 (bench/.venv-pgtrigger). Requests run in chunks of every variant in a
random order per step; cost = median over steps of chunk/outside chunk of the same step, with
a 95 % bootstrap interval. Under psycopg 3 libpq's trace counts the messages of one request
after connecting (the driver's BEGIN/COMMIT included), the number that matters behind a
pooler: each message is a round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ignore as base  # bench/ is not a package

CHUNK = 20  # requests per chunk

CHILD = '''
"""One library, one driver: requests on new connections; JSON on stdout."""
import contextlib, json, os, random, sys, tempfile, time

if os.environ["BENCH_DRIVER"] == "psycopg2":
    sys.modules["psycopg"] = None  # Django falls back to psycopg2

os.environ["DJANGO_SETTINGS_MODULE"] = "benchproj.settings"
import django

django.setup()
from django.core.management import call_command
from django.db import connection, transaction

if os.environ["BENCH_LIB"] == "pgtrigger":
    from pgtrigger import ignore
    import pgtrigger as module
else:
    from pgtrigger_live.runtime import ignore
    import pgtrigger_live as module
from benchapp.models import Item

REPEAT, CHUNK = int(os.environ["BENCH_REPEAT"]), int(os.environ["BENCH_CHUNK"])
UNRELATED = "benchapp.Item:protect_delete"
call_command("migrate", run_syncdb=True, verbosity=0)
pk = Item.objects.create().pk


def request(inside, atomic, value):
    connection.close()
    connection.ensure_connection()
    block = ignore(UNRELATED) if inside else contextlib.nullcontext()
    outer = transaction.atomic() if atomic else contextlib.nullcontext()
    with block, outer:
        Item.objects.filter(pk=pk).update(x=value)


def messages(inside, atomic):
    """Messages one request sends after connecting (psycopg 3's libpq trace), and the texts."""
    from psycopg import pq

    connection.close()
    connection.ensure_connection()
    raw = connection.connection
    with tempfile.TemporaryFile("w+") as trace:
        raw.pgconn.trace(trace.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        block = ignore(UNRELATED) if inside else contextlib.nullcontext()
        outer = transaction.atomic() if atomic else contextlib.nullcontext()
        with block, outer:
            Item.objects.filter(pk=pk).update(x=-1)
        raw.pgconn.untrace()
        trace.seek(0)
        sent = [line.split("\\t")[3][:70] for line in trace.read().splitlines()
                if line.split("\\t")[0] == "F" and line.split("\\t")[2] in ("Query", "Parse")]
    return sent


variants = {"outside": False, "inside": True}
shuffle = random.Random(1).shuffle
result = {"module": module.__file__}
value = 0
for atomic in (False, True):
    for inside in variants.values():
        for _ in range(CHUNK):  # warm up (and, for pgtrigger_live, learn what it learns)
            request(inside, atomic, 0)
    times = {name: [] for name in variants}
    for step in range(REPEAT):
        order = list(variants.items())
        shuffle(order)
        for name, inside in order:
            value += 1
            start = time.perf_counter()
            for _ in range(CHUNK):
                request(inside, atomic, value)
            times[name].append(time.perf_counter() - start)
    mode = "atomic" if atomic else "autocommit"
    result[mode] = {"times": times}
    if os.environ["BENCH_DRIVER"] == "psycopg":
        result[mode]["sent"] = {name: messages(inside, atomic) for name, inside in variants.items()}
json.dump(result, sys.stdout)
'''


def run(
    python: Path, code: Path | None, driver: str, project: Path, db: dict[str, Any], repeat: int
) -> dict[str, Any]:
    """The child under ``python``: pgtrigger_live from ``code``, or django-pgtrigger (None)."""
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PG")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(project)] + ([str(code)] if code else [])),
        BENCH_LIB="pgtrigger" if code is None else "pgtrigger_live",  # an INSTALLED_APPS name
        BENCH_DB=json.dumps(db),
        BENCH_DRIVER=driver,
        BENCH_REPEAT=str(repeat),
        BENCH_CHUNK=str(CHUNK),
    )
    done = subprocess.run(
        [str(python), str(project / "child.py")], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{code or 'django-pgtrigger'}/{driver} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of an earlier pgtrigger_live")
    parser.add_argument("--repeat", type=int, default=30, help="steps per mode")
    parser.add_argument("--drivers", nargs="+", default=["psycopg", "psycopg2"])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    anchor = base.ensure_venv(args.drivers)
    libraries: list[tuple[str, Path, Path | None]] = [
        ("pgtrigger_live", Path(sys.executable), base.REPO)
    ]
    if args.before is not None:
        libraries.append(("pgtrigger_live (before)", Path(sys.executable), args.before.resolve()))
    libraries.append(("django-pgtrigger 4.17.0", anchor, None))
    server = base.pgtest.start_throwaway_server()
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp)
            base.write_project(project)
            (project / "child.py").write_text(textwrap.dedent(CHILD))
            for index, (label, python, code) in enumerate(libraries):
                for driver in args.drivers:
                    print(f"{label} / {driver} ...", file=sys.stderr, flush=True)
                    db = base.create_database(server.url, f"newconn_{index}_{driver}")
                    results[(label, driver)] = run(python, code, driver, project, db, args.repeat)
                    if code is not None:  # the code that ran is the code named
                        assert results[(label, driver)]["module"].startswith(str(code)), label
        version = server_version(server.url)
    finally:
        server.stop()
    text = report(results, args, version)
    print(text)
    if not args.no_write:
        with open(base.OUTPUT, "a") as out:
            out.write("\n" + text)
    return 0


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]


def report(results: dict[tuple[str, str], dict[str, Any]], args: Any, version: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "## A request on a new connection (`CONN_MAX_AGE = 0`)",
        "",
        f"Generated by `bench/bench_new_connection.py` ({stamp}, PostgreSQL {version}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores shared with other jobs). "
        f"Each request: close the connection, connect, one single-row UPDATE; {args.repeat} "
        f"steps of {CHUNK} requests per variant, interleaved. Cost = median of the per-step "
        "ratio inside/outside with a 95 % bootstrap interval; ms = median time per request "
        "outside. Messages: per request after connecting (psycopg 3's libpq trace).",
        "",
        "| driver | mode | library | ms outside | inside `ignore()` | messages outside | messages inside |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (label, driver), result in results.items():
        for mode in ("autocommit", "atomic"):
            times = result[mode]["times"]
            cost = base.paired(times, "inside")
            ms = base.statistics.median(times["outside"]) / CHUNK * 1e3
            sent = result[mode].get("sent")
            counts = ("n/a", "n/a") if sent is None else (
                str(len(sent["outside"])), str(len(sent["inside"])))  # fmt: skip
            lines.append(
                f"| {driver} | {mode} | {label} | {ms:.2f} | {base.interval(cost)} | "
                f"{counts[0]} | {counts[1]} |"
            )
    lines.append("")
    lines.append("Messages inside the block, psycopg 3, first 70 characters each:")
    lines.append("")
    for (label, _driver), result in results.items():
        for mode in ("autocommit", "atomic"):
            sent = result[mode].get("sent")
            if sent is not None:
                shown = "; ".join(f"`{s.strip().strip(chr(34))}`" for s in sent["inside"])
                lines.append(f"- {label}, {mode}: {shown}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
