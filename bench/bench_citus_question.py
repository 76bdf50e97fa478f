"""What asking "is Citus there?" costs a new session, by the form of the question.

    python bench/bench_citus_question.py [--rounds 400]

Run by hand, never by pytest; prints a Markdown table (copied into bench/IGNORE.md by hand).
On a throwaway server without Citus, each sample opens a new connection, runs ``BEGIN``, then
times what a block's first statement in a transaction would be: the runtime's ``set_config``
statement alone (what was sent before Citus support), with one more column (the folded forms),
or after a separate question (one more round trip). A new session must load every catalog a
statement reads, which is what separates the forms. django-pgtrigger asks nothing of the kind,
so there is no anchor column: its ``set_config`` statement costs what the first row does.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pgtrigger_live import citus  # the repository root is on the path now
from pgtrigger_live.runtime import statements
from pgtrigger_live.testing import postgres as pgtest

EXTENSION = "EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'citus')"
REGCLASS = "to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL"
VALUES = {statements.IGNORE: '{"pgtrigger_protect_delete_x"}'}
READ = [statements.IGNORE]


def forms() -> dict[str, list[str]]:
    def folded(expression: str | None) -> str:
        return statements.set_config(VALUES, READ, expression)

    return {
        "set_config alone (before Citus support)": [folded(None)],
        "folded: citus.version (this version)": [folded(citus.LOADED)],
        "folded: to_regclass(pg_dist_partition)": [folded(REGCLASS)],
        "folded: EXISTS pg_extension": [folded(EXTENSION)],
        "asked first: EXISTS pg_extension (previous version)": [
            f"SELECT {EXTENSION}",
            folded(None),
        ],
        "asked first: to_regclass (this version's query)": [citus.HAS_CITUS, folded(None)],
    }


def main() -> int:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    variants = forms()
    times: dict[str, list[float]] = {name: [] for name in variants}
    server = pgtest.start_throwaway_server()
    try:
        shuffle = random.Random(1).shuffle
        for _ in range(args.rounds):
            order = list(variants)
            shuffle(order)
            for name in order:
                with psycopg.connect(server.url) as conn:
                    conn.execute("BEGIN")
                    start = time.perf_counter()
                    for statement in variants[name]:
                        conn.execute(statement).fetchone()  # type: ignore[arg-type]
                    times[name].append(time.perf_counter() - start)
                    conn.execute("COMMIT")
        with psycopg.connect(server.url) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
    finally:
        server.stop()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    reference = statistics.median(times["set_config alone (before Citus support)"])
    print(f"`bench/bench_citus_question.py` ({stamp}, PostgreSQL {version}, {args.rounds} new "
          "connections per form, interleaved; median µs from after BEGIN to the last row)\n")  # fmt: skip
    print("| first statement(s) of a block in a new session | µs | vs set_config alone |")
    print("| --- | --- | --- |")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"| {name} | {median * 1e6:.0f} | {(median - reference) * 1e6:+.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
