"""Many schemas in one pass: 100 tenant schemas x 100 triggers (10,000 triggers).

Run by hand: ``python bench/bench_tenants.py [--schemas 100] [--models 100] [--runs 5]``.
Starts a throwaway PostgreSQL (tests/pgtest.py) unless DATABASE_URL is set, generates an app
of ``--models`` unmanaged models (one Protect trigger each, one table per model in every
schema), and times, in one process with the connection open:

* first install of every schema (``install(all_schemas=True)``);
* the no-op reconcile of every schema, with the number of queries sent;
* ``ls --all-schemas`` (``status(all_schemas=True)`` plus the command's rendering);
* for comparison, the same no-op as one ``install(schemas=[s])`` call per schema.

Results are printed as JSON; bench/TENANTS.md records a run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = """
from django.db import models
import pgtrigger_live as pgtrigger

{classes}
"""
CLASS = """
class M{n:03d}(models.Model):
    x = models.IntegerField(default=0)

    class Meta:
        managed = False
        db_table = "bench_m{n:03d}"
        triggers = [pgtrigger.Protect(name="protect", operation=pgtrigger.Delete)]
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", type=int, default=100)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", help="write cProfile stats of one no-op reconcile here")
    args = parser.parse_args()

    from tests import pgtest

    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = pgtest.start_throwaway_server()
        url = server.url
    work = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    (work / "benchtenants").mkdir()
    (work / "benchtenants" / "__init__.py").write_text("")
    (work / "benchtenants" / "models.py").write_text(
        MODELS.format(classes="".join(CLASS.format(n=n) for n in range(args.models)))
    )
    sys.path.insert(0, str(work))
    schemas = [f"tenant_{i:03d}" for i in range(args.schemas)]

    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["pgtrigger_live", "benchtenants"],
        DATABASES={"default": pgtest.parse_database_url(url)},
        PGTRIGGER_LIVE_SCHEMAS=schemas,
        PGTRIGGER_LIVE_INSTALL_ON_MIGRATE=False,
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import pgtrigger_live as pgtrigger

    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute(
                "".join(
                    f'CREATE TABLE "{schema}".bench_m{n:03d} (id bigserial PRIMARY KEY, x int);'
                    for n in range(args.models)
                )
            )

    def timed(func: object) -> float:
        start = time.perf_counter()
        func()  # type: ignore[operator]
        return time.perf_counter() - start

    result: dict[str, object] = {
        "schemas": args.schemas,
        "triggers": args.schemas * args.models,
        "server": connection.pg_version,  # type: ignore[attr-defined]
    }
    result["first_install_s"] = timed(lambda: pgtrigger.install(all_schemas=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger%'")
        result["installed"] = cursor.fetchone()[0]  # type: ignore[index]

    noop = []
    for _ in range(args.runs):
        with CaptureQueriesContext(connection) as queries:
            noop.append(timed(lambda: pgtrigger.install(all_schemas=True)))
        result["noop_queries"] = len(queries.captured_queries)
    result["noop_s"] = statistics.median(noop)
    if args.profile:
        import cProfile

        cProfile.runctx(
            "pgtrigger.install(all_schemas=True)", globals(), locals(), filename=args.profile
        )
    ls = [
        timed(lambda: call_command("pgtrigger", "ls", "--all-schemas", stdout=io.StringIO()))
        for _ in range(args.runs)
    ]
    result["ls_s"] = statistics.median(ls)
    loop = []
    for _ in range(min(args.runs, 3)):
        with CaptureQueriesContext(connection) as queries:
            loop.append(timed(lambda: [pgtrigger.install(schemas=[s]) for s in schemas]))
        result["loop_queries"] = len(queries.captured_queries)
    result["loop_per_schema_noop_s"] = statistics.median(loop)
    print(json.dumps(result, indent=2))
    if server is not None:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
