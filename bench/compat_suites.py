"""Run django-pghistory's or django-pgtrigger's own test suite against pgtrigger_live.

Their code is not part of this repository: check it out first, at the released tag.

    git clone --branch 3.9.2 https://github.com/AmbitionEng/django-pghistory /tmp/pghistory-src
    git clone --branch 4.17.0 https://github.com/AmbitionEng/django-pgtrigger /tmp/pgtrigger-src
    pip install dj-database-url django-extensions django-dynamic-fixture pytest-mock \
        pytest-asyncio pillow django-postgres-extra django-pgbulk pytest-order
    python bench/compat_suites.py pghistory /tmp/pghistory-src [--psycopg2]
    python bench/compat_suites.py pgtrigger /tmp/pgtrigger-src [--psycopg2]

The suite runs with its own settings plus ``"pgtrigger_live", "pgtrigger_live.compat"`` at
the top of INSTALLED_APPS: ``import pgtrigger`` gives pgtrigger_live; django-pgtrigger (still
installed as pghistory's dependency) is never imported. A throwaway PostgreSQL is started
(pgtrigger_live/testing/postgres.py) unless DATABASE_URL is set. ``--psycopg2`` hides psycopg 3 so the tests
that only run on psycopg2 run too. ``--reference`` runs the suite as released (on
django-pgtrigger), for comparison.

For django-pgtrigger's suite, the harness app below does what its own layout needs and no
project does: its tests live inside the ``pgtrigger`` package (``pgtrigger.tests``), and an
autouse fixture mocks a private logging helper of its management command. Tests that check
migration files, exact SQL text or ``ls`` output are set aside (SET_ASIDE, with the reason).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: django-pgtrigger tests set aside, each with its reason: they check migration files, exact
#: SQL text or ``ls`` output, or fail on django-pgtrigger itself in this environment.
SET_ASIDE = {
    "test_migrations.py": "trigger migration files: pgtrigger_live writes none by design",
    "test_commands.py": "exact `ls` text and colours (pgtrigger_live's ls has its own format)",
    "test_multi_db.py::test_full_ls": "exact `ls` text and colours",
    "test_multi_schema.py::test_commands": "exact `ls` text and colours",
    "test_core.py::test_changed_condition[": "exact condition SQL text",
    "test_runtime.py::test_inject_trigger_ignore": "exact text of the statement the ignore "
    "wrapper sends (psycopg2 only); pgtrigger_live's prefix differs, docs/runtime.md",
    "test_core.py::test_referencing_rendering": "exact REFERENCING SQL text",
    "test_contrib.py::test_composer_get_func_template_kwargs": "exact SQL text of the "
    "statement-level condition templates",
    "test_core.py::test_partition": "fails on django-pgtrigger too here: django-dynamic-fixture "
    "cannot fill Django 5.2's CompositePrimaryKey",
}

HARNESS_APP = '''
"""Only for running django-pgtrigger's own suite: its tests are the package pgtrigger.tests."""
import sys
import types

import pgtrigger

pgtrigger.__path__.append({tests_root!r})
# Its conftest mocks pgtrigger.management.commands.pgtrigger._setup_logging for every test.
for name in ("pgtrigger.management", "pgtrigger.management.commands",
             "pgtrigger.management.commands.pgtrigger"):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules["pgtrigger.management"].commands = sys.modules["pgtrigger.management.commands"]
commands = sys.modules["pgtrigger.management.commands"]
commands.pgtrigger = sys.modules["pgtrigger.management.commands.pgtrigger"]
commands.pgtrigger._setup_logging = lambda: None
pgtrigger.management = sys.modules["pgtrigger.management"]
'''


def write_harness(kind: str, source: Path, work: Path, reference: bool) -> str:
    base = "settings" if kind == "pghistory" else "test_settings"
    if reference:
        return base
    apps = ["pgtrigger_live", "pgtrigger_live.compat"]
    if kind == "pgtrigger":
        tests_root = work / "tests_root"
        tests_root.mkdir()
        (tests_root / "tests").symlink_to(source / "pgtrigger" / "tests")
        (work / "compat_harness.py").write_text(HARNESS_APP.format(tests_root=str(tests_root)))
        apps.append("compat_harness")
    (work / "compat_settings.py").write_text(
        f"from {base} import *  # noqa\nINSTALLED_APPS = [*{apps!r}, *INSTALLED_APPS]\n"
    )
    return "compat_settings"


def set_aside_args(kind: str) -> list[str]:
    if kind != "pgtrigger":
        return []
    # --deselect takes node id prefixes: a name covers its parametrized cases.
    return [arg for test in SET_ASIDE for arg in ("--deselect", f"pgtrigger/tests/{test}")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["pghistory", "pgtrigger"])
    parser.add_argument("source", type=Path, help="checkout of the project at its release tag")
    parser.add_argument("--psycopg2", action="store_true", help="hide psycopg 3")
    parser.add_argument("--reference", action="store_true", help="run on django-pgtrigger")
    parser.add_argument(
        "--library", type=Path, default=ROOT, help="directory holding the pgtrigger_live to test"
    )
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    source = args.source.resolve()

    sys.path.insert(0, str(ROOT))
    from pgtrigger_live.testing import postgres as pgtest

    server = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = pgtest.start_throwaway_server()
        url = server.url.rsplit("/", 1)[0] + "/compat"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            paths = [str(work)]
            if args.psycopg2:
                (work / "psycopg").mkdir()
                (work / "psycopg" / "__init__.py").write_text('raise ImportError("hidden")\n')
            if not args.reference:
                paths.append(str(args.library.resolve()))
            paths.append(str(source))
            settings = write_harness(args.kind, source, work, args.reference)
            report = work / "report.xml"
            env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=os.pathsep.join(paths))
            env.pop("DJANGO_SETTINGS_MODULE", None)
            command = [
                sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--create-db",
                f"--ds={settings}", f"--junitxml={report}", "-o", "addopts=",
                *(set_aside_args(args.kind) if not args.reference else []), *args.pytest_args,
            ]  # fmt: skip
            done = subprocess.run(command, cwd=source, env=env, check=False)
            summarize(report, args.kind, args.reference)
            return done.returncode
    finally:
        if server is not None:
            server.stop()


def summarize(report: Path, kind: str, reference: bool) -> None:
    if not report.exists():
        print("no report written")
        return
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed = []
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        counts[outcome] += 1
        if outcome == "failed":
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    ran = counts["passed"] + counts["failed"]
    share = 100 * counts["passed"] / ran if ran else 0.0
    on = "django-pgtrigger (reference)" if reference else "pgtrigger_live"
    print(f"\n{kind} suite on {on}: {counts['passed']}/{ran} passed ({share:.1f} %), "
          f"{counts['skipped']} skipped")  # fmt: skip
    if kind == "pgtrigger" and not reference:
        print(f"set aside ({len(SET_ASIDE)} entries):")
        for test, reason in SET_ASIDE.items():
            print(f"  {test}: {reason}")
    for name in failed:
        print(f"  FAILED {re.sub(r'^pghistory.tests.|^pgtrigger.tests.', '', name)}")


if __name__ == "__main__":
    sys.exit(main())
