"""The per-row cost of candidate ignore checks, alone: triggers that fire and write nothing.

    python bench/bench_ignore_check.py                    # about 3 minutes; prints Markdown
    python bench/bench_ignore_check.py --rows 100000 --repeat 9

Run by hand, never by pytest. Each variant gets a table with a ``BEFORE INSERT ... FOR EACH
ROW`` trigger whose function is ``<check> RETURN NULL;``, so ``INSERT ... SELECT
generate_series(...)`` calls the function once per row and stores nothing: no heap, no WAL,
little noise. ``none`` has no check; every other variant's cost is its time minus ``none``'s
in the same round (rounds shuffled), as the median over rounds, per row. The time is the
backend's CPU time (``/proc/<pid>/schedstat``, so the server must run on this machine), which
other jobs on a shared machine disturb less than the wall clock.

Three settings a function can meet: never set in the session (NULL), put back by a block's
exit or reset (''), and another trigger's id (an ``ignore()`` block active for some other
trigger: the check must parse the list). Every variant gives the same answers for every value
(tests/test_ignore_check.py checks the previous release's and this release's); ``when`` is
not a function check but the same test in the trigger's WHEN clause, for comparison.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pgtrigger_live.reconcile.compiler import IGNORE_CHECK  # noqa: E402
from pgtrigger_live.testing import postgres as pgtest  # noqa: E402

SETTING = "current_setting('pgtrigger.ignore', true)"
SKIP = "IF TG_OP = 'DELETE' THEN RETURN OLD; ELSE RETURN NEW; END IF;"
#: The check of the releases before 2026-12-05 (tests/fixtures/previous_release.sql).
PREVIOUS = f"IF TG_NAME = ANY(coalesce(nullif({SETTING}, '')::text[], '{{}}')) THEN {SKIP} END IF;"
VARIANTS = {
    "none": "",
    "previous": PREVIOUS,
    "nested IF": f"IF {SETTING} <> '' THEN IF TG_NAME = ANY({SETTING}::text[]) THEN {SKIP} "
    "END IF; END IF;",
    "CASE (this release)": IGNORE_CHECK,
    "setting read only": f"IF {SETTING} IS NULL THEN NULL; END IF;",
    "when": "",
}
WHEN = f"WHEN (NOT coalesce((CASE WHEN {SETTING} <> '' THEN '{{name}}' = ANY({SETTING}::text[]) END), false))"
SCENARIOS = {
    "unset (NULL)": None,
    "put back ('')": "",
    "another trigger ignored": '{"pgtrigger_other_12345"}',
}


def setup(conn: psycopg.Connection[Any]) -> dict[str, str]:
    tables = {}
    for i, (variant, check) in enumerate(VARIANTS.items()):
        table = tables[variant] = f"bench_check_{i}"
        conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        conn.execute(f"CREATE TABLE {table} (id int)")
        conn.execute(
            f"CREATE FUNCTION {table}_fn() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {check} RETURN NULL; END $$"
        )
        when = WHEN.format(name=f"{table}_trg") if variant == "when" else ""
        conn.execute(
            f"CREATE TRIGGER {table}_trg BEFORE INSERT ON {table} FOR EACH ROW {when} "
            f"EXECUTE FUNCTION {table}_fn()"
        )
    return tables


def measure(
    conn: psycopg.Connection[Any], tables: dict[str, str], rows: int, repeat: int
) -> dict[str, list[float]]:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    schedstat = Path(f"/proc/{pid}/schedstat")

    def cpu_ns() -> int:
        return int(schedstat.read_text().split()[0])

    times: dict[str, list[float]] = {variant: [] for variant in tables}
    order = list(tables)
    for _ in range(repeat):
        random.shuffle(order)
        for variant in order:
            start = cpu_ns()
            conn.execute(
                f"INSERT INTO {tables[variant]} SELECT g FROM generate_series(1, {rows}) g"
            )
            times[variant].append((cpu_ns() - start) / 1e9)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = pgtest.start_throwaway_server()
        url = server.url
    lines = []
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            tables = setup(conn)
            lines += [
                f"µs per row over `none`, median of {args.repeat} rounds of {args.rows:,} rows "
                f"(interquartile range), PostgreSQL {version}, backend CPU time:",
                "",
                "| check | " + " | ".join(SCENARIOS) + " |",
                "| --- |" + " --- |" * len(SCENARIOS),
            ]
            cells: dict[str, list[str]] = {v: [] for v in VARIANTS if v != "none"}
            for value in SCENARIOS.values():
                if value is not None:
                    conn.execute("SELECT set_config('pgtrigger.ignore', %s, false)", [value])
                times = measure(conn, tables, args.rows, args.repeat)
                for variant in cells:
                    diffs = [
                        (t - n) / args.rows * 1e6
                        for t, n in zip(times[variant], times["none"], strict=True)
                    ]
                    q1, _, q3 = statistics.quantiles(diffs, n=4)
                    cells[variant].append(f"{statistics.median(diffs):.3f} ({q1:.3f} to {q3:.3f})")
            lines += [f"| {variant} | " + " | ".join(row) + " |" for variant, row in cells.items()]
            for table in tables.values():
                conn.execute(f"DROP TABLE {table} CASCADE")
                conn.execute(f"DROP FUNCTION {table}_fn()")
    finally:
        if server is not None:
            server.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
