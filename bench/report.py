"""Turn the summary bench/run.py collects into the targets verdict and bench/README.md.

``python bench/report.py [bench/results/results.json]`` re-renders the README from a saved
summary without running anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DJ, LIVE = "pgtrigger", "pgtrigger_live"
#: django.setup() counts as linear when the second 600 triggers cost at most this many times
#: the first 600 (quadratic work makes it about 3), plus a little absolute noise.
LINEAR_FACTOR = 1.5
LINEAR_NOISE_S = 0.010

SCENARIOS = {
    "S1": "S1 first `install()`",
    "S2": "S2 no-op `install()` (all in sync)",
    "S2m": "S2m no-op `migrate`",
    "S3": "S3 `pgtrigger ls`",
    "S4": "S4 one body changed, `install()`",
    "S5": "S5 `prune()`, half the triggers gone",
}


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def signed_ms(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + ms(abs(seconds))


def ratio(summary: dict[str, Any], scenario: str) -> float:
    libs = summary["scenarios"][scenario]
    return float(libs[DJ]["median_s"] / libs[LIVE]["median_s"])


def setup_growth(summary: dict[str, Any], lib: str) -> dict[str, float]:
    """Extra setup time for N and 2N triggers over none, and their ratio (2: linear)."""
    by_count = summary["setup"][lib]
    counts = sorted(int(c) for c in by_count)
    base, n, double = counts[0], counts[-2], counts[-1]

    def t(count: int) -> float:
        return float(by_count[str(count)]["median_s"])

    first, second = t(n) - t(base), t(double) - t(n)
    return {
        "n": n,
        "first_s": first,
        "second_s": second,
        "ratio": second / first if min(first, second) >= LINEAR_NOISE_S else float("nan"),
        "linear": second <= LINEAR_FACTOR * first + LINEAR_NOISE_S,
    }


def _growth_ratio(growth: dict[str, float]) -> str:
    if growth["ratio"] != growth["ratio"]:  # NaN: a step is within noise
        return f"a step is under {ms(LINEAR_NOISE_S)}: within noise"
    return f"ratio {growth['ratio']:.2f}; linear ≈ 1"


def _target(name: str, measured: str, met: bool) -> dict[str, Any]:
    return {"target": name, "measured": measured, "met": met}


def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for pgtrigger_live, each with what was measured and a verdict."""
    sc = summary["scenarios"]
    n = summary["meta"]["triggers"]
    s2, s3, s4 = sc["S2"][LIVE], sc["S3"][LIVE], sc["S4"][LIVE]
    lock = summary["lock_checks"]["S2"][LIVE]
    touched = [c["touched"] for c in s4["catalog"]]
    recreated = [c["recreated"] for c in s4["catalog"]]
    growth = setup_growth(summary, LIVE)
    return [
        _target(
            f"no-op reconcile of {n} triggers: ≤ 3 SQL statements",
            f"{s2['max_statements']} statement(s) in {s2['max_round_trips']} round trip(s)",
            s2["max_statements"] <= 3,
        ),
        _target("no-op reconcile: 0 DDL", f"{s2['max_ddl']} DDL statements", s2["max_ddl"] == 0),
        _target(
            "no-op reconcile: no table lock",
            f"{s2['max_table_lock_statements']} lock-taking statements; "
            + ("waited behind" if lock["waited"] else "did not wait behind")
            + " an open writer on every table",
            s2["max_table_lock_statements"] == 0 and not lock["waited"],
        ),
        _target(
            "no-op reconcile ≥ 10x faster than django-pgtrigger's `install()`",
            f"{ratio(summary, 'S2'):.1f}x ({ms(s2['median_s'])} vs {ms(sc['S2'][DJ]['median_s'])})",
            ratio(summary, "S2") >= 10,
        ),
        _target(
            f"`ls` of {n}: ≤ 2 queries",
            f"queries: {s3['max_round_trips']}",
            s3["max_round_trips"] <= 2,
        ),
        _target(
            "`ls` ≥ 10x faster than django-pgtrigger's",
            f"{ratio(summary, 'S3'):.1f}x ({ms(s3['median_s'])} vs {ms(sc['S3'][DJ]['median_s'])})",
            ratio(summary, "S3") >= 10,
        ),
        _target(
            "one changed trigger → exactly one trigger replaced",
            f"touched per run: {touched}; re-created (new OID): {recreated}",
            all(t == 1 for t in touched),
        ),
        _target(
            "first install ≥ 2x faster than django-pgtrigger's",
            f"{ratio(summary, 'S1'):.1f}x ({ms(sc['S1'][LIVE]['median_s'])} vs "
            f"{ms(sc['S1'][DJ]['median_s'])})",
            ratio(summary, "S1") >= 2,
        ),
        _target(
            "`django.setup()` grows linearly with the number of triggers",
            f"{signed_ms(growth['first_s'])} for the first {growth['n']}, "
            f"{signed_ms(growth['second_s'])} for the next {growth['n']} "
            f"({_growth_ratio(growth)})",
            bool(growth["linear"]),
        ),
    ]


# -- rendering ----------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _ddl(counts: dict[str, Any]) -> str:
    ddl = counts["ddl"]
    if not ddl:
        return "0"
    return f"{counts['ddl_total']}: " + ", ".join(f"{n} {kind}" for kind, n in ddl.items())


def _effect(lib: dict[str, Any]) -> str:
    """What the scenario did to the catalog, in words."""
    parts = []
    if "catalog" in lib:
        catalog = lib["catalog"]
        touched = sorted({c["touched"] for c in catalog})
        recreated = sorted({c["recreated"] for c in catalog})
        functions = sorted({c["function_replaced"] for c in catalog})
        parts.append(f"triggers touched: {'/'.join(map(str, touched))}")
        parts.append(f"re-created (new OID): {'/'.join(map(str, recreated))}")
        if any(functions):
            parts.append(f"functions replaced in place: {'/'.join(map(str, functions))}")
    if "functions_after" in lib:
        parts.append(f"trigger functions left: {lib['functions_after']}")
    if "output_lines" in lib:
        parts.append(f"{lib['output_lines']} lines printed")
    if not lib["counts_stable"]:
        parts.append("counts varied between runs (first run shown)")
    return "; ".join(parts) if parts else ""


def render(summary: dict[str, Any]) -> str:
    meta, sc = summary["meta"], summary["scenarios"]
    n, runs = meta["triggers"], meta["runs"]
    versions = meta["versions"]
    out: list[str] = [
        "# pgtrigger_live vs django-pgtrigger 4.17.0",
        "",
        f"{meta['models']} models x 3 triggers = {n} triggers on {meta['models']} tables "
        "(Protect on delete, ReadOnly on one field, a conditional BEFORE UPDATE trigger with "
        '`condition=Q(old__x__df=F("new__x"))` and a PL/pgSQL body), the same models for '
        "both libraries, measured side by side in one run. Times are medians of "
        f"{runs} fresh processes, timed inside the process around the operation only "
        "(connection already open). Generated by `bench/run.py`; do not edit by hand.",
        "",
        "## How to run",
        "",
        "```sh",
        "python bench/run.py            # about 3 minutes; rewrites this file and results/",
        "python bench/run.py --no-write # print only",
        "python bench/run.py --ref HEAD # pgtrigger_live as committed, not the working tree",
        "python bench/report.py         # re-render this file from results/results.json",
        "PG_BINDIR=/usr/lib/postgresql/15/bin python bench/run.py  # choose the server",
        "DATABASE_URL=postgresql://user@host/db python bench/run.py  # existing server (CREATEDB)",
        "```",
        "",
        "The first run creates `bench/.venv-pgtrigger` (django-pgtrigger 4.17.0, Django 5.2, "
        "psycopg 3) with pip; pgtrigger_live runs from this checkout with the system python. "
        "It is never part of pytest. Raw per-process numbers go to "
        "`bench/results/raw-*.json.tmp` (git-ignored), the summary to "
        "`bench/results/results.json`.",
        "",
        "## Machine",
        "",
        f"- date: {meta['date']}, run took {meta.get('duration_s', '?')} s",
        f"- CPU: {meta['cpu']}, {meta['cores']} cores, {meta['memory']} RAM; {meta['system']}",
        f"- {meta['postgres']}",
    ]
    for lib, v in sorted(versions.items()):
        name = "django-pgtrigger" if lib == DJ else lib
        out.append(
            f"- {name} {v['library']}: Python {v['python']}, Django {v['django']}, "
            f"psycopg {v['psycopg']}"
        )
    out.append(f"- pgtrigger_live measured: {meta['pgtrigger_live_source']}")
    out.append(f"- driver of both libraries: {meta.get('driver', 'psycopg')}")

    out += ["", "## Targets (pgtrigger_live)", ""]
    out += _table(
        ["target", "measured", "met"],
        [[t["target"], t["measured"], "yes" if t["met"] else "**NO**"] for t in summary["targets"]],
    )

    out += ["", f"## Time (median of {runs} processes; min-max in brackets)", ""]
    rows = []
    for key, title in SCENARIOS.items():
        if key not in sc:
            continue
        dj, live = sc[key][DJ], sc[key][LIVE]
        rows.append(
            [
                title,
                f"{ms(dj['median_s'])} [{ms(dj['min_s'])}-{ms(dj['max_s'])}]",
                f"{ms(live['median_s'])} [{ms(live['min_s'])}-{ms(live['max_s'])}]",
                f"{ratio(summary, key):.1f}x",
            ]
        )
    setup = summary["setup"]
    for count in sorted(setup[LIVE], key=int):
        dj_t, live_t = setup[DJ][count]["median_s"], setup[LIVE][count]["median_s"]
        rows.append(
            [f"`django.setup()`, {count} triggers", ms(dj_t), ms(live_t), f"{dj_t / live_t:.1f}x"]
        )
    out += _table(["scenario", "django-pgtrigger 4.17.0", "pgtrigger_live", "speed-up"], rows)

    out += [
        "",
        "## Work done (identical in every run unless noted)",
        "",
        "Round trips are `cursor.execute` calls; statements are those calls split at "
        "top-level `;`; transactions count autocommit statements plus committed or rolled "
        "back `atomic` blocks; table-lock statements are trigger DDL, `ALTER TABLE`, "
        "`COMMENT ON TRIGGER` and `LOCK`. The catalog effect compares `pg_trigger` OIDs and "
        "xmin, function xmin and comments before and after.",
        "",
    ]
    rows = []
    for key, title in SCENARIOS.items():
        if key not in sc:
            continue
        for lib in (DJ, LIVE):
            counts = sc[key][lib]["counts"]
            rows.append(
                [
                    title if lib == DJ else "",
                    "django-pgtrigger" if lib == DJ else "pgtrigger_live",
                    str(counts["round_trips"]),
                    str(counts["statements"]),
                    str(counts["transactions"]),
                    _ddl(counts),
                    str(counts["table_lock_statements"]),
                    _effect(sc[key][lib]),
                ]
            )
    out += _table(
        [
            "scenario",
            "library",
            "round trips",
            "statements",
            "transactions",
            "DDL",
            "table-lock stmts",
            "catalog effect",
        ],
        rows,
    )

    out += [
        "",
        "## Table locks under write traffic",
        "",
        "`install()` run while another transaction holds ROW EXCLUSIVE on every table (what "
        "any in-flight INSERT/UPDATE/DELETE holds). Trigger DDL needs SHARE ROW EXCLUSIVE or "
        "more, so it must wait; while it waits, every new query on that table queues behind "
        "it. When the child is seen waiting, the writer lets go.",
        "",
    ]
    rows = []
    labels = {"S2": "S2 all in sync", "S4": "S4 one body changed"}
    for key, by_lib in summary["lock_checks"].items():
        for lib in (DJ, LIVE):
            check = by_lib[lib]
            rows.append(
                [
                    labels.get(key, key),
                    "django-pgtrigger" if lib == DJ else "pgtrigger_live",
                    ("**waited**: " + ", ".join(check["waiting_for"])) if check["waited"] else "no",
                    str(check["table_lock_statements"]),
                ]
            )
    out += _table(["scenario", "library", "waited for a table lock", "table-lock stmts"], rows)

    out += ["", "## Concurrent deploys", ""]
    out.append(
        f"{meta['processes']} processes, started together on a database with the tables "
        f"but no triggers, each calling `install()` {meta['calls']} times in a row."
    )
    out.append("")
    rows = []
    for lib in (DJ, LIVE):
        c = summary["concurrency"][lib]
        errors = "; ".join(f"{n}x {e[:90]}" for e, n in c["errors"].items()) or "none"
        rows.append(
            [
                "django-pgtrigger" if lib == DJ else "pgtrigger_live",
                f"{c['failures']} of {c['calls']}",
                " / ".join(map(str, c["failures_per_process"])),
                errors,
                str(c["triggers_after"]),
                ms(c["wall_s"]),
            ]
        )
    out += _table(
        ["library", "failed calls", "per process", "errors", "triggers after", "wall time"], rows
    )

    out += ["", "## `django.setup()` growth", ""]
    half = setup_growth(summary, LIVE)["n"]
    rows = []
    for lib in (DJ, LIVE):
        g = setup_growth(summary, lib)
        rows.append(
            [
                "django-pgtrigger" if lib == DJ else "pgtrigger_live",
                signed_ms(g["first_s"]),
                signed_ms(g["second_s"]),
                _growth_ratio(g),
                "linear" if g["linear"] else "worse than linear",
            ]
        )
    out += _table(
        [
            "library",
            f"0 → {half} triggers",
            f"{half} → {2 * half} triggers",
            "second step / first (1 = linear, ~3 = quadratic)",
            "verdict",
        ],
        rows,
    )
    out += [
        "",
        f"Same {meta['models']} tables throughout; only the number of declared triggers "
        "changes (a second set of three per model gives the top count). Linear: the second "
        f"step costs at most {LINEAR_FACTOR}x the first + {ms(LINEAR_NOISE_S)} of noise.",
        "",
        "## Method",
        "",
        f"- Scenarios run interleaved: run 1 django-pgtrigger first, run 2 pgtrigger_live first, "
        f"and so on, {runs} runs each.",
        "- Databases are cloned (`CREATE DATABASE … TEMPLATE`) from an empty template (tables "
        "only) or from one where the library itself installed all triggers; S1 and S5 get a "
        "fresh clone per run, S2/S2m/S3 share one in-sync clone, S4 flips Model000's body "
        "between two variants so every run changes exactly one trigger.",
        "- django-pgtrigger runs with `PGTRIGGER_MIGRATIONS = False` and "
        "`PGTRIGGER_INSTALL_ON_MIGRATE = True`; both libraries otherwise use their defaults "
        "(so a full `install()` also prunes).",
        "- `migrate` runs with system checks, as `manage.py migrate` does.",
        "",
    ]
    return "\n".join(out)


# -- both drivers: the overview (bench/README.md) ---------------------------------------------

FLOORS = {
    "F0": "F0 the no-op's catalog query alone, plain driver cursor",
    "F1": "F1 psql floor: the first install's `--dry-run --json` round trips, one transaction",
    "F1d": "F1d the same without the locking and signing blocks (trigger DDL only)",
}


def issue14_targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 14's targets for one driver."""
    sc = summary["scenarios"]
    live = {key: sc[key][LIVE]["median_s"] for key in ("S1", "S2", "S3") if key in sc}
    floor = {key: sc[key][LIVE]["median_s"] for key in FLOORS if key in sc}
    growth = setup_growth(summary, LIVE)
    rows = [
        _target(
            "no-op install of 600: ≥ 30x django-pgtrigger",
            f"{ratio(summary, 'S2'):.1f}x ({ms(live['S2'])} vs {ms(sc['S2'][DJ]['median_s'])})",
            ratio(summary, "S2") >= 30,
        ),
        _target(
            "no-op install: ≤ 1.5x the bare catalog query (F0)",
            f"{live['S2'] / floor['F0']:.2f}x ({ms(live['S2'])} vs {ms(floor['F0'])})",
            live["S2"] / floor["F0"] <= 1.5,
        ),
        _target(
            "`ls` of 600: ≥ 25x django-pgtrigger",
            f"{ratio(summary, 'S3'):.1f}x ({ms(live['S3'])} vs {ms(sc['S3'][DJ]['median_s'])})",
            ratio(summary, "S3") >= 25,
        ),
        _target(
            "first install of 600: ≥ 8x django-pgtrigger",
            f"{ratio(summary, 'S1'):.1f}x ({ms(live['S1'])} vs {ms(sc['S1'][DJ]['median_s'])})",
            ratio(summary, "S1") >= 8,
        ),
        _target(
            "first install: ≤ 1.3x the psql floor (F1)",
            f"{live['S1'] / floor['F1']:.2f}x ({ms(live['S1'])} vs {ms(floor['F1'])}); "
            f"{live['S1'] / floor['F1d']:.2f}x the trigger DDL alone (F1d, {ms(floor['F1d'])})",
            live["S1"] / floor["F1"] <= 1.3,
        ),
        _target(
            "`django.setup()` flat in the number of triggers",
            f"{signed_ms(growth['first_s'])} for the first {growth['n']}, "
            f"{signed_ms(growth['second_s'])} for the next {growth['n']}",
            bool(growth["linear"]),
        ),
    ]
    return rows


def render_overview(summaries: dict[str, dict[str, Any]], duration_s: int, note: str) -> str:
    """bench/README.md: issue 14's targets and the floors under each driver, side by side."""
    first = next(iter(summaries.values()))
    meta = first["meta"]
    out = [
        "# pgtrigger_live vs django-pgtrigger 4.17.0, under psycopg2 and psycopg 3",
        "",
        f"{meta['models']} models x 3 triggers = {meta['triggers']} triggers, the same project "
        "for both libraries, run side by side under each driver in turn (both libraries on the "
        f"same driver). Medians of {meta['runs']} fresh processes, timed around the operation "
        "only (connection already open). Generated by `bench/run.py`; the full report of each "
        "driver is in " + ", ".join(f"[RESULTS-{d}.md](RESULTS-{d}.md)" for d in summaries) + "; "
        "where the time goes and why a target is not met: [PERF.md](PERF.md) (by hand).",
        "",
        "```sh",
        "python bench/run.py                    # both drivers, about 8 minutes",
        "python bench/run.py --drivers psycopg2  # one driver",
        "python bench/run.py --machine-note 'busy: 2 cores shared by five agents'",
        "BENCH_ANCHOR_PYTHON=/path/to/venv/bin/python python bench/run.py  # an existing venv "
        "with django-pgtrigger 4.17.0, psycopg and psycopg2",
        "```",
        "",
        "## Conditions",
        "",
        f"- date: {meta['date']}, run took {duration_s} s",
        f"- CPU: {meta['cpu']}, {meta['cores']} cores, {meta['memory']} RAM; {meta['system']}",
        f"- {meta['postgres']}",
        f"- pgtrigger_live measured: {meta['pgtrigger_live_source']}",
    ]
    if note:
        out.append(f"- machine load: {note}")
    out += [
        "",
        "Floors, measured in the same run: **F0** sends the exact catalog query (and "
        "parameters) of a no-op reconcile on a new plain driver connection (so as cold a "
        "backend as the reconcile's): the physical limit of a no-op. **F1** sends the "
        "statements `pgtrigger install --dry-run --json` lists for the first install through "
        "psql as one transaction in one query (`\\;` between statements; psql's `\\timing`): "
        "the JSON's `round_trips`, exactly what the applier sends after its catalog read "
        "(table locks, functions, triggers, one signing block per round trip); **F1d** (the "
        "same without the locking and signing `DO` blocks) is the cost of the trigger DDL alone.",
        "",
        "## Issue 14 targets",
        "",
    ]
    rows = []
    for driver, summary in summaries.items():
        for t in issue14_targets(summary):
            rows.append([driver, t["target"], t["measured"], "yes" if t["met"] else "**NO**"])
    out += _table(["driver", "target", "measured", "met"], rows)
    out += ["", "## Times (median; min-max in brackets)", ""]
    rows = []
    for driver, summary in summaries.items():
        sc = summary["scenarios"]
        for key in ("S1", "S2", "S3"):
            if key not in sc:
                continue
            dj, live = sc[key][DJ], sc[key][LIVE]
            rows.append(
                [
                    driver,
                    SCENARIOS[key],
                    f"{ms(dj['median_s'])} [{ms(dj['min_s'])}-{ms(dj['max_s'])}]",
                    f"{ms(live['median_s'])} [{ms(live['min_s'])}-{ms(live['max_s'])}]",
                    f"{ratio(summary, key):.1f}x",
                ]
            )
        for key, title in FLOORS.items():
            if key in sc:
                floor = sc[key][LIVE]
                rows.append(
                    [
                        driver,
                        title,
                        "",
                        f"{ms(floor['median_s'])} [{ms(floor['min_s'])}-{ms(floor['max_s'])}]",
                        "",
                    ]
                )
    out += _table(["driver", "scenario", "django-pgtrigger 4.17.0", "pgtrigger_live", "x"], rows)
    out.append("")
    return "\n".join(out)


def main() -> int:
    path = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).parent / "results" / ("results.json")
    )
    summary = json.loads(path.read_text())
    summary["targets"] = targets(summary)
    text = render(summary)
    (Path(__file__).parent / "README.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
