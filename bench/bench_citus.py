"""Citus vs one server: first install and no-op reconcile of 99 triggers, and the cost of
``ignore()`` per single-row UPDATE (bench/CITUS.md).

Starts a Citus cluster (coordinator + 2 workers, tests/citus_cluster.py) and one plain node of
the same PostgreSQL (citus preloaded, extension not created), writes bench/project.py's
project (33 models with triggers, 99 triggers), distributes every table on the cluster, then times
``pgtrigger install`` in a fresh process: first install, then no-op, ``--runs`` times each.
Then, triggers installed, 200 single-row UPDATEs of a distributed table's rows (both workers)
outside and inside ``ignore()`` of a trigger that does not fire on UPDATE, in autocommit and
in ``transaction.atomic()``, interleaved, 5 rounds; median microseconds per UPDATE. Run by hand: ``python bench/bench_citus.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import project  # noqa: E402

from pgtrigger_live.testing import postgres as pgtest  # noqa: E402
from tests import citus_cluster  # noqa: E402

TIMED = """
import sys, time, django
django.setup()
from django.core.management import call_command
start = time.perf_counter()
call_command("pgtrigger", "install", verbosity=0)
print(time.perf_counter() - start)
"""

RUNTIME = f"""
import json, statistics, time, django
django.setup()
from django.db import transaction
from django.db.models import F
import pgtrigger_live as pgtrigger
from {project.APP}.models import Model000 as M
M.objects.bulk_create([M() for _ in range(200)])
ids = list(M.objects.values_list("id", flat=True))
def updates():
    start = time.perf_counter()
    for i in ids:
        M.objects.filter(id=i).update(x=F("x") + 1)
    return (time.perf_counter() - start) / len(ids) * 1e6
def atomic():
    with transaction.atomic():
        return updates()
def inside(run):
    with pgtrigger.ignore("{project.APP}.Model000:protect_delete"):
        return run()
variants = {{"autocommit outside": updates, "autocommit ignore()": lambda: inside(updates),
            "atomic outside": atomic, "atomic ignore()": lambda: inside(atomic)}}
times = {{k: [] for k in variants}}
for _ in range(5):
    for k, run in variants.items():
        times[k].append(run())
print(json.dumps({{k: round(statistics.median(v), 1) for k, v in times.items()}}))
"""


def _env(url: str, root: Path) -> dict[str, str]:
    parts = urlsplit(url)
    db = {"ENGINE": "django.db.backends.postgresql", "NAME": parts.path.lstrip("/"),
          "USER": parts.username, "HOST": parts.hostname, "PORT": parts.port}  # fmt: skip
    return dict(os.environ, BENCH_LIB="pgtrigger_live", BENCH_DB=json.dumps(db),
                BENCH_TRIGGERS="100", DJANGO_SETTINGS_MODULE="benchproj.settings",
                PYTHONPATH=os.pathsep.join([str(root), str(ROOT)]))  # fmt: skip


def _python(env: dict[str, str], root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stdout + done.stderr[-3000:])
    return done.stdout


def _measure(url: str, root: Path, runs: int, distribute: bool) -> dict[str, float]:
    env = _env(url, root)
    env_off = dict(env, BENCH_INSTALL_ON_MIGRATE="0")
    _python(env_off, root, "manage.py", "migrate", "--run-syncdb", "-v", "0")
    if distribute:
        code = (
            "import django; django.setup()\nfrom django.db import connection\n"
            "with connection.cursor() as c:\n"
            f"    for i in range({MODELS}):\n"
            "        c.execute('SELECT create_distributed_table(%s, %s)', "
            f"[f'{project.APP}_model{{i:03d}}', 'id'])\n"
        )
        _python(env_off, root, "-c", code)
    first, noop = [], []
    for _ in range(runs):
        first.append(float(_python(env, root, "-c", TIMED).split()[-1]))
        noop.append(float(_python(env, root, "-c", TIMED).split()[-1]))
        _python(env, root, "manage.py", "pgtrigger", "uninstall")
    _python(env, root, "manage.py", "pgtrigger", "install")
    runtime = json.loads(_python(env, root, "-c", RUNTIME).splitlines()[-1])
    return {
        "first_install_s": statistics.median(first),
        "noop_s": statistics.median(noop),
        "update_us": runtime,
    }


MODELS = 34


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bindir = citus_cluster.find_citus_bindir()
    if bindir is None:
        print("Citus is not installed: see README")
        return 1
    results = {}
    nodes = citus_cluster.start_cluster(bindir)
    plain = citus_cluster._start_node(bindir, pgtest._server_user())
    try:
        for label, url, distribute in (("cluster", nodes[0].url, True),
                                       ("plain", plain.url, False)):  # fmt: skip
            root = Path(tempfile.mkdtemp(prefix=f"bench-citus-{label}-"))
            project.write(root, MODELS)
            results[label] = _measure(url, root, args.runs, distribute)
    finally:
        citus_cluster.stop_cluster([*nodes, plain])
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
