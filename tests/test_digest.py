"""The declaration digest: a reconcile that finds it in the comment renders nothing.

Pure tables first (each part of a declaration or of its model that the SQL depends on changes
the digest; what cannot be trusted has none; the comment format), then the database: every
change of a declaration is OUTDATED even though the unchanged ones are never compiled, and
comments written before digests existed are re-signed with a COMMENT only.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import connection, models

import pgtrigger_live
import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import InstallError
from pgtrigger_live.reconcile import digest
from pgtrigger_live.reconcile.compiler import compile_trigger, deferred_trigger
from pgtrigger_live.reconcile.digest import Digester
from pgtrigger_live.reconcile.planner import ActionKind
from pgtrigger_live.reconcile.state import Signature, Status
from tests.conftest import catalog_state, subprocess_env
from tests.testapp.models import Plain

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]


def _digest(model: type[models.Model], trigger: pgtrigger.Trigger, major: int = 16) -> str | None:
    return Digester("postgresql", major).digest(model, trigger)


# -- models built for the table, in a registry of their own -------------------------------------


def _model(name: str = "Row", table: str = "digest_row", **fields: models.Field[Any, Any]) -> Any:
    registry = Apps()
    meta = type("Meta", (), {"app_label": "testapp", "db_table": table, "apps": registry})
    attrs: dict[str, Any] = {"__module__": __name__, "Meta": meta}
    attrs |= fields or {
        "value": models.IntegerField(default=0),
        "label": models.CharField(max_length=32, default=""),
    }
    return type(name, (models.Model,), attrs)


def base(**changes: Any) -> pgtrigger.Trigger:
    kwargs: dict[str, Any] = {
        "name": "digested",
        "when": pgtrigger.Before,
        "operation": pgtrigger.Update,
        "condition": pgtrigger.Q(old__value__df=pgtrigger.F("new__value")),
        "func": "NEW.label := 'x'; RETURN NEW;",
    }
    return pgtrigger.Trigger(**(kwargs | changes))


BASE_MODEL = _model()


def after(**changes: Any) -> pgtrigger.Trigger:
    return base(when=pgtrigger.After, func="RETURN NULL;", **changes)


def statement(**changes: Any) -> pgtrigger.Trigger:
    return after(level=pgtrigger.Statement, condition=None, **changes)


def composer(func: dict[Any, str]) -> pgtrigger.Trigger:
    """A Composer with one function per level (``func`` is a dict)."""
    return pgtrigger.Composer(
        name="composed", when=pgtrigger.After, operation=pgtrigger.Update, func=func
    )


Q, F = pgtrigger.Q, pgtrigger.F
#: (what changes, a declaration, the same declaration with that one part changed).
TRIGGER_CHANGES: list[tuple[str, Callable[[], pgtrigger.Trigger], Callable[[], pgtrigger.Trigger]]]
TRIGGER_CHANGES = [
    ("name", base, lambda: base(name="digested2")),
    (
        "condition value",
        lambda: base(condition=Q(new__value=1)),
        lambda: base(condition=Q(new__value=2)),
    ),
    (
        "condition literal type",
        lambda: base(condition=Q(new__value=1)),
        lambda: base(condition=Q(new__value="1")),
    ),
    ("condition lookup", base, lambda: base(condition=Q(old__value__ndf=F("new__value")))),
    ("condition field", base, lambda: base(condition=Q(old__label__df=F("new__value")))),
    ("condition F field", base, lambda: base(condition=Q(old__value__df=F("new__label")))),
    ("condition negated", base, lambda: base(condition=~Q(old__value__df=F("new__value")))),
    (
        "condition connector",
        lambda: base(condition=Q(new__value=1) & Q(new__value=2)),
        lambda: base(condition=Q(new__value=1) | Q(new__value=2)),
    ),
    ("condition removed", base, lambda: base(condition=None)),
    (
        "condition SQL text",
        lambda: base(condition=pgtrigger.Condition("NEW.value > 0")),
        lambda: base(condition=pgtrigger.Condition("NEW.value > 1")),
    ),
    (
        "change fields",
        lambda: base(condition=pgtrigger.AnyChange("value")),
        lambda: base(condition=pgtrigger.AnyChange("label")),
    ),
    (
        "change exclude",
        lambda: base(condition=pgtrigger.AnyChange()),
        lambda: base(condition=pgtrigger.AnyChange(exclude=["label"])),
    ),
    (
        "change kind",
        lambda: base(condition=pgtrigger.AnyChange("value")),
        lambda: base(condition=pgtrigger.AllChange("value")),
    ),
    ("func", base, lambda: base(func="NEW.label := 'y'; RETURN NEW;")),
    ("func as template", base, lambda: base(func=pgtrigger.Func("NEW.label := 'x'; RETURN NEW;"))),
    (
        "func template",
        lambda: base(func=pgtrigger.Func("{columns.value}")),
        lambda: base(func=pgtrigger.Func("{columns.label}")),
    ),
    ("declare", base, lambda: base(declare=[("n", "int")])),
    ("declare type", lambda: base(declare=[("n", "int")]), lambda: base(declare=[("n", "bigint")])),
    ("when", base, after),
    ("operation", base, lambda: base(operation=pgtrigger.Insert)),
    ("operations", base, lambda: base(operation=pgtrigger.Update | pgtrigger.Insert)),
    ("update of", base, lambda: base(operation=pgtrigger.UpdateOf("value"))),
    (
        "update of fields",
        lambda: base(operation=pgtrigger.UpdateOf("value")),
        lambda: base(operation=pgtrigger.UpdateOf("label")),
    ),
    ("level", after, lambda: after(level=pgtrigger.Statement)),
    ("referencing", statement, lambda: statement(referencing=pgtrigger.Referencing(old="o"))),
    (
        "referencing name",
        lambda: statement(referencing=pgtrigger.Referencing(old="o")),
        lambda: statement(referencing=pgtrigger.Referencing(old="p")),
    ),
    (
        "referencing side",
        lambda: statement(referencing=pgtrigger.Referencing(old="o")),
        lambda: statement(referencing=pgtrigger.Referencing(new="o")),
    ),
    ("deferrable", after, lambda: after(timing=pgtrigger.Deferred)),
    (
        "deferral",
        lambda: after(timing=pgtrigger.Immediate),
        lambda: after(timing=pgtrigger.Deferred),
    ),
    (
        "condition in a nested combination",
        lambda: base(condition=Q(new__value=1) | (Q(new__value=2) & Q(new__label="a"))),
        lambda: base(condition=Q(new__value=1) | (Q(new__value=2) & Q(new__label="b"))),
    ),
    (
        "condition list literal",
        lambda: base(condition=Q(new__value__in=[1, 2])),
        lambda: base(condition=Q(new__value__in=[1, 3])),
    ),
    (
        "func template field attribute",
        lambda: base(func=pgtrigger.Func("{fields.value.column}")),
        lambda: base(func=pgtrigger.Func("{fields.value.name}")),
    ),
    (
        "func template field",
        lambda: base(func=pgtrigger.Func("{fields.value.attname}")),
        lambda: base(func=pgtrigger.Func("{fields.label.attname}")),
    ),
    (
        "func template table name",
        lambda: base(func=pgtrigger.Func("{meta.db_table}")),
        lambda: base(func=pgtrigger.Func("{meta.label}")),
    ),
    (
        "func template primary key",
        lambda: base(func=pgtrigger.Func("{meta.pk.column}")),
        lambda: base(func=pgtrigger.Func("{meta.pk.name}")),
    ),
    (
        "func per level",
        lambda: composer({pgtrigger.Row: "RETURN NEW;", pgtrigger.Statement: "RETURN NULL;"}),
        lambda: composer({pgtrigger.Row: "RETURN OLD;", pgtrigger.Statement: "RETURN NULL;"}),
    ),
    (
        "func per level: the level",
        lambda: composer({pgtrigger.Row: "RETURN NEW;"}),
        lambda: composer({pgtrigger.Statement: "RETURN NEW;"}),
    ),
    (
        "class",
        lambda: pgtrigger.Trigger(
            name="p", when=pgtrigger.Before, operation=pgtrigger.Delete, func="RETURN OLD;"
        ),
        lambda: pgtrigger.Protect(name="p", operation=pgtrigger.Delete),
    ),
]


def _meta(table: str, apps: Apps) -> type:
    return type("Meta", (), {"app_label": "testapp", "db_table": table, "apps": apps})


def _row_fields() -> dict[str, Any]:
    return {
        "__module__": __name__,
        "value": models.IntegerField(default=0),
        "label": models.CharField(max_length=32, default=""),
    }


def _related(target_pk: models.Field[Any, Any]) -> Any:
    """A model with a foreign key to a model whose primary key is ``target_pk``."""
    apps = Apps()
    target_attrs = {"__module__": __name__, "Meta": _meta("digest_target", apps), "id": target_pk}
    target = type("Target", (models.Model,), target_attrs)
    fk = models.ForeignKey(target, on_delete=models.CASCADE)
    attrs = _row_fields() | {"Meta": _meta("digest_row", apps), "target": fk}
    return type("Row", (models.Model,), attrs)


def _composite(target_field: models.Field[Any, Any]) -> Any:
    """A model with a two-column ForeignObject to a model holding ``target_field``."""
    apps = Apps()
    target_attrs = {"__module__": __name__, "Meta": _meta("digest_target", apps)}
    target_attrs |= {"x": target_field, "y": models.IntegerField()}
    target = type("Target", (models.Model,), target_attrs)
    relation = models.ForeignObject(
        target, on_delete=models.CASCADE, from_fields=["value", "a"], to_fields=["x", "y"]
    )
    attrs = _row_fields() | {"Meta": _meta("digest_row", apps), "a": models.IntegerField()}
    return type("Row", (models.Model,), attrs | {"target": relation})


def _child(parent_field: models.Field[Any, Any]) -> Any:
    """A multi-table child of a model holding ``parent_field``."""
    apps = Apps()
    parent_attrs = {"__module__": __name__, "Meta": _meta("digest_parent", apps)}
    parent = type("Parent", (models.Model,), parent_attrs | {"extra": parent_field})
    return type("Row", (parent,), _row_fields() | {"Meta": _meta("digest_row", apps)})


#: (what changes, a model, the same model with that one part changed).
MODEL_CHANGES: list[tuple[str, Any, Any]] = [
    ("db_table", BASE_MODEL, _model(table="digest_other")),
    ("model name (label)", BASE_MODEL, _model(name="Other")),
    (
        "db_column of a field",
        BASE_MODEL,
        _model(
            value=models.IntegerField(default=0, db_column="val"),
            label=models.CharField(max_length=32, default=""),
        ),
    ),
    (
        "field type",
        BASE_MODEL,
        _model(
            value=models.BigIntegerField(default=0),
            label=models.CharField(max_length=32, default=""),
        ),
    ),
    (
        "null",
        BASE_MODEL,
        _model(
            value=models.IntegerField(default=0, null=True),
            label=models.CharField(max_length=32, default=""),
        ),
    ),
    (
        "another field",
        BASE_MODEL,
        _model(
            value=models.IntegerField(default=0),
            label=models.CharField(max_length=32, default=""),
            extra=models.IntegerField(default=0),
        ),
    ),
    (
        "target of a relation: its column",
        _related(models.AutoField(primary_key=True)),
        _related(models.AutoField(primary_key=True, db_column="tid")),
    ),
    (
        "target of a relation: its class",
        _related(models.AutoField(primary_key=True)),
        _related(models.BigAutoField(primary_key=True)),
    ),
    (
        "targets of a multi-column relation",
        _composite(models.IntegerField()),
        _composite(models.BigIntegerField()),
    ),
    (
        "a field of a multi-table parent",
        _child(models.IntegerField(default=0)),
        _child(models.BigIntegerField(default=0)),
    ),
]


def test_base_digest_is_stable() -> None:
    first = _digest(BASE_MODEL, base())
    assert first is not None
    assert first == _digest(BASE_MODEL, base())  # equal declarations, distinct objects
    assert first != _digest(BASE_MODEL, base(), major=17)  # another server major version


@pytest.mark.parametrize(
    ("what", "before", "changed"), TRIGGER_CHANGES, ids=[c[0] for c in TRIGGER_CHANGES]
)
def test_each_declaration_part_changes_the_digest(
    what: str, before: Callable[[], pgtrigger.Trigger], changed: Callable[[], pgtrigger.Trigger]
) -> None:
    first, second = _digest(BASE_MODEL, before()), _digest(BASE_MODEL, changed())
    assert first is not None, what
    assert second is not None, what
    assert first == _digest(BASE_MODEL, before()), what  # equal declarations, equal digests
    assert first != second, what


@pytest.mark.parametrize(
    ("what", "before", "changed"), MODEL_CHANGES, ids=[c[0] for c in MODEL_CHANGES]
)
def test_each_model_part_changes_the_digest(what: str, before: Any, changed: Any) -> None:
    first, second = _digest(before, base()), _digest(changed, base())
    assert first is not None, what
    assert second is not None, what
    assert first == _digest(before, base()), what
    assert first != second, what


def test_protect_and_readonly_arguments_change_the_digest() -> None:
    def protect(**kwargs: Any) -> pgtrigger.Trigger:
        return pgtrigger.Protect(name="p", operation=pgtrigger.Delete, **kwargs)

    def read_only(**kwargs: Any) -> pgtrigger.Trigger:
        return pgtrigger.ReadOnly(name="r", **kwargs)

    digests = [
        _digest(BASE_MODEL, t)
        for t in (
            protect(),
            protect(message="no"),
            protect(sqlstate="TG200"),
            read_only(fields=["value"]),
            read_only(fields=["label"]),
            read_only(exclude=["label"]),
            pgtrigger.SoftDelete(name="s", field="value", value=0),
            pgtrigger.SoftDelete(name="s", field="value", value=1),
        )
    ]
    assert None not in digests
    assert len(set(digests)) == len(digests)


class _Mine(pgtrigger.Trigger):
    def get_func(self, model: type[models.Model]) -> str:
        return "RETURN NEW;"


class _MyField(models.IntegerField):  # type: ignore[type-arg]
    pass


class _MyCondition(pgtrigger.Condition):
    pass


#: A model whose ``value`` has a field class of the project's own (its conversion is not known).
OWN_MODEL = _model(value=_MyField(default=0), label=models.CharField(max_length=32, default=""))


UNTRUSTED: list[tuple[str, Callable[[], pgtrigger.Trigger], Any]] = [
    (
        "a subclass",
        lambda: _Mine(name="m", when=pgtrigger.Before, operation=pgtrigger.Update),
        None,
    ),
    (
        "a date literal",
        lambda: base(condition=pgtrigger.Q(new__value=datetime.date(2020, 1, 1))),
        None,
    ),
    ("an expression", lambda: base(condition=pgtrigger.Q(new__value=models.Value(1))), None),
    ("a transform", lambda: base(condition=pgtrigger.Q(new__label__lower__exact="x")), None),
    ("a custom condition", lambda: base(condition=_MyCondition("NEW.value > 0")), None),
    ("a template attribute", lambda: base(func=pgtrigger.Func("{meta.verbose_name}")), None),
    ("a template format spec", lambda: base(func=pgtrigger.Func("{columns.value:>9}")), None),
    ("a template conversion", lambda: base(func=pgtrigger.Func("{columns.value!r}")), None),
    ("a template index", lambda: base(func=pgtrigger.Func("{columns.value[0]}")), None),
    (
        "a template field attribute other than a name",
        lambda: base(func=pgtrigger.Func("{fields.value.verbose_name}")),
        None,
    ),
    (
        "a template attribute after an escaped brace",
        lambda: base(func=pgtrigger.Func("{{ {meta.verbose_name}")),
        None,
    ),
    (
        "a template attribute after a column",
        lambda: base(func=pgtrigger.Func("{columns.value} {meta.verbose_name}")),
        None,
    ),
    (
        "a template attribute after a field name",
        lambda: base(func=pgtrigger.Func("{fields.value.column} {meta.verbose_name}")),
        None,
    ),
    (
        "a template attribute after the table name",
        lambda: base(func=pgtrigger.Func("{meta.db_table} {meta.verbose_name}")),
        None,
    ),
    ("an unknown lookup", lambda: base(condition=pgtrigger.Q(new__label__unaccent="x")), None),
    (
        "a literal for a field of the project's own class",
        lambda: base(condition=pgtrigger.Q(new__value=1)),
        OWN_MODEL,
    ),
    (
        "a literal in a list, for a field of the project's own class",
        lambda: base(condition=pgtrigger.Q(new__value__in=[1])),
        OWN_MODEL,
    ),
    (
        "a soft-delete value for a field of the project's own class",
        lambda: pgtrigger.SoftDelete(name="s", field="value", value=1),
        OWN_MODEL,
    ),
    (
        "FSM states for a field of the project's own class",
        lambda: pgtrigger.FSM(name="f", field="value", transitions=[(1, 2)]),
        OWN_MODEL,
    ),
]


@pytest.mark.parametrize(("what", "make", "model"), UNTRUSTED, ids=[c[0] for c in UNTRUSTED])
def test_what_the_digest_cannot_cover_has_none(
    what: str, make: Callable[[], pgtrigger.Trigger], model: Any
) -> None:
    assert _digest(model or BASE_MODEL, make()) is None, what


def test_own_field_class_without_literal_keeps_a_digest() -> None:
    model = _model(value=_MyField(default=0))
    assert _digest(model, base()) is not None  # F() only: the field converts no value


def test_trusted_classes_run_their_own_function() -> None:
    # deferred_trigger assumes has_body: no trusted class may override render_execute.
    for kind in digest.TRUSTED_TRIGGERS:
        assert kind.render_execute is pgtrigger.Trigger.render_execute, kind


def test_render_source_covers_the_compiler() -> None:
    assert len(digest.render_source()) == 32
    files = {path.name for _, path in digest.rendering_sources() if path is not None}
    # The compiler, and every module of the declaration layer (raise_sql is in raising.py).
    assert {"compiler.py", "digest.py", "sql.py", "naming.py"} <= files
    assert {"raising.py", "contrib.py", "conditions.py", "clauses.py", "triggers.py"} <= files


def test_render_source_reads_the_package_files_only() -> None:
    # Every file hashed is pgtrigger_live's own, wherever the process was started from.
    package = Path(pgtrigger_live.__file__).parent
    paths = [path for _, path in digest.rendering_sources()]
    assert paths
    assert all(path is not None and package in path.parents for path in paths)


def test_a_module_without_a_source_file_still_gives_a_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A frozen or zipped install has no file to read: the module counts, unread.
    monkeypatch.setattr(digest, "_RENDERING_MODULES", (*digest._RENDERING_MODULES, "sys"))
    assert ("sys", None) in digest.rendering_sources()
    assert len(digest.render_source.__wrapped__()) == 32


def test_the_digest_is_24_hex_digits() -> None:
    # The comment format (docs/reconcile.md): ``d`` and 24 hex digits.
    value = _digest(BASE_MODEL, base())
    assert value is not None
    assert re.fullmatch("[0-9a-f]{24}", value)


def test_the_server_major_version_is_read_from_the_connection() -> None:
    def through(connection: object) -> str | None:
        return Digester.for_connection(connection).digest(BASE_MODEL, base())  # type: ignore[arg-type]

    assert through(SimpleNamespace(vendor="postgresql", pg_version=160004)) == _digest(
        BASE_MODEL, base(), major=16
    )
    assert through(SimpleNamespace(vendor="postgresql", pg_version=170002)) == _digest(
        BASE_MODEL, base(), major=17
    )
    # A connection that reports no version digests as major version 0.
    assert through(SimpleNamespace(vendor="other")) == Digester("other", 0).digest(
        BASE_MODEL, base()
    )


def test_dict_order_does_not_change_the_digest() -> None:
    row_first = composer({pgtrigger.Row: "RETURN NEW;", pgtrigger.Statement: "RETURN NULL;"})
    statement_first = composer({pgtrigger.Statement: "RETURN NULL;", pgtrigger.Row: "RETURN NEW;"})
    first = _digest(BASE_MODEL, row_first)
    assert first is not None
    assert first == _digest(BASE_MODEL, statement_first)


#: Objects several declarations share, as a project's module constants are.
SHARED_DECLARE = ("n", "int")
SHARED_CONDITION = Q(new__label=F("old__label")) | Q(new__value=F("old__value"))
SHARING: list[Callable[[], pgtrigger.Trigger]] = [
    lambda: base(declare=[SHARED_DECLARE]),
    lambda: base(declare=[SHARED_DECLARE, ("m", "int")]),
    lambda: base(condition=SHARED_CONDITION),
    lambda: base(condition=Q(new__value=1) & SHARED_CONDITION),
    lambda: base(condition=~SHARED_CONDITION),
]
#: Every trusted declaration of the tables above.
DECLARATIONS = [make for _, *pair in TRIGGER_CHANGES for make in pair] + SHARING


def test_a_digest_does_not_depend_on_what_was_digested_before() -> None:
    # One Digester serves a whole reconcile and writes each shared object once: a declaration
    # gets the digest a fresh Digester gives it, whatever came before.
    fresh = [_digest(BASE_MODEL, make()) for make in DECLARATIONS]
    assert None not in fresh
    digester = Digester("postgresql", 16)
    assert [digester.digest(BASE_MODEL, make()) for make in DECLARATIONS] == fresh
    assert [digester.digest(BASE_MODEL, make()) for make in reversed(DECLARATIONS)] == fresh[::-1]


def test_a_literal_is_seen_next_to_shared_objects() -> None:
    # A shared object digested without literals must not hide a literal next to it.
    digester = Digester("postgresql", 16)
    assert digester.digest(OWN_MODEL, base(condition=SHARED_CONDITION)) is not None  # F only
    assert digester.digest(OWN_MODEL, base(condition=Q(new__value=1) & SHARED_CONDITION)) is None
    soft_delete = pgtrigger.SoftDelete(name="s", field="value", value=1)
    assert digester.digest(OWN_MODEL, soft_delete) is None  # its clauses were seen before


def test_what_declarations_share_is_read_once_per_reconcile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The digest exists to make a reconcile cheap: a Func or a model that many declarations
    # share is checked and read once by the Digester serving the reconcile.
    templates: list[str] = []
    models_read: list[Any] = []
    check_template, read_fields = digest._template, digest._fields

    def counted_template(text: str) -> str:
        templates.append(text)
        return check_template(text)

    def counted_fields(model: Any) -> Any:
        models_read.append(model)
        return read_fields(model)

    monkeypatch.setattr(digest, "_template", counted_template)
    monkeypatch.setattr(digest, "_fields", counted_fields)
    shared = pgtrigger.Func("{columns.value}")
    digester = Digester("postgresql", 16)
    for trigger in (base(func=shared), base(func=shared), composer({pgtrigger.Row: shared})):
        assert digester.digest(BASE_MODEL, trigger) is not None
    assert templates == ["{columns.value}"]
    assert models_read == [BASE_MODEL]


def test_a_new_process_gives_the_same_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    # The next deploy runs in another process, which starts with nothing kept (class paths,
    # slots): what one process computes and keeps must not change a digest.
    cases = [(BASE_MODEL, make) for make in DECLARATIONS]
    cases += [(model, base) for _, *pair in MODEL_CHANGES for model in pair]
    warm = [_digest(model, make()) for model, make in cases]
    assert None not in warm
    monkeypatch.setattr(digest, "_SLOTS", {})
    monkeypatch.setattr(digest, "_PATHS", {})
    assert [_digest(model, make()) for model, make in cases] == warm


# -- the comment -------------------------------------------------------------------------------

COMMENTS = [
    ("pgtrigger_live:1:c:b", Signature("c", "b")),
    ("pgtrigger_live:1:c:b:16.-42", Signature("c", "b", definition="16.-42")),
    ("pgtrigger_live:1:c:b:dabc", Signature("c", "b", digest="abc")),
    ("pgtrigger_live:1:c:b:dabc:16.42", Signature("c", "b", definition="16.42", digest="abc")),
    ("pgtrigger_live:2:c:b:dabc:16.42", Signature("c", "b", 2, "16.42", "abc")),
    ("pgtrigger_live:1:c:b:16.42:dabc", None),  # the digest is written before the fingerprint
    ("pgtrigger_live:1:c:b:dabc:dabd", None),
    ("pgtrigger_live:1:c:b:16.1:16.2", None),
    ("pgtrigger_live:1:c:b:dabc:16.42:x", None),
    ("pgtrigger_live:x:c:b:dabc", None),
]


@pytest.mark.parametrize(("comment", "parsed"), COMMENTS)
def test_comment_parse(comment: str, parsed: Signature | None) -> None:
    assert Signature.parse(comment) == parsed


def test_comment_render_round_trips() -> None:
    signature = Signature("c", "b", digest="abc")
    assert signature.render() == "pgtrigger_live:1:c:b:dabc"
    assert Signature.parse(signature.render() + ":16.1") == Signature("c", "b", 1, "16.1", "abc")
    assert Signature("c", "b").render() == "pgtrigger_live:1:c:b"


def test_deferred_render_checks_the_vouched_signature() -> None:
    trigger = base()
    compiled = compile_trigger(BASE_MODEL, trigger, connection)
    good = deferred_trigger(BASE_MODEL, trigger, connection, compiled.signature)
    states = [good.is_rendered]
    assert good.signature == compiled.signature  # the comment it vouches for, kept as is
    assert good.has_body is True  # trusted classes run their own function
    assert good.body == compiled.body
    assert good.condition == compiled.condition
    states.append(good.is_rendered)
    assert states == [False, True]  # rendered on first use, then kept
    wrong = Signature("0" * 40, compiled.signature.body_md5)
    message = (
        f"{compiled.uri}: a comment of trigger {compiled.pgid} records this declaration's "
        "digest with hashes its SQL does not give. Either that comment was edited by hand (run "
        f'COMMENT ON TRIGGER "{compiled.pgid}" ON <its table> IS NULL where it was: the next '
        "install replaces the trigger in place), or the digest misses something the SQL "
        "depends on (a bug; please report it). Nothing was changed."
    )
    with pytest.raises(InstallError) as raised:
        _ = deferred_trigger(BASE_MODEL, trigger, connection, wrong).body
    assert str(raised.value) == message


# -- the database ------------------------------------------------------------------------------

#: Each declared on Plain in place of plain_base(); each must be found OUTDATED.
DB_CHANGES: list[tuple[str, Callable[[], pgtrigger.Trigger]]] = [
    ("condition", lambda: plain_base(condition=pgtrigger.Q(new__value=2))),
    ("condition removed", lambda: plain_base(condition=None)),
    ("func", lambda: plain_base(func="NEW.label := 'changed'; RETURN NEW;")),
    ("declare", lambda: plain_base(declare=[("n", "int")])),
    ("when", lambda: plain_base(when=pgtrigger.After, func="RETURN NULL;")),
    ("operation", lambda: plain_base(operation=pgtrigger.Update)),
    ("update of", lambda: plain_base(operation=pgtrigger.UpdateOf("value"))),
    ("update of fields", lambda: plain_base(operation=pgtrigger.UpdateOf("label"))),
    (
        "level",
        lambda: plain_base(level=pgtrigger.Statement, condition=None, func="RETURN NULL;"),
    ),
    (
        "referencing",
        lambda: plain_base(
            level=pgtrigger.Statement,
            when=pgtrigger.After,
            condition=None,
            func="RETURN NULL;",
            referencing=pgtrigger.Referencing(new="new_rows"),
        ),
    ),
    (
        "timing (deferrable)",
        lambda: plain_base(when=pgtrigger.After, timing=pgtrigger.Deferred, func="RETURN NULL;"),
    ),
]


def plain_base(**changes: Any) -> pgtrigger.Trigger:
    kwargs: dict[str, Any] = {
        "name": "digested",
        "when": pgtrigger.Before,
        "operation": pgtrigger.Insert,
        "condition": pgtrigger.Q(new__value=1),
        "func": "NEW.label := 'base'; RETURN NEW;",
    }
    return pgtrigger.Trigger(**(kwargs | changes))


@pytest.mark.django_db
@pytest.mark.parametrize(("what", "make"), DB_CHANGES, ids=[c[0] for c in DB_CHANGES])
def test_a_changed_declaration_is_never_missed(
    extra_trigger: AddTrigger, what: str, make: Callable[[], pgtrigger.Trigger]
) -> None:
    first = plain_base()
    uri = extra_trigger(Plain, first)
    pgtrigger.install(uri)
    (entry,) = pgtrigger.status(uri)
    assert entry.status is Status.INSTALLED
    assert entry.compiled is not None
    assert not entry.compiled.is_rendered

    registry.remove(Plain, first)
    extra_trigger(Plain, make())  # the same URI, declared differently
    (entry,) = pgtrigger.status(uri)
    assert entry.status is Status.OUTDATED, what
    plan = pgtrigger.install(uri)
    assert [a.kind for a in plan.actions] == [ActionKind.REPLACE], what
    (entry,) = pgtrigger.status(uri)
    assert entry.status is Status.INSTALLED, what
    assert entry.compiled is not None
    assert not entry.compiled.is_rendered
    assert pgtrigger.install(uri).actions == ()


@pytest.mark.django_db
def test_unchanged_triggers_are_not_rendered() -> None:
    entries = pgtrigger.status()
    installed = [e for e in entries if e.status is Status.INSTALLED and e.compiled is not None]
    assert installed
    deferred = [e for e in installed if not e.compiled.is_rendered]  # type: ignore[union-attr]
    trusted = [e for e in installed if e.installed and e.installed.signature.digest]  # type: ignore[union-attr]
    assert len(deferred) == len(trusted) > len(installed) // 2


@pytest.mark.django_db
def test_comments_from_before_digests_are_re_signed_with_a_comment_only(
    extra_trigger: AddTrigger,
) -> None:
    uri = extra_trigger(Plain, plain_base())
    pgtrigger.install(uri)
    pgid = plain_base().get_pgid(Plain)
    before = catalog_state()[pgid]
    signed = Signature.parse(before["comment"])
    assert signed is not None
    assert signed.digest is not None
    assert signed.definition is not None
    old = f"pgtrigger_live:1:{signed.clause_hash}:{signed.body_md5}:{signed.definition}"
    with connection.cursor() as cursor:  # the comment the previous release wrote
        cursor.execute(f'COMMENT ON TRIGGER "{pgid}" ON testapp_plain IS %s', [old])

    (entry,) = pgtrigger.status(uri)
    assert entry.status is Status.INSTALLED  # an upgrade changes no status
    assert entry.compiled is not None
    assert entry.compiled.is_rendered
    plan = pgtrigger.install(uri)
    assert [a.kind for a in plan.actions] == [ActionKind.SIGN]
    assert all(s.startswith("DO ") and "COMMENT ON TRIGGER" in s for s in plan.statements)
    after = catalog_state()[pgid]
    assert after["comment"] == before["comment"]  # the same digest and fingerprint again
    assert after["trigger"][0] == before["trigger"][0]  # the same OID: not re-created
    assert pgtrigger.install(uri).actions == ()


def test_a_shared_condition_keeps_its_literals_across_declarations() -> None:
    # Texts are kept per object for one Digester: the literal seen the first time must still
    # make the second declaration (on a model with a field of its own class) untrusted.
    digester = Digester("postgresql", 16)
    shared = pgtrigger.Q(new__value=1)
    assert digester.digest(BASE_MODEL, base(condition=shared)) is not None
    own = _model(value=_MyField(default=0))
    assert digester.digest(own, base(condition=shared)) is None


_DIGESTS = """
import json
import django
django.setup()
from pgtrigger_live.declare import registry
from pgtrigger_live.reconcile.digest import Digester
digester = Digester("postgresql", 16)
print(json.dumps({uri: digester.digest(model, trigger) for uri, model, trigger in registry.select()}))
"""


@pytest.mark.django_db
def test_digests_are_the_same_in_another_process() -> None:
    # Another process (its own object addresses and hash seed) must find the same digests, or
    # every deploy would compile everything and sign every comment again.
    here = {
        uri: Digester("postgresql", 16).digest(model, trigger)
        for uri, model, trigger in registry.select()
    }
    env = subprocess_env() | {"PYTHONHASHSEED": "random"}
    done = subprocess.run(
        [sys.executable, "-c", _DIGESTS], env=env, capture_output=True, text=True, check=True
    )
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(1 for d in here.values() if d is not None) > len(here) // 2
    assert there == here


_PSYCOPG2 = """
import sys
sys.modules["psycopg"] = None  # Django falls back to psycopg2
import django
django.setup()
from django.db import connection
from psycopg2 import extensions
import pgtrigger_live as pgtrigger
from pgtrigger_live.reconcile import digest
assert connection.Database.__name__ == "psycopg2", connection.Database
inside = []
keys = []
real = digest.Digester.digest
alive = []  # each reconcile's Digester, kept so that no id is reused by the next one
def recording(self, model, trigger):
    alive.append(self)
    keys.append((id(self), id(model), id(trigger)))
    callback = extensions.get_wait_callback()  # ours only while the query is in flight
    inside.append(callback is not None and callback is not globals().get("theirs"))
    return real(self, model, trigger)
digest.Digester.digest = recording
pgtrigger.install()
entries = pgtrigger.status()
print(len(inside), sum(inside), sum(1 for e in entries if e.compiled and not e.compiled.is_rendered))
print(len(keys) == len(set(keys)))  # each declaration digested once per reconcile
print(pgtrigger.install().actions == (), extensions.get_wait_callback() is None)
# Someone else's wait callback (gevent, eventlet): kept and used; no overlap then.
used = []
def theirs(conn):
    used.append(1)
    while conn.poll() != extensions.POLL_OK:
        pass
extensions.set_wait_callback(theirs)
inside.clear()
print(pgtrigger.install().actions == (), extensions.get_wait_callback() is theirs, bool(used), sum(inside))
# Another Python thread: the process-wide callback is not touched; digests first.
import threading
extensions.set_wait_callback(None)
stop = threading.Event()
other = threading.Thread(target=stop.wait)
other.start()
inside.clear()
print(pgtrigger.install().actions == (), extensions.get_wait_callback() is None, sum(inside), len(inside) > 0)
stop.set()
other.join()
"""


@pytest.mark.django_db(transaction=True)
def test_psycopg2_computes_digests_while_the_query_is_in_flight() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PSYCOPG2],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts, once, no_op, foreign, threaded = done.stdout.strip().splitlines()[-5:]
    assert once == "True"  # the wait callback does the work once, however often it waits
    digests, in_flight, deferred = map(int, counts.split())
    # install and status: every digest was computed from psycopg2's wait callback, that is
    # once the catalog query was sent and before its answer was read (catalog.read_while)
    assert digests > 0
    assert in_flight == digests
    assert deferred > 0  # and what they found spared compiling
    assert no_op == "True True"  # nothing to do; the wait callback is put back (none)
    # another library's callback stays in place and waits for the query; digests first
    assert foreign == "True True True 0"
    # with another Python thread running, the process-wide callback is left alone
    assert threaded == "True True 0 True"


@pytest.mark.django_db
def test_psycopg_3_computes_digests_inside_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.Database.__name__ != "psycopg":  # type: ignore[attr-defined]
        pytest.skip("the suite runs on psycopg2 (PGTRIGGER_LIVE_TEST_DRIVER)")
    from psycopg import pq

    states: list[object] = []
    real = Digester.digest

    def recording(self: Digester, model: Any, trigger: Any) -> str | None:
        states.append(connection.connection.info.pipeline_status)  # type: ignore[union-attr]
        return real(self, model, trigger)

    monkeypatch.setattr(Digester, "digest", recording)
    pgtrigger.status()
    assert states
    assert set(states) == {pq.PipelineStatus.ON}  # sent, not yet answered


# -- what a Func template may read: names only ---------------------------------------------------

TRUSTED_TEMPLATES = [
    "RETURN NEW;",
    "{columns.value}",
    "{cond_old_values}",
    "{cond_new_values}",
    "{cond_joined_values}",
    "{fields.value.column}",
    "{fields.value.name}",
    "{fields.value.attname}",
    "{meta.db_table}",
    "{meta.label}",
    "{meta.label_lower}",
    "{meta.app_label}",
    "{meta.model_name}",
    "{meta.pk.column}",
    "{meta.pk.name}",
    "{columns.value} {meta.db_table} {fields.label.column}",
]
UNTRUSTED_TEMPLATES = [
    "{meta.verbose_name}",  # a translatable object's text
    "{columns.value:>9}",  # a format spec
    "{columns.value!r}",  # a conversion
    "{columns[value]}",  # indexing
    "{columns}",  # the mapping itself
    "{columns.value.x}",
    "{fields.value}",  # a Field object's str()
    "{fields.value.db_type}",
    "{fields.value.column.x}",
    "{meta}",
    "{meta.pk}",
    "{meta.pk.column.x}",
    "{meta.pk.verbose_name}",
    "{cond_old_values.x}",
    "{unknown}",
    "{0}",
    "{columns.value} {meta.verbose_name}",  # every field is checked, not only the first
    "{meta.db_table} {fields.value}",
    "{fields.value.column} {meta.verbose_name}",
    "{meta.pk.column} {unknown}",
    "{cond_old_values} {meta}",
    "{",  # malformed: only compiling can report it
]


@pytest.mark.parametrize("template", TRUSTED_TEMPLATES)
def test_templates_reading_names_only_have_a_digest(template: str) -> None:
    assert _digest(BASE_MODEL, base(func=pgtrigger.Func(template))) is not None


@pytest.mark.parametrize("template", UNTRUSTED_TEMPLATES)
def test_templates_reading_anything_else_have_none(template: str) -> None:
    assert _digest(BASE_MODEL, base(func=pgtrigger.Func(template))) is None


def test_each_template_has_its_own_digest() -> None:
    digests = {_digest(BASE_MODEL, base(func=pgtrigger.Func(t))) for t in TRUSTED_TEMPLATES}
    assert len(digests) == len(TRUSTED_TEMPLATES)
    # A Func and the same text as a plain string are different declarations.
    assert _digest(BASE_MODEL, base(func="RETURN NEW;")) != _digest(
        BASE_MODEL, base(func=pgtrigger.Func("RETURN NEW;"))
    )


# -- canonical texts: equal when the SQL is, different otherwise ---------------------------------

SAME_VALUES = [
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ([1, "x", None], [1, "x", None]),
    ((1, (2, 3)), (1, (2, 3))),
    (pgtrigger.Q(new__value=1), pgtrigger.Q(new__value=1)),
    (pgtrigger.F("new__value"), pgtrigger.F("new__value")),
    (pgtrigger.Before, pgtrigger.Before),
]
DIFFERENT_VALUES = [
    (1, "1"),
    (1, 1.0),
    (1, True),
    (None, "None"),
    ("", None),
    ([1, 2], (1, 2)),
    ([1, 2], [2, 1]),
    ([1], [[1]]),
    ({"a": 1}, {"a": 2}),
    ({"a": 1}, {"b": 1}),
    ({"a": 1}, [("a", 1)]),
    (pgtrigger.Q(new__value=1), pgtrigger.Q(new__value=2)),
    (pgtrigger.Q(new__value=1), ~pgtrigger.Q(new__value=1)),
    (
        pgtrigger.Q(new__value=1) & pgtrigger.Q(new__label="x"),
        pgtrigger.Q(new__value=1) | pgtrigger.Q(new__label="x"),
    ),
    (pgtrigger.Q(new__value=1), pgtrigger.Q(new__value__gt=1)),
    (pgtrigger.F("new__value"), pgtrigger.F("old__value")),
    (pgtrigger.Before, pgtrigger.After),
    (pgtrigger.Update, pgtrigger.Insert),
    (pgtrigger.Update, pgtrigger.Update | pgtrigger.Insert),
    (pgtrigger.UpdateOf("value"), pgtrigger.UpdateOf("label")),
    (pgtrigger.Func("x"), "x"),
    (pgtrigger.Condition("NEW.value > 0"), pgtrigger.Condition("NEW.value > 1")),
    (pgtrigger.Condition("NEW.value > 0"), "NEW.value > 0"),
    (pgtrigger.AnyChange("value"), pgtrigger.AllChange("value")),
    (pgtrigger.AnyChange("value"), pgtrigger.AnyChange("label")),
    (pgtrigger.AnyChange("value"), pgtrigger.AnyChange("value", exclude_auto=True)),
]


@pytest.mark.parametrize(("a", "b"), SAME_VALUES)
def test_equal_values_have_one_text(a: Any, b: Any) -> None:
    assert digest._Canon().value(a) == digest._Canon().value(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_VALUES)
def test_different_values_have_different_texts(a: Any, b: Any) -> None:
    canon = digest._Canon()
    first, second = canon.value(a), canon.value(b)
    assert first != second
    # Asked again (the texts are kept by identity for the digester's life): the same answers.
    assert (canon.value(a), canon.value(b)) == (first, second)


@pytest.mark.parametrize(
    "value", [object(), datetime.date(2020, 1, 1), models.Value(1), {1, 2}, b"x", _MyCondition("x")]
)
def test_values_the_digest_cannot_spell_are_untrusted(value: Any) -> None:
    with pytest.raises(digest._Untrusted):
        digest._Canon().value(value)


def test_literals_are_noticed_through_shared_objects() -> None:
    """A literal inside an object seen before still counts (the memo keeps the flag)."""
    canon = digest._Canon()
    condition = pgtrigger.Q(new__value=1)
    assert canon.state(base(condition=condition))
    assert canon.literals is True
    canon.literals = False
    canon.state(base(condition=condition))  # the same Q again, from the memo
    assert canon.literals is True
    canon.literals = False
    canon.state(base(condition=pgtrigger.Q(old__value__df=pgtrigger.F("new__value"))))
    assert canon.literals is False  # F() only: no literal


# -- slots: every slot of the class and its bases, once -------------------------------------------


class _SlotsA:
    __slots__ = ("x", "y")


class _SlotsB(_SlotsA):
    __slots__ = "zed"  # one slot named by a string, not a sequence of letters


class _SlotsC(_SlotsA):
    __slots__ = ("__dict__", "__weakref__", "w", "x")


@pytest.mark.parametrize(
    ("kind", "slots"),
    [(_SlotsA, ("x", "y")), (_SlotsB, ("x", "y", "zed")), (_SlotsC, ("x", "y", "w")), (object, ())],
)
def test_slots_of_a_class_and_its_bases(kind: type, slots: tuple[str, ...]) -> None:
    assert digest._slots(kind) == slots
    assert digest._slots(kind) == slots  # from the cache


# -- more model parts ------------------------------------------------------------------------------


def _fk_models(to_field: str | None = None, target: str = "Target") -> Any:
    registry_ = Apps()

    def make(name: str, table: str, **fields: Any) -> Any:
        meta = type("Meta", (), {"app_label": "testapp", "db_table": table, "apps": registry_})
        return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})

    make("Target", "digest_target", code=models.IntegerField(unique=True))
    make("Other", "digest_other", code=models.IntegerField(unique=True))
    return make(
        "Row",
        "digest_row",
        value=models.IntegerField(default=0),
        label=models.CharField(max_length=32, default=""),
        ref=models.ForeignKey(target, models.CASCADE, to_field=to_field, null=True),
    )


MORE_MODEL_CHANGES = [
    (
        "max_length",
        _model(
            value=models.IntegerField(default=0), label=models.CharField(max_length=33, default="")
        ),
    ),
    (
        "primary key",
        _model(
            value=models.IntegerField(primary_key=True),
            label=models.CharField(max_length=32, default=""),
        ),
    ),
    (
        "auto_now",
        _model(
            value=models.IntegerField(default=0),
            label=models.CharField(max_length=32, default=""),
            at=models.DateTimeField(auto_now=True),
        ),
    ),
    (
        "decimal places",
        _model(
            value=models.DecimalField(max_digits=9, decimal_places=3, default=0),
            label=models.CharField(max_length=32, default=""),
        ),
    ),
]


@pytest.mark.parametrize(
    ("what", "model"), MORE_MODEL_CHANGES, ids=[c[0] for c in MORE_MODEL_CHANGES]
)
def test_field_options_rendering_reads_change_the_digest(what: str, model: Any) -> None:
    reference = {
        "max_length": _model(
            value=models.IntegerField(default=0), label=models.CharField(max_length=32, default="")
        ),
        "primary key": BASE_MODEL,
        "auto_now": _model(
            value=models.IntegerField(default=0),
            label=models.CharField(max_length=32, default=""),
            at=models.DateTimeField(auto_now=False),
        ),
        "decimal places": _model(
            value=models.DecimalField(max_digits=9, decimal_places=2, default=0),
            label=models.CharField(max_length=32, default=""),
        ),
    }[what]
    assert _digest(model, base()) != _digest(reference, base()), what


def test_a_relations_target_changes_the_digest() -> None:
    plain, by_code = _fk_models(), _fk_models(to_field="code")
    first, second = _digest(plain, base()), _digest(by_code, base())
    assert first is not None
    assert second is not None
    assert first != second  # the relation's target column is part of the field


# -- what is computed once per digester (a reconcile of many declarations reuses it) -----------


def test_shared_objects_are_spelled_once_per_digester() -> None:
    canon = digest._Canon()
    shared = [pgtrigger.Q(new__value=1), {"a": [1, 2]}, (1, "x"), pgtrigger.Before]
    for value in shared:
        first = canon.value(value)
        assert canon.value(value) is first  # the kept text, not a new one
    trigger = base()
    condition_text = canon.value(trigger.condition)
    assert condition_text in canon.state(trigger)
    assert canon.value(trigger.condition) is condition_text


def test_model_parts_and_class_paths_are_computed_once() -> None:
    digester = Digester("postgresql", 16)
    first = digester._model(BASE_MODEL)
    assert digester._model(BASE_MODEL) is first
    assert digest._class_path(models.IntegerField) is digest._class_path(models.IntegerField)
    assert digest._class_path(models.IntegerField) == "django.db.models.fields.IntegerField"
    assert digest._slots(_SlotsB) is digest._slots(_SlotsB)


def test_digests_have_a_fixed_length() -> None:
    value = _digest(BASE_MODEL, base())
    assert value is not None
    assert len(value) == 24  # 12 bytes, hex: what the comment format reserves
    assert len(Digester("postgresql", 16)._model(BASE_MODEL)[0]) == 16


def test_only_soft_delete_and_fsm_values_count_as_literals() -> None:
    """Their values are converted by the field: a field class of the project's own makes
    them untrusted; other built-ins with the same field keep their digest."""
    model = _model(value=_MyField(default=0), label=models.CharField(max_length=32, default=""))
    assert _digest(model, pgtrigger.SoftDelete(name="s", field="value", value=0)) is None
    assert _digest(model, pgtrigger.Protect(name="p", operation=pgtrigger.Delete)) is not None
    assert _digest(model, pgtrigger.ReadOnly(name="r", fields=["value"])) is not None


def test_literals_seen_earlier_by_the_same_digester_still_count() -> None:
    """One digester serves a whole reconcile: objects it spelled before (and their literal
    flag) are reused, and a flag already raised is never lowered by them."""
    own = _model(value=_MyField(default=0), label=models.CharField(max_length=32, default=""))
    digester = Digester("postgresql", 16)
    shared = pgtrigger.Q(new__value=1)
    assert digester.digest(BASE_MODEL, base(condition=shared)) is not None
    assert digester.digest(own, base(condition=shared)) is None  # the literal, from the memo
    assert digester.digest(BASE_MODEL, pgtrigger.SoftDelete(name="s", field="value")) is not None
    assert digester.digest(own, pgtrigger.SoftDelete(name="s", field="value")) is None


NESTED_CHANGES = [
    ("in-list value", Q(new__value__in=[1, 2]), Q(new__value__in=[1, 3])),
    (
        "nested Q",
        Q(Q(new__value=1) | Q(new__value=2), new__label="x"),
        Q(Q(new__value=1) | Q(new__value=3), new__label="x"),
    ),
    (
        "nested Q connector",
        Q(Q(new__value=1) | Q(new__value=2), new__label="x"),
        Q(Q(new__value=1) & Q(new__value=2), new__label="x"),
    ),
]


@pytest.mark.parametrize(("what", "a", "b"), NESTED_CHANGES, ids=[c[0] for c in NESTED_CHANGES])
def test_nested_conditions_and_list_values_change_the_digest(what: str, a: Any, b: Any) -> None:
    first, second = _digest(BASE_MODEL, base(condition=a)), _digest(BASE_MODEL, base(condition=b))
    assert first is not None, what
    assert second is not None, what
    assert first != second, what


def _pk_target_models(pk: models.Field[Any, Any]) -> Any:
    registry_ = Apps()

    def make(name: str, table: str, **fields: Any) -> Any:
        meta = type("Meta", (), {"app_label": "testapp", "db_table": table, "apps": registry_})
        return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})

    make("Target", "digest_target", id=pk)
    return make(
        "Row",
        "digest_row",
        value=models.IntegerField(default=0),
        ref=models.ForeignKey("Target", models.CASCADE, null=True),
    )


def _mti_models(parent_field: models.Field[Any, Any]) -> Any:
    registry_ = Apps()
    meta = type(
        "Meta", (), {"app_label": "testapp", "db_table": "digest_parent", "apps": registry_}
    )
    parent = type(
        "Parent", (models.Model,), {"__module__": __name__, "Meta": meta, "shared": parent_field}
    )
    meta = type("Meta", (), {"app_label": "testapp", "db_table": "digest_child", "apps": registry_})
    return type(
        "Child",
        (parent,),
        {
            "__module__": __name__,
            "Meta": meta,
            "value": models.IntegerField(default=0),
            "label": models.CharField(max_length=32, default=""),
        },
    )


def test_a_relations_target_field_class_changes_the_digest() -> None:
    auto = _digest(_pk_target_models(models.AutoField(primary_key=True)), base())
    big = _digest(_pk_target_models(models.BigAutoField(primary_key=True)), base())
    assert auto is not None
    assert big is not None
    assert auto != big


def test_a_parent_models_fields_change_the_digest() -> None:
    """Multi-table inheritance: the parent's fields are read too (conditions may only name
    the child's own columns, but the child's field list is what the digest covers)."""
    first = _digest(_mti_models(models.IntegerField(default=0)), base())
    second = _digest(_mti_models(models.BigIntegerField(default=0)), base())
    assert first is not None
    assert second is not None
    assert first != second


@pytest.mark.parametrize("change", [{"TIME_ZONE": "Europe/Paris"}, {"USE_TZ": False}])
def test_the_time_zone_settings_change_the_digest(change: dict[str, Any]) -> None:
    """A date literal is converted with USE_TZ/TIME_ZONE and its offset written into the
    WHEN clause: changing either must not leave the installed trigger taken as unchanged."""
    from django.test import override_settings

    trigger = base(condition=pgtrigger.Q(new__value=1))
    before = _digest(BASE_MODEL, trigger)
    with override_settings(**change):
        after = _digest(BASE_MODEL, trigger)
    assert before is not None
    assert after is not None
    assert before != after


# -- why a declaration has no digest: logged at DEBUG, for whoever finds a no-op slow ----------

WHY_NOT = [
    (
        lambda: _Mine(name="m", when=pgtrigger.Before, operation=pgtrigger.Update),
        None,
        "_Mine is not a built-in class",
    ),
    (
        lambda: base(condition=pgtrigger.Q(new__value=datetime.date(2020, 1, 1))),
        None,
        "a value of type date",
    ),
    (
        lambda: base(
            condition=pgtrigger.Q(("new__value", 1), _connector="AND")
            & pgtrigger.Q(**{"new__label__lower__exact": "x"})
        ),
        None,
        "the lookup 'new__label__lower__exact' (a transform, or a lookup Django does not define)",
    ),
    (
        lambda: base(condition=pgtrigger.Q(new__label__unaccent="x")),
        None,
        "the lookup 'new__label__unaccent' (a transform, or a lookup Django does not define)",
    ),
    (lambda: base(func=pgtrigger.Func("{")), None, "the Func template '{', which does not parse"),
    (
        lambda: base(func=pgtrigger.Func("{columns.value:>9}")),
        None,
        "the Func template's {columns.value} (a format spec or index)",
    ),
    (
        lambda: base(func=pgtrigger.Func("{columns.value[0]}")),
        None,
        "the Func template's {columns.value[0]} (a format spec or index)",
    ),
    (
        lambda: base(func=pgtrigger.Func("{meta.verbose_name}")),
        None,
        "the Func template's {meta.verbose_name} (not a column or table name)",
    ),
    (
        lambda: base(condition=pgtrigger.Q(new__value=1)),
        OWN_MODEL,
        "a value converted by a field class of the project",
    ),
]


@pytest.mark.parametrize(("make", "model", "reason"), WHY_NOT, ids=[w[2] for w in WHY_NOT])
def test_each_declaration_without_a_digest_says_why(
    make: Callable[[], pgtrigger.Trigger],
    model: Any,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    trigger = make()
    model = model or BASE_MODEL
    with caplog.at_level(logging.DEBUG, logger="pgtrigger_live"):
        assert _digest(model, trigger) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"pgtrigger_live: {trigger.get_uri(model)} has no declaration digest ({reason}): "
        "compiled at every reconcile"
    ]


def _nested(depth: int) -> pgtrigger.Q:
    q = pgtrigger.Q(new__value=1)
    for _ in range(depth):
        q = pgtrigger.Q(q, new__label="x")
    return q


def test_a_condition_nested_too_deep_has_none_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trigger = base(condition=_nested(sys.getrecursionlimit()))
    with caplog.at_level(logging.DEBUG, logger="pgtrigger_live"):
        assert _digest(BASE_MODEL, trigger) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"pgtrigger_live: {trigger.get_uri(BASE_MODEL)} has no declaration digest (a condition "
        "nested too deep): compiled at every reconcile"
    ]
    assert _digest(BASE_MODEL, base(condition=_nested(20))) is not None


def test_a_non_string_condition_key_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(digest._Untrusted, match=r"^the condition key 1, which is not a string$"):
        digest._check_lookup(1)  # type: ignore[arg-type]


def test_a_digested_declaration_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pgtrigger_live"):
        assert _digest(BASE_MODEL, base()) is not None
    assert caplog.records == []


# -- the canonical text itself: what is hashed ---------------------------------------------------
# Its spelling decides every digest: a change makes the first reconcile after an upgrade
# re-sign every trigger's comment, so it is pinned here (and HASH_VERSION-free by design).

CANONICAL = [
    ({"b": [1, (2, None)], "a": 1}, "dict{'a':1,'b':list[1,tuple[2,None]]}"),
    (
        pgtrigger.Q(new__value=1) | ~pgtrigger.Q(old__label__in=["x", "y"]),
        "Q(OR,False,['new__value'=1,Q(AND,True,['old__label__in'=list['x','y']])])",
    ),
    (pgtrigger.F("new__value"), "F('new__value')"),
    (pgtrigger.Func("{columns.value}"), "Func('{columns.value}')"),
    (pgtrigger.Before, "pgtrigger_live.declare.clauses.When(name='BEFORE')"),
    (
        pgtrigger.AnyChange("value", exclude_auto=True),
        "pgtrigger_live.declare.changes.AnyChange(fields=list['value'],exclude=list[],"
        "exclude_auto=True,sql='<AnyChange>')",
    ),
]


@pytest.mark.parametrize(("value", "text"), CANONICAL, ids=[c[1][:30] for c in CANONICAL])
def test_the_canonical_text_is_pinned(value: Any, text: str) -> None:
    assert digest._Canon().value(value) == text


def test_a_converted_literal_is_spelt_and_flagged() -> None:
    canon = digest._Canon()
    assert canon.literal([1, "x", None]) == "list[1,'x',None]"
    assert canon.literals is True
    canon.literals = False
    assert canon.literal((None,)) == "tuple[None]"
    assert canon.literals is False  # None converts to NULL whatever the field


def test_a_trigger_state_names_each_attribute() -> None:
    text = digest._Canon().state(
        pgtrigger.Trigger(
            name="t", when=pgtrigger.Before, operation=pgtrigger.Update, func="RETURN NEW;"
        )
    )
    assert text == (
        "pgtrigger_live.declare.triggers.Trigger(name='t',level=pgtrigger_live.declare.clauses."
        "Level(name='ROW'),when=pgtrigger_live.declare.clauses.When(name='BEFORE'),operation="
        "pgtrigger_live.declare.clauses.Operation(name='UPDATE'),condition=None,referencing="
        "None,func='RETURN NEW;',declare=None,timing=None)"
    )
