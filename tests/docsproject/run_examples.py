"""Run the documentation's examples: ``python -m tests.docsproject.run_examples IN.json OUT.json``.

Child process of tests/test_docs_examples.py, on an empty database of its own
(``DJANGO_SETTINGS_MODULE=tests.docsproject.settings``). It migrates, then runs the blocks page
by page: each page starts from the triggers as declared, enabled, and empty tables, with a
fresh namespace that its blocks share (a page reads top to bottom). Python blocks are
executed, pycon blocks run as doctests, console blocks run ``manage.py`` in this process and
compare the output. The result of each block is written to OUT.json.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import shlex
import sys
import traceback
from typing import Any

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.core.management import ManagementUtility, call_command  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402

import pgtrigger_live  # noqa: E402
import pgtrigger_live as pgtrigger  # noqa: E402
from tests.docsproject import examples, setups  # noqa: E402


def reset() -> None:
    """The state every page starts from: declared triggers, enabled, empty tables."""
    pgtrigger.install()
    pgtrigger.enable()
    tables = ", ".join(
        connection.ops.quote_name(model._meta.db_table)
        for model in apps.get_app_config("shop").get_models()
    )
    with pgtrigger.ignore(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def namespace() -> dict[str, Any]:
    """What every page may use without importing it: the docs' models and the usual names."""
    names: dict[str, Any] = {
        "__name__": "docs_example",
        "pgtrigger": pgtrigger,
        "pgtrigger_live": pgtrigger_live,
        "models": models,
        "transaction": transaction,
        "connection": connection,
    }
    names.update({model.__name__: model for model in apps.get_app_config("shop").get_models()})
    return names


def run_python(block: dict[str, Any], names: dict[str, Any]) -> None:
    exec(compile(block["code"], block["id"], "exec"), names)  # the docs' own code


def run_pycon(block: dict[str, Any], names: dict[str, Any]) -> None:
    path, _, line = block["id"].rpartition(":")
    test = doctest.DocTestParser().get_doctest(block["code"], names, block["id"], path, int(line))
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    report = io.StringIO()
    runner.run(test, out=report.write, clear_globs=False)
    names.update(test.globs)  # DocTest copies its globals: later blocks see these names
    if runner.failures:
        raise AssertionError(report.getvalue())


def run_console(block: dict[str, Any], names: dict[str, Any]) -> None:
    pairs = examples.commands(block["code"])
    for number, (command, expected) in enumerate(pairs, 1):
        argv = shlex.split(command)
        if argv[:1] == ["python"]:
            argv = argv[1:]
        if argv[:1] not in (["manage.py"], ["./manage.py"]):
            raise AssertionError(f"only manage.py commands can be checked, not {command!r}")
        out = io.StringIO()
        status = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                ManagementUtility(["manage.py", *argv[1:]]).execute()
            except SystemExit as stop:
                status = stop.code if isinstance(stop.code, int) else 1
        want = block["exit"] if number == len(pairs) else 0
        if status != want:
            raise AssertionError(
                f"$ {command}\nexit status {status}, expected {want}\n{out.getvalue()}"
            )
        difference = examples.match_output(expected, out.getvalue())
        if difference:
            raise AssertionError(f"$ {command}\n{difference}")


RUNNERS = {"python": run_python, "pycon": run_pycon, "console": run_console}


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as given:
        blocks: list[dict[str, Any]] = json.load(given)
    call_command("migrate", run_syncdb=True, verbosity=0)
    results: dict[str, str | None] = {}
    page = None
    names: dict[str, Any] = {}
    for block in blocks:
        try:
            if block["path"] != page:
                page = block["path"]
                reset()
                names = namespace()
            if block["setup"]:
                getattr(setups, block["setup"])()
            RUNNERS[block["kind"]](block, names)
            results[block["id"]] = None
        except BaseException:  # every failure is reported on its block
            results[block["id"]] = traceback.format_exc()
    with open(target, "w", encoding="utf-8") as out:
        json.dump(results, out)
    print("examples run:", len(results), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
