"""``manage.py pgtrigger ls|install|uninstall|enable|disable|prune|stats``: a thin shell over
:mod:`pgtrigger_live.reconcile.installation` and :mod:`~pgtrigger_live.reconcile.stats`. All
output goes through ``self.stdout``."""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

from pgtrigger_live import citus, conf, naming
from pgtrigger_live.exceptions import PgTriggerLiveError, StatsUnavailableError
from pgtrigger_live.reconcile import applier, installation, reporting, stats
from pgtrigger_live.reconcile.planner import Entry, Plan
from pgtrigger_live.reconcile.state import Status

_MUTATIONS: dict[str, tuple[str, Callable[..., Plan]]] = {
    "install": (
        "Install missing or outdated triggers (and prune when no URI is given).",
        installation.install,
    ),
    "uninstall": (
        "Drop triggers and their functions (and prune when no URI is given).",
        installation.uninstall,
    ),
    "enable": ("Enable installed triggers.", installation.enable),
    "disable": ("Disable installed triggers.", installation.disable),
    "prune": ("Drop installed triggers that are no longer declared.", installation.prune),
}


class Command(BaseCommand):
    help = "List, install, uninstall, enable, disable and prune Postgres triggers; show their cost."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, title="subcommands")

        def common(p: CommandParser, *, uris: bool = True) -> None:
            if uris:
                p.add_argument("uris", nargs="*", help="app_label.Model:name URIs or wildcards")
            p.add_argument("-d", "--database", help="database alias (default: default)")
            p.add_argument(
                "-s",
                "--schema",
                action="append",
                dest="schemas",
                default=[],
                help="reconcile in this schema (repeatable; each schema is put in front of the "
                "connection's search_path, which it extends)",
            )
            p.add_argument(
                "--all-schemas",
                action="store_true",
                help="every schema PGTRIGGER_LIVE_SCHEMAS gives (django-tenants: public and "
                "every tenant), in one catalog query",
            )
            p.add_argument("--json", action="store_true", help="machine-readable output")
            # Also after the subcommand (`pgtrigger install -v 0`); SUPPRESS keeps the value
            # given before it when this one is not given.
            p.add_argument(
                "-v",
                "--verbosity",
                type=int,
                choices=[0, 1, 2, 3],
                default=argparse.SUPPRESS,
                help="0: print nothing but errors; 2: each action's SQL too",
            )

        ls = sub.add_parser("ls", help="Show the status of every trigger.")
        common(ls)
        ls.add_argument(
            "--check", action="store_true", help="exit with status 1 when anything is not in sync"
        )
        ls.add_argument(
            "--stats",
            action="store_true",
            help="add each trigger's calls, total and mean time (see `pgtrigger stats`)",
        )
        cost = sub.add_parser(
            "stats",
            help="Show what each installed trigger costs: calls and time, costliest first.",
        )
        common(cost)
        taken = cost.add_mutually_exclusive_group()
        taken.add_argument(
            "--save",
            metavar="FILE",
            help="save the current counters to FILE (for a later --since) instead of showing them",
        )
        taken.add_argument(
            "--since",
            metavar="FILE",
            help="show only what happened since the reading saved in FILE (e.g. one load test)",
        )
        for name, (help_text, _) in _MUTATIONS.items():
            p = sub.add_parser(name, help=help_text)
            common(p, uris=name != "prune")
            if name == "prune":
                p.add_argument(
                    "--foreign",
                    action="store_true",
                    help="also drop signed triggers on tables no model of this project uses",
                )
            p.add_argument(
                "--dry-run",
                action="store_true",
                help="print the plan (an action per line, with its reason) without executing it",
            )
            p.add_argument(
                "--sql", action="store_true", help="also print each action's SQL (as does -v 2)"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        subcommand = options["subcommand"]
        kwargs: dict[str, Any] = {
            "database": options["database"],
            "schemas": options["schemas"],
            "all_schemas": options["all_schemas"],
        }
        alias = options["database"] or DEFAULT_DB_ALIAS
        if alias not in connections:
            raise CommandError(
                f"Unknown database alias {alias!r}"
                f"{reporting.did_you_mean(alias, connections)} "
                f"(DATABASES has: {', '.join(connections)})."
            )
        try:
            if subcommand == "ls":
                self._ls(installation.status(*options["uris"], **kwargs), options)
                return
            if subcommand == "stats":
                self._stats(options, kwargs)
                return
            func = _MUTATIONS[subcommand][1]
            uris = options.get("uris") or []
            if subcommand == "prune":
                kwargs["foreign"] = options["foreign"]
            if subcommand == "install" and not options["json"] and self.stderr.isatty():
                kwargs["progress"] = self._progress
            plan = func(*uris, dry_run=options["dry_run"], **kwargs)
        except PgTriggerLiveError as exc:
            raise CommandError(str(exc)) from exc
        except (OperationalError, InterfaceError) as exc:
            raise CommandError(_unreachable(alias, exc)) from exc
        self._plan(plan, options)

    # -- output -------------------------------------------------------------------------------

    def _progress(self, done: int, total: int, schemas: list[str]) -> None:
        """On a terminal only (never in CI logs or under --json): how far a long install is."""
        where = f"{schemas[0]} .. {schemas[-1]}" if len(schemas) > 1 else schemas[0] or "-"
        self.stderr.write(
            f"\r  applied {done:,} of {total:,} trigger actions (schemas {where})", ending=""
        )
        if done == total:
            self.stderr.write("")

    def _stats(self, options: dict[str, Any], kwargs: dict[str, Any]) -> None:
        uris = options["uris"]
        if options["save"]:
            if uris:
                raise CommandError(
                    "--save records every trigger (so --since can tell a new function from an "
                    "unsaved one): give URIs when showing, with --since."
                )
            reading = stats.take(**kwargs)
            stats.save_reading(reading, options["save"])
            where = {**_where(options), "uris": ()}
            self.stdout.write(
                f"Saved the counters of {len(reading.functions):,} trigger function(s) to "
                f"{options['save']}. After the load, run: "
                f"{reporting.command('stats', **where)} --since {shlex.quote(options['save'])}"
            )
            return
        since = stats.load_reading(options["since"]) if options["since"] else None
        report = stats.stats(*uris, since=since, **kwargs)
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json(), indent=2))
        else:
            self.stdout.write("\n".join(stats.table_lines(report)))

    def _ls(self, entries: list[Entry], options: dict[str, Any]) -> None:
        costs: dict[tuple[str, str], stats.Cost] | None = None
        if options["stats"]:
            try:
                costs = stats.costs_by_entry(options["database"] or DEFAULT_DB_ALIAS, entries)
            except StatsUnavailableError as exc:
                self.stderr.write(str(exc))
        if options["json"]:
            rows = [_entry_json(e) for e in entries]
            if costs is not None:
                for row, entry in zip(rows, entries, strict=True):
                    found = costs.get((entry.scope, entry.uri))
                    row["stats"] = found.to_json() if found else None
            self.stdout.write(json.dumps(rows, indent=2))
        elif not entries:
            self.stdout.write("No triggers are registered or installed.")
        else:
            width = max(len(e.status.value) for e in entries)
            multi_scope = len({e.scope for e in entries}) > 1 or any(e.scope for e in entries)
            # The Citus table kind, only when some table is a Citus table: where a trigger
            # fires (docs/citus.md); plain projects see the columns they always saw.
            kinds = [_table_kind(e) or "" for e in entries]
            kind_width = max(map(len, kinds)) if any(k != citus.PLAIN for k in kinds) else 0
            styles = {
                Status.INSTALLED: self.style.SUCCESS,
                Status.UNINSTALLED: self.style.ERROR,
                Status.OUTDATED: self.style.WARNING,
                Status.TAMPERED: self.style.WARNING,
                Status.PRUNE: self.style.NOTICE,
                Status.UNALLOWED: self.style.HTTP_INFO,
                Status.FOREIGN: self.style.HTTP_INFO,
            }
            orders = [naming.order_of(e.pgid) for e in entries]
            ordered = any(order is not None for order in orders)
            lines = []
            if costs is not None:
                order_head = f"{'order':<10} " if ordered else ""
                kind_head = f"{'':{kind_width}} " if kind_width else ""
                lines.append(
                    f"{'':{width}} {'':8} {kind_head}{stats.FIGURES_HEAD} {order_head}trigger"
                )
            for entry, order, kind in zip(entries, orders, kinds, strict=True):
                status = styles[entry.status](entry.status.value.ljust(width))
                enabled_text = entry.enabled.label if entry.enabled is not None else "N/A"
                enabled_style = (
                    self.style.SUCCESS
                    if entry.enabled is not None and entry.enabled.is_enabled
                    else self.style.ERROR
                    if entry.enabled is not None
                    else self.style.HTTP_INFO
                )
                where = f"{entry.scope}: " if multi_scope else ""
                if ordered:  # a column only when some trigger declares an order
                    where = f"{'' if order is None else f'order {order}':<10} {where}"
                figures = ""
                if costs is not None:
                    figures = stats.figures(costs.get((entry.scope, entry.uri))) + " "
                table_kind = f"{kind.ljust(kind_width)} " if kind_width else ""
                line = (
                    f"{status} {enabled_style(enabled_text.ljust(8))} {table_kind}{figures}"
                    f"{where}{entry.uri}"
                )
                if entry.status not in (Status.INSTALLED, Status.UNALLOWED):
                    line += f"  ({entry.reason})"
                lines.append(line)
            self.stdout.write("\n".join(lines))  # one write: 600 lines cost 600 wrapper calls
        fix = None
        if not options["json"] and entries:
            fix = reporting.fix_hint(
                entries, prune_on_install=conf.prune_on_install(), **_where(options)
            )
            self.stdout.write(reporting.status_summary(entries))
            if costs is not None and any(c.shared for c in costs.values()):
                self.stdout.write(stats.SHARED_NOTE)
            if fix:
                self.stdout.write(fix)
        if options["check"]:
            drift = [e for e in entries if not e.in_sync]
            if drift:
                raise CommandError(
                    f"{len(drift)} trigger(s) not in sync: "
                    + ", ".join(
                        f"{e.scope + ': ' if e.scope else ''}{e.uri} {e.status.value}"
                        for e in drift
                    )
                    + (f". {fix}" if fix else ""),
                    returncode=1,
                )

    def _plan(self, plan: Plan, options: dict[str, Any]) -> None:
        if options["verbosity"] == 0 and not options["json"]:
            return  # Django's convention: -v 0 prints nothing but errors
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": options["dry_run"],
                        "actions": [reporting.action_json(a) for a in plan.actions],
                        "skipped": [{"uri": u, "reason": r} for u, r in plan.skipped],
                        # What a run sends after its catalog read, round trip by round trip
                        # (an action's "sql" signs it alone; a run signs each trip at once).
                        "round_trips": applier.round_trips(
                            plan, growing=applier.grows(options["database"] or DEFAULT_DB_ALIAS)
                        ),
                    },
                    indent=2,
                )
            )
            return
        if plan.is_empty and not plan.skipped:
            self.stdout.write("Nothing to do: the database is in sync.")
            return
        if options["dry_run"]:
            self.stdout.write(self.style.MIGRATE_HEADING("Plan (dry run, nothing executed):"))
        show_sql = options.get("sql") or options["verbosity"] >= 2
        self.stdout.write("\n".join(plan.describe(sql=show_sql)))
        self.stdout.write(reporting.plan_summary(plan, dry_run=options["dry_run"]))


def _where(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "uris": options.get("uris") or (),
        "database": options["database"],
        "schemas": options["schemas"],
        "all_schemas": options["all_schemas"],
    }


def _unreachable(alias: str, exc: BaseException) -> str:
    """One line for a server that is down or refuses us (libpq's first line says why)."""
    connection = connections[alias]
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    if connection.connection is not None:  # connected: an error of the session, say it as is
        return f"Database {alias!r}: {reason}"
    entry = connection.settings_dict
    where = f"{entry.get('HOST') or 'local socket'}:{entry.get('PORT') or 5432}"
    return f"Cannot reach database {alias!r} ({entry.get('NAME')} on {where}): {reason}"


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "uri": entry.uri,
        "pgid": entry.pgid,
        "status": entry.status.value,
        "order": naming.order_of(entry.pgid),
        "enabled": entry.enabled.label if entry.enabled is not None else None,
        "table": f"{entry.table.schema}.{entry.table.name}" if entry.table else None,
        "table_kind": _table_kind(entry),
        "scope": entry.scope or None,
        "reason": entry.reason,
    }


def _table_kind(entry: Entry) -> str | None:
    """plain, distributed, reference or citus local; None when the table is missing."""
    return entry.table.kind if entry.table is not None else None
