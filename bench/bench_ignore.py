"""S6: 2,000 single-row ORM UPDATEs inside ``ignore()`` vs outside, next to django-pgtrigger.

    python bench/bench_ignore.py                  # a few minutes; prints and writes bench/IGNORE.md
    python bench/bench_ignore.py --repeat 5 --no-write

Run by hand, never by pytest. One model with django-pgtrigger's benchmark triggers (Protect on
delete, ReadOnly on ``label``, a conditional BEFORE UPDATE trigger that counts changes of
``x``), the same for both libraries, each in a database of its own on one throwaway server.
Each library runs in a fresh process (django-pgtrigger 4.17.0 from bench/.venv-pgtrigger,
pgtrigger_live from this checkout), under psycopg 3 and under psycopg2, and times batches of
2,000 ``Item.objects.filter(pk=pk).update(x=i)``:

* ``outside``: no ignore() block;
* ``inside``: in ``ignore("benchapp.Item:protect_delete")``, a trigger that does not fire on
  UPDATE, so both batches do the same work in the database and the difference is the cost of
  the mechanism alone;
* ``inside, trigger skipped``: in ``ignore("benchapp.Item:count_changes")``, the trigger that
  fires, which the block skips (what a user sees).

Each round runs the 2,000 UPDATEs of every variant interleaved in chunks of 200 (each chunk in
its own block and, in atomic mode, its own transaction), so that the machine's drifts hit all
variants alike; the median of --repeat rounds
is reported. Both in autocommit (each UPDATE its own transaction) and inside
``transaction.atomic()``. Under psycopg 3, libpq's trace counts the messages sent per UPDATE
and shows whether a SELECT inside the block is sent as written.
"""

from __future__ import annotations

import argparse
import importlib.metadata
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
VENV = BENCH / ".venv-pgtrigger"  # shared with bench/run.py
CHUNK = 200  # UPDATEs per chunk, as in the child
ANCHOR = ("django-pgtrigger==4.17.0", "Django==5.2.*", "psycopg[binary]")
OUTPUT = BENCH / "IGNORE.md"
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
    label = models.CharField(max_length=40, default="")
    changes = models.IntegerField(default=0)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="protect_delete", operation=pgtrigger.Delete),
            pgtrigger.ReadOnly(name="read_only_label", fields=["label"]),
            pgtrigger.Trigger(
                name="count_changes",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__x__df=pgtrigger.F("new__x")),
                func="NEW.changes := OLD.changes + 1; RETURN NEW;",
            ),
        ]

    def __str__(self) -> str:
        return str(self.pk)
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

CHILD = '''
"""One library, one driver: set the database up, then time the batches; JSON on stdout."""
import contextlib, json, os, random, statistics, sys, tempfile, time

if os.environ["BENCH_DRIVER"] == "psycopg2":
    sys.modules["psycopg"] = None  # Django falls back to psycopg2

os.environ["DJANGO_SETTINGS_MODULE"] = "benchproj.settings"
import django

django.setup()
from django.core.management import call_command
from django.db import connection, transaction

if os.environ["BENCH_LIB"] == "pgtrigger_live":
    from pgtrigger_live.runtime import ignore
else:
    from pgtrigger import ignore
from benchapp.models import Item

N, REPEAT, CHUNK = int(os.environ["BENCH_N"]), int(os.environ["BENCH_REPEAT"]), 200
UNRELATED, FIRING = "benchapp.Item:protect_delete", "benchapp.Item:count_changes"

call_command("migrate", run_syncdb=True, verbosity=0)
# One row per UPDATE of a chunk (every variant updates the same rows): no single row's
# version chain grows for the whole run.
pks = [item.pk for item in Item.objects.bulk_create(Item() for _ in range(CHUNK))]
pk = pks[0]
rows = Item.objects.filter(pk=pk)
counter = iter(range(10**9))


PREFIX = "SET LOCAL pgtrigger.ignore TO '{pgtrigger_protect_delete_x}'; "
PSYCOPG3 = os.environ["BENCH_DRIVER"] == "psycopg"


def bare_prefix(execute, sql, params, many, context):
    """No library logic: the same second statement in front of every statement (the floor)."""
    result = execute(PREFIX + sql, params, many, context)
    if PSYCOPG3:
        context["cursor"].cursor.nextset()
    return result


def block_for(uri):
    if uri is None:
        return contextlib.nullcontext()
    if uri == "bare":
        return connection.execute_wrapper(bare_prefix)
    return ignore(uri)


def chunk(uri, atomic, n=CHUNK):
    """n single-row UPDATEs in one block (and one transaction in atomic mode); seconds."""
    block = block_for(uri)
    outer = transaction.atomic() if atomic else contextlib.nullcontext()
    value = next(counter)
    start = time.perf_counter()
    with block, outer:
        for row_pk in pks[:n]:
            Item.objects.filter(pk=row_pk).update(x=value)
    return time.perf_counter() - start


# outside_again: the same as outside (an A/A control: what the harness calls noise);
# bare: a bare execute_wrapper putting the same kind of SET LOCAL in front (the floor).
variants = {
    "outside": None,
    "outside_again": None,
    "inside": UNRELATED,
    "inside_skipped": FIRING,
    "bare": "bare",
}
shuffle = random.Random(int(os.environ["BENCH_SEED"])).shuffle
result = {}
for atomic in (False, True):
    times = {name: [] for name in variants}
    for name, uri in variants.items():
        chunk(uri, atomic)  # warm up
    for round_ in range(REPEAT):
        # Each step runs one chunk of every variant, in a random order: the machine's drifts
        # (other processes, CPU clock) hit every variant alike, and each chunk is compared
        # with the outside chunk of its own step.
        for step in range(N // CHUNK):
            order = list(variants.items())
            shuffle(order)
            for name, uri in order:
                times[name].append(chunk(uri, atomic))
    result["atomic" if atomic else "autocommit"] = times
assert Item.objects.get(pk=pk).changes > 0  # the conditional trigger did run outside

# The floor in autocommit: the raw driver (no Django, no library) sending the same UPDATE
# alone and with a SET LOCAL in front of it in the same message.
if os.environ["BENCH_LIB"] == "pgtrigger_live":
    connection.ensure_connection()
    prefix = "SET LOCAL pgtrigger.ignore TO '{pgtrigger_protect_delete_x}'; "
    update = 'UPDATE "benchapp_item" SET "x" = %s WHERE "id" = %s'
    with connection.connection.cursor() as raw:
        raw.execute("SELECT pg_backend_pid()")
        schedstat = f"/proc/{raw.fetchone()[0]}/schedstat"

        def server_ns():
            """CPU time of the server process (Linux, server on this machine), else None."""
            try:
                with open(schedstat) as fh:
                    return int(fh.read().split()[0])
            except OSError:
                return None

        ratios = []
        server = {"plain": 0, "prefixed": 0}
        for round_ in range(REPEAT):
            spent = {"plain": 0.0, "prefixed": 0.0}
            for step in range(N // CHUNK):
                for name in ("plain", "prefixed") if step % 2 else ("prefixed", "plain"):
                    value = next(counter)
                    cpu = server_ns()
                    start = time.perf_counter()
                    for row_pk in pks:
                        raw.execute((prefix if name == "prefixed" else "") + update, [value, row_pk])
                    spent[name] += time.perf_counter() - start
                    if cpu is not None:
                        server[name] += server_ns() - cpu
            ratios.append(spent["prefixed"] / spent["plain"])
        result["floor"] = statistics.median(ratios) - 1
        if server_ns() is not None:
            statements = REPEAT * (N // CHUNK) * len(pks)
            result["floor_server_us"] = (server["prefixed"] - server["plain"]) / statements / 1e3
            result["server_us"] = server["plain"] / statements / 1e3
        # And in a transaction: the triggers' own check with a non-empty ignore list (here
        # naming a trigger that does not fire) vs an empty one, same UPDATEs.
        setting = "SELECT set_config('pgtrigger.ignore', '{pgtrigger_protect_delete_x}', true)"
        ratios = []
        for round_ in range(REPEAT):
            spent = {"plain": 0.0, "prefixed": 0.0}
            for step in range(N // CHUNK):
                for name in ("plain", "prefixed") if step % 2 else ("prefixed", "plain"):
                    value = next(counter)
                    with transaction.atomic():
                        if name == "prefixed":
                            raw.execute(setting)
                        start = time.perf_counter()
                        for row_pk in pks:
                            raw.execute(update, [value, row_pk])
                        spent[name] += time.perf_counter() - start
            ratios.append(spent["prefixed"] / spent["plain"])
        result["prologue"] = statistics.median(ratios) - 1

# Entering and leaving a block, with no statement in it.
start = time.perf_counter()
for _ in range(20000):
    with ignore(UNRELATED):
        pass
result["enter_exit_us"] = (time.perf_counter() - start) / 20000 * 1e6

connection.ensure_connection()
result["driver"] = type(connection.connection).__module__
if os.environ["BENCH_DRIVER"] == "psycopg":
    from psycopg import pq

    def wire(func):
        raw = connection.connection
        with tempfile.TemporaryFile("w+") as trace:
            raw.pgconn.trace(trace.fileno())
            raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                func()
            finally:
                raw.pgconn.untrace()
            trace.seek(0)
            sent = []
            for line in trace.read().splitlines():
                parts = line.split("\\t")
                if len(parts) > 3 and parts[0] == "F" and parts[2] in ("Query", "Parse"):
                    sent.append(parts[3].strip().strip(\'"\'))
        return sent

    def updates(uri, atomic, n=50):
        def run():
            block = ignore(uri) if uri else contextlib.nullcontext()
            outer = transaction.atomic() if atomic else contextlib.nullcontext()
            with block, outer:
                for i in range(n):
                    rows.update(x=i)
        sent = [s for s in wire(run) if s not in ("BEGIN", "COMMIT")]
        return len(sent) / n

    def select_text(uri):
        def run():
            with ignore(uri):
                Item.objects.get(pk=pk)
        return wire(run)[0]

    result["messages_per_update"] = {
        "autocommit_outside": updates(None, False),
        "autocommit_inside": updates(UNRELATED, False),
        "atomic_outside": updates(None, True),
        "atomic_inside": updates(UNRELATED, True),
    }
    result["select_inside"] = select_text(UNRELATED)
json.dump(result, sys.stdout)
'''


def ensure_venv(drivers: list[str]) -> Path:
    """bench/.venv-pgtrigger's python (made as bench/run.py makes it), plus psycopg2 if asked."""
    python = VENV / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('django-pgtrigger'))"
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if done.returncode != 0 or done.stdout.strip() != "4.17.0":
        print(f"creating {VENV.relative_to(REPO)}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([*pip, *ANCHOR], check=True)
    if "psycopg2" in drivers:
        has = subprocess.run([python, "-c", "import psycopg2"], capture_output=True)
        if has.returncode != 0:
            version = importlib.metadata.version("psycopg2-binary")
            subprocess.run([*pip, f"psycopg2-binary=={version}"], check=True)
    return python


def create_database(url: str, name: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    entry = pgtest.parse_database_url(url)
    entry["NAME"] = name
    return entry


def run_child(
    python: Path, library: str, driver: str, project: Path, db: dict[str, Any], args: Any
) -> dict[str, Any]:
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PG")}
    paths = [str(project)] + ([str(REPO)] if library == "pgtrigger_live" else [])
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        BENCH_LIB=library,
        BENCH_DB=json.dumps(db),
        BENCH_DRIVER=driver,
        BENCH_N=str(args.n),
        BENCH_REPEAT=str(args.repeat),
        BENCH_SEED=str(args.seed),
    )
    done = subprocess.run(
        [str(python), str(project / "child.py")], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"{library}/{driver} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def write_project(root: Path) -> None:
    files = {
        "benchproj/__init__.py": "",
        "benchproj/settings.py": SETTINGS,
        "benchapp/__init__.py": "",
        "benchapp/models.py": MODELS,
        "child.py": CHILD,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))


def paired(times: dict[str, list[float]], name: str) -> tuple[float, float, float]:
    """Median of the per-step ratios ``name``/outside, with a 95 % bootstrap interval.

    Every step ran one chunk of each variant back to back, so each ratio compares chunks
    measured under the same machine conditions; the median over all steps resists the
    occasional disturbed chunk. Resampling is seeded: the same data gives the same text.
    """
    ratios = [v / o for v, o in zip(times[name], times["outside"], strict=True)]
    draw = random.Random(0).choices
    medians = sorted(statistics.median(draw(ratios, k=len(ratios))) for _ in range(1000))
    return statistics.median(ratios) - 1, medians[25] - 1, medians[974] - 1


def percent(value: float) -> str:
    return f"{value * 100:+.1f} %"


def interval(cost: tuple[float, float, float]) -> str:
    return f"{percent(cost[0])} ({cost[1] * 100:+.1f} to {cost[2] * 100:+.1f})"


def per_update(times: list[float]) -> float:
    return statistics.median(times) / CHUNK * 1e6


def report(results: dict[tuple[str, str], dict[str, Any]], args: Any, meta: dict[str, str]) -> str:
    titles = {"pgtrigger": "django-pgtrigger 4.17.0", "pgtrigger_live": "pgtrigger_live"}
    lines = [
        "# S6: single-row ORM UPDATEs inside `ignore()` vs outside",
        "",
        f"Generated by `bench/bench_ignore.py` ({meta['date']}, {meta['server']}, Python "
        f"{platform.python_version()}, Django {meta['django']}, this machine: "
        f"{os.cpu_count()} cores). Each library runs in its own process, under each driver, "
        f"in autocommit and inside `transaction.atomic()`: {meta['repeat']} rounds of "
        f"{meta['n']} single-row UPDATEs per variant, run as steps of one {CHUNK}-UPDATE "
        "chunk of every variant in a random order. Cost = median over all steps of the "
        "chunk's time divided by the *outside* chunk of the same step, with a 95 % bootstrap "
        "interval; µs = median time per UPDATE.",
        "",
        "* *inside*: in `ignore()` of a trigger that does not fire on UPDATE, so the database "
        "does the same work: the mechanism's own cost. **Target: ≤ +2 %.**",
        "* *skipped*: in `ignore()` of the trigger that fires (what a user sees).",
        "* *outside again*: a second, identical *outside* variant: the harness's own noise.",
        "* *bare prefix*: no ignore(); a bare `execute_wrapper` that only puts "
        "`SET LOCAL pgtrigger.ignore TO '...'; ` in front of every statement: what any "
        "second statement in the message costs, with no library logic at all.",
        "",
        "| driver | mode | library | µs outside | inside | skipped | outside again | bare prefix |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (library, driver), result in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        for mode in ("autocommit", "atomic"):
            raw = result[mode]
            cells = [
                interval(paired(raw, name))
                for name in ("inside", "inside_skipped", "outside_again", "bare")
            ]
            lines.append(
                f"| {driver} | {mode} | {titles[library]} | {per_update(raw['outside']):.1f} | "
                + " | ".join(cells)
                + " |"
            )
    verdicts = []
    for (library, driver), result in sorted(results.items()):
        if library != "pgtrigger_live":
            continue
        for mode in ("atomic", "autocommit"):
            cost = paired(result[mode], "inside")
            met = cost[0] <= 0.02
            verdicts.append(f"{driver} {mode}: {percent(cost[0])} ({'met' if met else 'NOT met'})")
    if verdicts:
        lines += ["", "Target ≤ +2 % (pgtrigger_live, *inside*): " + "; ".join(verdicts) + "."]
    lines += [
        "",
        "Entering and leaving `with ignore(uri): pass` (no statement), µs:",
        "",
        "| driver | " + " | ".join(titles[lib] for lib in ("pgtrigger", "pgtrigger_live")) + " |",
        "| --- | --- | --- |",
    ]
    for driver in args.drivers:
        cells = [
            f"{results[(lib, driver)]['enter_exit_us']:.1f}" if (lib, driver) in results else "-"
            for lib in ("pgtrigger", "pgtrigger_live")
        ]
        lines.append(f"| {driver} | " + " | ".join(cells) + " |")
    if any("floor" in r for r in results.values()):
        lines += [
            "",
            "The floor in autocommit, without Django or any library: the same UPDATE sent by "
            "the raw driver alone vs with `SET LOCAL pgtrigger.ignore TO '...'; ` in front of "
            "it in the same message (a second statement costs the server its own parse, "
            "execution and CommandComplete, whatever it is):",
            "",
            "| driver | cost of the second statement | server CPU per UPDATE | "
            "server CPU of the second statement |",
            "| --- | --- | --- | --- |",
            *(
                f"| {driver} | {r['floor'] * 100:+.1f} % | "
                f"{r.get('server_us', float('nan')):.1f} µs | "
                f"{r.get('floor_server_us', float('nan')):+.1f} µs |"
                for (lib, driver), r in sorted(results.items())
                if "floor" in r
            ),
            "",
            "The database's share, in both modes: the same UPDATEs in a transaction, sent by "
            "the raw driver, with `pgtrigger.ignore` empty vs naming a trigger that does not "
            "fire (every trigger function that runs parses the list in its first line):",
            "",
            "| driver | cost of a non-empty ignore list |",
            "| --- | --- |",
            *(
                f"| {driver} | {r['prologue'] * 100:+.1f} % |"
                for (lib, driver), r in sorted(results.items())
                if "prologue" in r
            ),
        ]
    traced = [(lib, r) for (lib, driver), r in results.items() if "messages_per_update" in r]
    if traced:
        lines += [
            "",
            "Messages sent per UPDATE (psycopg 3, libpq trace; the driver's BEGIN/COMMIT "
            "excluded), and how a SELECT inside the block is sent:",
            "",
            "| library | autocommit outside | autocommit inside | atomic outside | "
            "atomic inside | SELECT inside the block |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for library, result in sorted(traced):
            m = result["messages_per_update"]
            select = result["select_inside"]
            shown = select if len(select) < 70 else select[:67] + "..."
            lines.append(
                f"| {titles[library]} | {m['autocommit_outside']:.2f} | "
                f"{m['autocommit_inside']:.2f} | {m['atomic_outside']:.2f} | "
                f"{m['atomic_inside']:.2f} | `{shown}` |"
            )
    lines += [
        "",
        "Reading it: in autocommit, pgtrigger_live puts `SET LOCAL pgtrigger.ignore TO "
        "'...'; ` in front of a write (same message, zero extra round trips; a utility "
        "statement with no plan and no result row), django-pgtrigger puts `SELECT "
        "set_config(...); ` in front of every statement, SELECTs included. Inside a "
        "transaction pgtrigger_live sends one `SELECT set_config(..., true)` for the whole "
        "transaction and then the statements as written. The *outside again* column is the "
        "noise of the harness (a variant compared with itself). The *bare prefix* column is "
        "the floor of every mechanism that is safe behind a transaction-mode pooler and does "
        "not tax statements outside the block: the trigger can only learn about the block "
        "from a transaction-local setting, and in autocommit that takes a second statement "
        "in the message, whose cost on this machine (its server CPU is in the floor table, "
        "read from the backend's /proc schedstat) is already at or above 2 % of the ORM "
        "UPDATE. pgtrigger_live's autocommit cost sits at that floor; in a transaction it "
        "pays it once per transaction.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="UPDATEs per batch")
    parser.add_argument("--repeat", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--seed", type=int, default=1, help="seed of the chunk order")
    parser.add_argument("--drivers", nargs="+", default=["psycopg", "psycopg2"])
    parser.add_argument("--no-anchor", action="store_true", help="pgtrigger_live only")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {OUTPUT.name}")
    parser.add_argument("--raw", type=Path, help="also dump every batch time (JSON) here")
    parser.add_argument("--from-raw", type=Path, help="only re-render a --raw dump")
    args = parser.parse_args()
    if args.from_raw:
        saved = json.loads(args.from_raw.read_text())
        meta = saved.pop("_meta")
        loaded = {(key.split("/")[0], key.split("/")[1]): value for key, value in saved.items()}
        print(report(loaded, args, meta))
        return 0

    libraries: list[tuple[str, Path]] = [("pgtrigger_live", Path(sys.executable))]
    if not args.no_anchor:
        libraries.insert(0, ("pgtrigger", ensure_venv(args.drivers)))
    url = os.environ.get("DATABASE_URL")
    server = None if url else pgtest.start_throwaway_server()
    url = url or (server.url if server else "")
    started = time.time()
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ignore-") as tmp:
            write_project(Path(tmp))
            for library, python in libraries:
                for driver in args.drivers:
                    db = create_database(url, f"bench_ignore_{library}_{driver}")
                    print(f"{library} / {driver} ...", file=sys.stderr, flush=True)
                    results[(library, driver)] = run_child(
                        python, library, driver, Path(tmp), db, args
                    )
        import psycopg

        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    finally:
        if server is not None:
            server.stop()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "server": f"PostgreSQL {version[0] if version else '?'}",
        "django": importlib.metadata.version("django"),
        "n": str(args.n),
        "repeat": str(args.repeat),
    }
    if args.raw:
        dump: dict[str, Any] = {f"{k[0]}/{k[1]}": v for k, v in results.items()}
        args.raw.write_text(json.dumps({**dump, "_meta": meta}))
    text = report(results, args, meta)
    print(text)
    if not args.no_write:
        OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
