"""Every code example of the documentation runs against a real PostgreSQL, so none can drift.

- Python blocks made of ``--8<--`` includes show tests/docsproject's code itself: that app is
  migrated and its triggers installed and exercised by the other examples.
- Other Python blocks are executed, pycon blocks run as doctests, console blocks run their
  ``manage.py`` commands and compare the output: all in one child process
  (tests/docsproject/run_examples.py) on a database of its own, page by page.
- Every other block is inert (``text``, ``sql``...) or marked ``<!-- example: not run:
  REASON -->``; a new Python, console or shell block that is neither fails
  ``test_every_block_is_run_or_marked``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, database_url
from tests.docsproject import examples

BLOCKS = [block for path in examples.documentation() for block in examples.parse(path)]
RUN = [block for block in BLOCKS if block.kind in ("python", "pycon", "console")]


def test_every_block_is_run_or_marked() -> None:
    found = [f"{block.id}: {problem}" for block in BLOCKS for problem in examples.problems(block)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("a\nb", "a\nb\n", True),
        ("a  \nb", "a\nb  ", True),  # trailing spaces do not count
        ("a\nb", "a\nc", False),
        ("a\nb", "a", False),
        ("a", "a\nb", False),  # extra output is a difference
        ("a\n...\nd", "a\nb\nc\nd", True),
        ("a\n...\nd", "a\nd", True),  # ... may stand for no line
        ("a\n...\nd", "a\nb\nc", False),
        ("...\nz", "x\ny", False),
        ("a...", "abc", False),  # only a whole line of ... is a wildcard
    ],
)
def test_output_matching(expected: str, actual: str, matches: bool) -> None:
    assert (examples.match_output(expected, actual) is None) is matches


def test_marks_are_read() -> None:
    page = Path(tempfile.mkdtemp(dir=ROOT / "tests" / "docsproject")) / "page.md"
    try:
        page.write_text(
            "<!-- example: not run: installs packages on the reader's machine -->\n"
            "```sh\npip install x\n```\n\n"
            "```sh\npip install y\n```\n\n"
            "<!-- example: setup=drifted exit=1 -->\n"
            "```console\n$ python manage.py pgtrigger ls --check\n```\n\n"
            "<!-- example: not run -->\n```python\nx = 1\n```\n\n"
            "```\nplain\n```\n\n"
            '```python\n--8<-- "tests/docsproject/shop/models.py:nosuch"\n```\n'
        )
        first, second, third, fourth, fifth, sixth = examples.parse(page)
    finally:
        page.unlink()
        page.parent.rmdir()
    assert (first.kind, first.skip, examples.problems(first)) == (
        "skipped", "installs packages on the reader's machine", []
    )  # fmt: skip
    assert "a shell block is either" in examples.problems(second)[0]
    assert (third.kind, third.setup, third.exit, third.line) == ("console", "drifted", 1, 11)
    assert examples.problems(fourth) == ["a 'not run' mark needs a reason of a few words"]
    assert "a fence needs a language" in examples.problems(fifth)[0]
    assert sixth.kind == "included"
    assert examples.problems(sixth) == [
        "tests/docsproject/shop/models.py:nosuch: no section 'nosuch'"
    ]


@pytest.fixture(scope="module")
def results(django_db_blocker: pytest.FixtureRequest) -> Iterator[dict[str, str | None]]:
    """Run every runnable block once, in a child process on a database of its own."""
    from django.db import connection

    name = f"pgtl_docs_{os.getpid()}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    with tempfile.TemporaryDirectory() as work:
        source, target = Path(work, "in.json"), Path(work, "out.json")
        source.write_text(
            json.dumps(
                [
                    {"id": b.id, "path": b.path, "kind": b.kind, "code": b.code,
                     "setup": b.setup, "exit": b.exit}
                    for b in RUN
                ]
            )
        )  # fmt: skip
        env = dict(
            os.environ,
            DATABASE_URL=database_url(name=name),
            DJANGO_SETTINGS_MODULE="tests.docsproject.settings",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.docsproject.run_examples", str(source), str(target)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-6000:]}"
            yield json.loads(target.read_text())
        finally:
            with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("block", RUN, ids=[block.id for block in RUN])
def test_example(block: examples.Block, results: dict[str, str | None]) -> None:
    assert block.id in results, "the example was not run"
    error = results[block.id]
    assert error is None, f"{block.id} ({block.kind}):\n{block.code}\n{error}"


def test_settings_page_lists_every_setting_with_its_default() -> None:
    import ast
    import re

    from django.test import override_settings

    from pgtrigger_live import conf
    from pgtrigger_live.runtime import errors

    readers = {
        "PGTRIGGER_LIVE_INSTALL_ON_MIGRATE": conf.install_on_migrate,
        "PGTRIGGER_LIVE_PRUNE_ON_INSTALL": conf.prune_on_install,
        "PGTRIGGER_LIVE_MODEL_META": conf.model_meta,
        "PGTRIGGER_LIVE_LOCK_TIMEOUT_MS": conf.lock_timeout_ms,
        "PGTRIGGER_LIVE_LOCK_DEADLINE_S": conf.lock_deadline_s,
        "PGTRIGGER_LIVE_ON_BUSY_TABLE": conf.on_busy_table,
        "PGTRIGGER_LIVE_RECONCILE_WAIT_MS": conf.reconcile_wait_ms,
        "PGTRIGGER_LIVE_SCHEMAS": conf.schemas,
        "PGTRIGGER_LIVE_PRE_MIGRATE": conf.pre_migrate,
        "PGTRIGGER_LIVE_TYPED_ERRORS": errors._enabled,
    }
    in_code = {
        name
        for path in (ROOT / "pgtrigger_live").rglob("*.py")
        for name in re.findall(r"PGTRIGGER_LIVE_[A-Z_]+[A-Z]", path.read_text("utf-8"))
    }
    page = (ROOT / "docs" / "settings.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| `(PGTRIGGER_LIVE_[A-Z_]+)` \| `([^`]+)` \|", page, re.M))
    assert set(rows) == in_code == set(readers)
    with override_settings():
        from django.conf import settings

        for name in readers:
            for unset in (name, name.replace("PGTRIGGER_LIVE_", "PGTRIGGER_")):
                if hasattr(settings, unset):
                    delattr(settings, unset)
        defaults = {name: read() for name, read in readers.items()}
    assert {name: ast.literal_eval(text) for name, text in rows.items()} == defaults


def test_api_reference_covers_the_public_names() -> None:
    import re

    import pgtrigger_live

    page = (ROOT / "docs" / "api.md").read_text("utf-8")
    documented = set(re.findall(r"^::: pgtrigger_live\.(\w+)$", page, re.M))
    mentioned = set(re.findall(r"`(\w+)", page))
    public = set(pgtrigger_live.__all__) - {"__version__"}
    assert documented <= public, "api.md documents names that are not public"
    assert public - documented - mentioned == set()
