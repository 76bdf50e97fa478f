"""A conditional trigger on a 200,000-row UPDATE: pgtrigger_live vs hand-written vs django-pgtrigger.

    python bench/bench_conditional.py                 # about a minute; prints a Markdown report
    python bench/bench_conditional.py --rows 50000 --repeat 3

Run by hand, never by pytest. Five identical tables (id, value, version) get:

* ``plain``: no trigger;
* ``hand``: the trigger written by hand: ``BEFORE UPDATE ... WHEN (OLD.value IS DISTINCT FROM
  NEW.value)`` running ``NEW.version := OLD.version + 1; RETURN NEW;``;
* ``live``: the same trigger declared with pgtrigger_live and installed with the exact SQL its
  compiler produces (its ``ignore`` check included);
* ``before``: ``live`` with the ignore check of the releases before 2026-12-05 instead
  (``PREVIOUS_CHECK``), so one run compares the two checks;
* ``ref``: the same trigger declared with django-pgtrigger 4.17.0 (its own virtualenv,
  bench/.venv-pgtrigger, made on first use) and installed with the SQL it renders.

Each UPDATE runs in a transaction that is rolled back, after a VACUUM of that table, in an
order shuffled per round; the median of --repeat rounds is reported. "true" updates ``value``
(the condition holds for every row), "false" updates ``version`` only (it holds for none).
A last section times Django's ``cursor.execute`` with and without the typed-error wrapper.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv-pgtrigger"
sys.path.insert(0, str(REPO))
from pgtrigger_live.testing import postgres as pgtest  # noqa: E402  (importable once the repo root is on the path)

VARIANTS = ("plain", "hand", "live", "before", "ref")
CONDITION_SQL = 'OLD."value" IS DISTINCT FROM NEW."value"'
BODY = "NEW.version := OLD.version + 1; RETURN NEW;"
#: The ignore check of the releases before 2026-12-05 (tests/fixtures/previous_release.sql).
PREVIOUS_CHECK = (
    "IF TG_NAME = ANY(coalesce(nullif(current_setting('pgtrigger.ignore', true), '')::text[],"
    " '{}')) THEN\n"
    "    IF TG_OP = 'DELETE' THEN RETURN OLD; ELSE RETURN NEW; END IF;\n"
    "  END IF;"
)
SCENARIOS = {
    "true": "UPDATE {table} SET value = value + 1",
    "false": "UPDATE {table} SET version = version",
}

REF_SCRIPT = """
import os, sys
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["pgtrigger"],
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}},
    PGTRIGGER_MIGRATIONS=False,
    PGTRIGGER_INSTALL_ON_MIGRATE=False,
)
django.setup()
from django.db import models
import pgtrigger

class RefRow(models.Model):  # its own name: the trigger id depends on the model's label
    value = models.IntegerField()
    version = models.IntegerField()
    class Meta:
        app_label = "bench"
        db_table = sys.argv[1]
        managed = False

trigger = pgtrigger.Trigger(
    name="bump_version",
    when=pgtrigger.Before,
    operation=pgtrigger.Update,
    condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value")),
    func=sys.argv[2],
)
print(trigger.compile(RefRow).install_sql)
"""


def ensure_venv() -> Path:
    """bench/.venv-pgtrigger's python, with django-pgtrigger 4.17.0 (shared with run.py)."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import pgtrigger, django"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "django-pgtrigger==4.17.0",
            "Django==5.2.*",
            "psycopg[binary]",
        ],
        check=True,
    )
    return python


def live_sql(table: str, url: str, model: str = "LiveRow", previous: bool = False) -> list[str]:
    """The statements pgtrigger_live installs for the trigger on ``table``.

    ``model`` names the model (the trigger's id, so its function's name, depends on it);
    ``previous`` swaps in the ignore check of the releases before 2026-12-05.
    """
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connection, models

    import pgtrigger_live as pgtrigger
    from pgtrigger_live.reconcile import ddl
    from pgtrigger_live.reconcile.compiler import IGNORE_CHECK, compile_trigger
    from pgtrigger_live.reconcile.state import TableRef

    meta = type("Meta", (), {"app_label": "bench", "db_table": table, "managed": False})
    row = type(
        model,
        (models.Model,),
        {
            "__module__": __name__,
            "value": models.IntegerField(),
            "version": models.IntegerField(),
            "Meta": meta,
        },
    )

    trigger = pgtrigger.Trigger(
        name="bump_version",
        when=pgtrigger.Before,
        operation=pgtrigger.Update,
        condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value")),
        func=BODY,
    )
    compiled = compile_trigger(row, trigger, connection)
    ref = TableRef("public", table, 0)
    function = ddl.create_function(compiled, ref)
    if previous:
        assert IGNORE_CHECK in function
        function = function.replace(IGNORE_CHECK, PREVIOUS_CHECK)
    return [function, ddl.create_trigger(compiled, ref, replace=False)]


def hand_sql(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {table}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {BODY} END $$",
        f"CREATE TRIGGER {table}_trg BEFORE UPDATE ON {table} FOR EACH ROW "
        f"WHEN ({CONDITION_SQL}) EXECUTE FUNCTION {table}_fn()",
    ]


def setup(conn: psycopg.Connection[Any], rows: int, url: str) -> None:
    ref_python = ensure_venv()
    ref = subprocess.run(
        [str(ref_python), "-c", REF_SCRIPT, "bench_ref", BODY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for variant in VARIANTS:
        table = f"bench_{variant}"
        conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        conn.execute(
            f"CREATE TABLE {table} (id bigint PRIMARY KEY, value int NOT NULL, "
            "version int NOT NULL)"
        )
        conn.execute(
            f"INSERT INTO {table} SELECT g, g %% 1000, 0 FROM generate_series(1, %s) g", [rows]
        )
    for statement in hand_sql("bench_hand"):
        conn.execute(statement)
    for statement in live_sql("bench_live", url):
        conn.execute(statement)
    for statement in live_sql("bench_before", url, "BeforeRow", previous=True):
        conn.execute(statement)
    conn.execute(ref)  # several statements, no parameters
    for variant in VARIANTS:
        conn.execute(f"VACUUM ANALYZE bench_{variant}")


def time_update(conn: psycopg.Connection[Any], statement: str) -> float:
    conn.execute("BEGIN")
    start = time.perf_counter()
    conn.execute(statement)
    elapsed = time.perf_counter() - start
    conn.execute("ROLLBACK")
    return elapsed


def measure(
    conn: psycopg.Connection[Any], repeat: int, cpu: dict[tuple[str, str], list[float]]
) -> dict[tuple[str, str], list[float]]:
    """Wall times per (variant, scenario); ``cpu`` gets the backend's CPU time of each
    UPDATE when the server runs on this machine (``/proc/<pid>/schedstat``): other jobs on a
    shared machine disturb it less than the wall clock."""
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    schedstat = Path(f"/proc/{pid}/schedstat")

    def cpu_s() -> float:
        return int(schedstat.read_text().split()[0]) / 1e9 if schedstat.exists() else 0.0

    times: dict[tuple[str, str], list[float]] = {}
    runs = [(v, s) for v in VARIANTS for s in SCENARIOS]
    for _ in range(repeat):
        random.shuffle(runs)
        for variant, scenario in runs:
            table = f"bench_{variant}"
            conn.execute(f"VACUUM {table}")
            statement = SCENARIOS[scenario].format(table=table)
            before = cpu_s()
            times.setdefault((variant, scenario), []).append(time_update(conn, statement))
            if schedstat.exists():
                cpu.setdefault((variant, scenario), []).append(cpu_s() - before)
    return times


def wrapper_cost(queries: int, repeat: int) -> tuple[float, float]:
    """Median µs per ``cursor.execute("SELECT 1")`` without and with the typed-error wrapper.

    Batches of 1,000 queries alternate between the two, so drift affects both alike.
    """
    from django.db import connection

    from pgtrigger_live.runtime import errors

    def batch(cursor: Any, size: int) -> float:
        start = time.perf_counter()
        for _ in range(size):
            cursor.execute("SELECT 1")
        return (time.perf_counter() - start) / size * 1e6

    without: list[float] = []
    with_: list[float] = []
    with connection.cursor() as cursor:
        batch(cursor, 1000)  # warm up
        for _ in range(repeat * queries // 1000):
            errors.uninstall_translation()
            without.append(batch(cursor, 1000))
            errors.install_translation()
            assert errors.translate_execute in connection.execute_wrappers
            with_.append(batch(cursor, 1000))
    return statistics.median(without), statistics.median(with_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = pgtest.start_throwaway_server()
        url = server.url
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            setup(conn, args.rows, url)
            cpu: dict[tuple[str, str], list[float]] = {}
            times = measure(conn, args.repeat, cpu)
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            for variant in VARIANTS:
                conn.execute(f"DROP TABLE bench_{variant} CASCADE")
            conn.execute("DROP FUNCTION bench_hand_fn()")
        plain_wrapper, with_wrapper = wrapper_cost(20_000, args.repeat)
    finally:
        if server is not None:
            server.stop()
    print(report(times, args, version, plain_wrapper, with_wrapper))
    if cpu:
        print("\nThe same rounds in backend CPU time (`/proc/<pid>/schedstat`):\n")
        cpu_report = report(cpu, args, version, plain_wrapper, with_wrapper)
        print("\n\n".join(cpu_report.split("\n\n")[1:3]))  # the table and the ratios


def report(
    times: dict[tuple[str, str], list[float]],
    args: argparse.Namespace,
    version: str,
    plain_wrapper: float,
    with_wrapper: float,
) -> str:
    med = {key: statistics.median(values) * 1000 for key, values in times.items()}

    def overhead(variant: str, scenario: str) -> float:
        return med[(variant, scenario)] - med[("plain", scenario)]

    lines = [
        f"{args.rows:,}-row UPDATE, median of {args.repeat} rounds, PostgreSQL {version}:",
        "",
        "| trigger | condition true | overhead | condition false | overhead |",
        "| --- | --- | --- | --- | --- |",
    ]
    for variant in VARIANTS:
        lines.append(
            f"| {variant} | {med[(variant, 'true')]:.0f} ms | {overhead(variant, 'true'):.0f} ms "
            f"| {med[(variant, 'false')]:.0f} ms | {overhead(variant, 'false'):.0f} ms |"
        )
    best = {key: min(values) * 1000 for key, values in times.items()}

    def paired(a: str, b: str) -> float:
        """Median over rounds of a's time minus b's in the same round (condition true)."""
        pairs = zip(times[(a, "true")], times[(b, "true")], strict=True)
        return statistics.median(x - y for x, y in pairs) * 1000

    def paired_ratio(a: str, b: str) -> float:
        """Median over rounds of a's time over b's in the same round (condition true)."""
        pairs = zip(times[(a, "true")], times[(b, "true")], strict=True)
        return statistics.median(x / y for x, y in pairs)

    live_vs_hand = med[("live", "true")] / med[("hand", "true")]
    overhead_ratio = overhead("ref", "true") / overhead("live", "true")
    false_delta = med[("live", "false")] - med[("hand", "false")]
    lines += [
        "",
        f"- condition true, live / hand (total time): {live_vs_hand:.3f}x (target <= 1.1x)",
        f"- condition true, live / hand (best round each): "
        f"{best[('live', 'true')] / best[('hand', 'true')]:.3f}x",
        f"- condition true, live / hand (trigger overhead): "
        f"{overhead('live', 'true') / overhead('hand', 'true'):.3f}x",
        f"- condition true, before / hand (total time): "
        f"{med[('before', 'true')] / med[('hand', 'true')]:.3f}x; best round each: "
        f"{best[('before', 'true')] / best[('hand', 'true')]:.3f}x",
        f"- condition true, paired by round: live / hand {paired_ratio('live', 'hand'):.3f}x, "
        f"before / hand {paired_ratio('before', 'hand'):.3f}x",
        f"- condition true, live - before: {med[('live', 'true')] - med[('before', 'true')]:+.1f} ms "
        f"(paired by round: {paired('live', 'before'):+.1f} ms)",
        f"- condition true, django-pgtrigger overhead / live overhead: {overhead_ratio:.2f}x "
        "(target >= 1.8x)",
        f"- condition false, live - hand: {false_delta:+.1f} ms "
        f"({false_delta / med[('hand', 'false')] * 100:+.1f} %)",
        "- all samples (ms): "
        + "; ".join(
            f"{v}/{s}: " + ", ".join(f"{t * 1000:.0f}" for t in times[(v, s)])
            for v in VARIANTS
            for s in SCENARIOS
        ),
        "",
        f"Typed-error wrapper, `cursor.execute('SELECT 1')`, median of batches of 1,000: "
        f"{plain_wrapper:.2f} µs "
        f"without, {with_wrapper:.2f} µs with ({with_wrapper - plain_wrapper:+.2f} µs/query).",
    ]
    return textwrap.dedent("\n".join(lines))


if __name__ == "__main__":
    main()
