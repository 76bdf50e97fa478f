"""What the compiler hashes and encodes, and how signatures compare. No database.

The clause hash and the shape decide whether an installed trigger is up to date: each part
of a declaration that Postgres stores must move one of them, and nothing else may.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.db import connections, models

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare.conditions import current_connection
from pgtrigger_live.exceptions import DeclarationError, InstallError
from pgtrigger_live.reconcile.compiler import IGNORE_CHECK, compile_trigger, deferred_trigger
from pgtrigger_live.reconcile.state import (
    HASH_VERSION,
    Enabled,
    InstalledTrigger,
    Signature,
    TableRef,
    is_legacy_comment,
)
from tests.testapp.models import CondRow, Plain, Versioned

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

BASE = {"name": "t", "when": pgtrigger.After, "operation": pgtrigger.Update, "func": "RETURN NULL;"}


def compiled(model: type = Plain, **changes: object):  # type: ignore[no-untyped-def]
    return compile_trigger(model, pgtrigger.Trigger(**{**BASE, **changes}))


# Each change moves the clause hash (and only the body md5 when it is the body).
CLAUSE_CHANGES = {
    "condition": {"condition": pgtrigger.Q(new__id__gt=0)},
    "when": {"when": pgtrigger.Before},
    "events": {"operation": pgtrigger.Update | pgtrigger.Insert},
    "UPDATE OF": {"operation": pgtrigger.UpdateOf("id")},
    "level": {"level": pgtrigger.Statement},
    "constraint timing": {"timing": pgtrigger.Immediate},
    "referencing": {"level": pgtrigger.Statement, "referencing": pgtrigger.Referencing(old="o")},
}


@pytest.mark.parametrize("change", CLAUSE_CHANGES.values(), ids=CLAUSE_CHANGES.keys())
def test_each_clause_part_moves_the_clause_hash_only(change: dict[str, object]) -> None:
    base, other = compiled(), compiled(**change)
    assert other.signature.clause_hash != base.signature.clause_hash
    assert other.signature.body_md5 == base.signature.body_md5
    assert other.comment != base.comment


def test_deferred_and_immediate_hash_apart() -> None:
    deferred = compiled(timing=pgtrigger.Deferred)
    immediate = compiled(timing=pgtrigger.Immediate)
    assert deferred.signature.clause_hash != immediate.signature.clause_hash
    assert (deferred.timing, immediate.timing) == (
        "DEFERRABLE INITIALLY DEFERRED",
        "DEFERRABLE INITIALLY IMMEDIATE",
    )
    assert deferred.constraint
    assert immediate.constraint
    assert not compiled().constraint
    assert compiled().timing is None


def test_body_moves_the_body_md5_only() -> None:
    base, other = compiled(), compiled(func="RETURN OLD;")
    assert other.signature.clause_hash == base.signature.clause_hash
    assert other.signature.body_md5 != base.signature.body_md5


def test_the_hash_ignores_the_table_and_the_name() -> None:
    """One definition hashes the same on every table (and tenant schema)."""
    a = compiled(Plain)
    b = compiled(CondRow, name="u")
    assert (a.db_table, b.db_table) == ("testapp_plain", "testapp_condrow")
    assert a.signature == b.signature


def test_compiled_fields() -> None:
    c = compiled(condition=pgtrigger.Q(new__id__gt=0))
    assert (c.uri, c.pgid, c.db_table) == ("testapp.Plain:t", "pgtrigger_t_1922e", "testapp_plain")
    assert (c.when, c.events, c.level, c.referencing, c.execute) == (
        "AFTER",
        "UPDATE",
        "ROW",
        None,
        None,
    )
    assert c.condition == 'NEW."id" > 0'
    assert c.body == f"\nBEGIN\n  {IGNORE_CHECK}\n  RETURN NULL;\nEND;\n"
    assert c.signature.version == HASH_VERSION
    assert c.signature.definition is None
    assert (
        c.comment
        == f"pgtrigger_live:{HASH_VERSION}:{c.signature.clause_hash}:{c.signature.body_md5}"
    )


def test_the_declaration_digest_is_recorded_in_the_comment() -> None:
    trigger = pgtrigger.Trigger(**BASE)
    unsigned, signed = compile_trigger(Plain, trigger), compile_trigger(Plain, trigger, digest="ab")
    assert unsigned.signature.digest is None
    assert signed.signature == Signature(
        unsigned.signature.clause_hash, unsigned.signature.body_md5, digest="ab"
    )
    assert signed.comment == f"{unsigned.comment}:dab"


def test_declare_section_goes_before_begin() -> None:
    c = compiled(declare=[("n", "int")], func="n := 1; RETURN NULL;")
    assert c.body is not None
    assert c.body.startswith("\nDECLARE n int;\nBEGIN")
    assert "n int;" in c.body
    assert c.body.index("DECLARE") < c.body.index("BEGIN")


def test_custom_execute_has_no_body() -> None:
    class Custom(pgtrigger.Trigger):
        def render_execute(self, model: type) -> str | None:
            return '"lib"."f"()'

    c = compile_trigger(Plain, Custom(**BASE))
    assert (c.execute, c.body) == ('"lib"."f"()', None)
    assert c.signature.body_md5 == "d41d8cd98f00b204e9800998ecf8427e"  # md5 of ""
    assert c.signature.clause_hash != compiled().signature.clause_hash


# pg_trigger.tgtype bits: ROW 1, BEFORE 2, INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32,
# INSTEAD 64; plus ours: 256 deferrable, 512 initially deferred, 1024 a constraint trigger.
SHAPES = [
    ({}, 1 | 16),
    ({"when": pgtrigger.Before}, 1 | 2 | 16),
    ({"level": pgtrigger.Statement}, 16),
    ({"operation": pgtrigger.Insert | pgtrigger.Delete}, 1 | 4 | 8),
    ({"operation": pgtrigger.Truncate, "level": pgtrigger.Statement}, 32),
    ({"timing": pgtrigger.Immediate}, 1 | 16 | 256 | 1024),
    ({"timing": pgtrigger.Deferred}, 1 | 16 | 256 | 512 | 1024),
]


@pytest.mark.parametrize(("change", "shape"), SHAPES)
def test_shape(change: dict[str, object], shape: int) -> None:
    assert compiled(**change).shape == shape


def test_instead_of_shape() -> None:
    assert compiled(when=pgtrigger.InsteadOf).shape == 1 | 64 | 16


class Failing(pgtrigger.Trigger):
    """Raises from a hook, with or without its URI in the message."""

    message = ""

    def render_func(self, model: type[models.Model]) -> str:
        raise DeclarationError(self.message.format(uri=self.get_uri(model)))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("func is wrong", "testapp.Plain:t: func is wrong"),
        ("{uri} has a wrong func", "testapp.Plain:t has a wrong func"),
    ],
)
def test_errors_name_the_uri_once(message: str, expected: str) -> None:
    trigger = Failing(**BASE)
    trigger.message = message
    with pytest.raises(DeclarationError) as info:
        compile_trigger(Plain, trigger)
    assert str(info.value) == expected
    assert isinstance(info.value.__cause__, DeclarationError)


def test_condition_errors_name_the_uri() -> None:
    with pytest.raises(DeclarationError, match=r"^testapp\.Plain:t: .*nope"):
        compiled(condition=pgtrigger.AnyChange("nope"))


class ModelAware(pgtrigger.Trigger):
    """Every hook reads the model, as the built-in triggers do."""

    def render_declare(self, model: type[models.Model]) -> str:
        return f"DECLARE t_{model._meta.model_name} int;"

    def render_func(self, model: type[models.Model]) -> str:
        return f"-- {model._meta.db_table}\nRETURN NULL;"

    def render_condition(
        self, model: type[models.Model], connection: BaseDatabaseWrapper | None = None
    ) -> str:
        seen.append((connection, current_connection()))
        return f"NEW.id <> '{model._meta.db_table}'"


seen: list[tuple[object, object]] = []


def test_hooks_get_the_model_and_the_connection() -> None:
    other = connections["other"]
    seen.clear()
    c = compile_trigger(Plain, ModelAware(**BASE), other)
    assert (
        c.body
        == f"\nDECLARE t_plain int;\nBEGIN\n  {IGNORE_CHECK}\n  -- testapp_plain\nRETURN NULL;\nEND;\n"
    )
    assert c.condition == "NEW.id <> 'testapp_plain'"
    assert seen == [(other, other)]


def test_a_deferred_trigger_renders_for_its_connection_when_needed() -> None:
    # A trigger found unchanged by its digest is rendered only if an action needs its SQL,
    # and then for the alias being reconciled, as compiling it would have been.
    other = connections["other"]
    compiled = compile_trigger(Plain, ModelAware(**BASE), other)
    deferred = deferred_trigger(Plain, ModelAware(**BASE), other, compiled.signature)
    seen.clear()
    assert deferred.condition == compiled.condition
    assert seen == [(other, other)]


def test_a_deferred_trigger_takes_the_uri_and_id_it_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reconcile computes them next to the catalog query (with the digests): not again.
    trigger = pgtrigger.Trigger(**BASE)
    compiled = compile_trigger(Plain, trigger)

    def again(model: type[models.Model]) -> str:
        raise AssertionError("computed again")

    monkeypatch.setattr(trigger, "get_uri", again)
    monkeypatch.setattr(trigger, "get_pgid", again)
    deferred = deferred_trigger(
        Plain, trigger, None, compiled.signature, uri=compiled.uri, pgid=compiled.pgid
    )
    assert (deferred.uri, deferred.pgid) == (compiled.uri, compiled.pgid)


class ModelExecute(pgtrigger.Trigger):
    def render_execute(self, model: type[models.Model]) -> str | None:
        return f'"lib"."{model._meta.model_name}"()'


def test_render_execute_gets_the_model() -> None:
    assert compile_trigger(Plain, ModelExecute(**BASE)).execute == '"lib"."plain"()'


def test_hashes_are_stable() -> None:
    """An upgrade must not re-create every trigger: the hash of a fixed declaration is pinned."""
    c = compiled(condition=pgtrigger.Q(new__id__gt=0))
    assert c.signature.clause_hash == HASH
    assert c.signature.body_md5 == BODY_MD5


HASH = "3e99445273a411dae0f4c1d17aa96fd1b16a9b36"
# Changed on 2026-12-05 with the ignore check (was 9d30d37c3df2a26d76b88efc7b1398ef): an
# upgrade replaces each function in place, never a trigger (the clause hash is unchanged).
BODY_MD5 = "f7e942d83a3953861056bb65d08d6294"


# -- change conditions: the whole-row shortcut ------------------------------------------------


def test_any_change_over_every_field_compares_whole_rows() -> None:
    assert compiled(CondRow, condition=pgtrigger.AnyChange()).condition == (
        "OLD.* IS DISTINCT FROM NEW.*"
    )
    assert compiled(CondRow, condition=pgtrigger.AnyDontChange()).condition == (
        "OLD.* IS NOT DISTINCT FROM NEW.*"
    )


@pytest.mark.parametrize("condition", [pgtrigger.AllChange(), pgtrigger.AllDontChange()])
def test_all_change_over_every_field_compares_each_column(condition: pgtrigger.Condition) -> None:
    text = compiled(CondRow, condition=condition).condition
    assert "OLD.*" not in text
    op = (
        "IS DISTINCT FROM" if isinstance(condition, pgtrigger.AllChange) else "IS NOT DISTINCT FROM"
    )
    columns = ["a", "b", "fk_id", "id", "s", "stamp"]
    assert text == "(" + " AND ".join(f'OLD."{c}" {op} (NEW."{c}")' for c in columns) + ")"


def test_any_change_over_some_fields_compares_each_column() -> None:
    assert compiled(Versioned, condition=pgtrigger.AnyChange("value")).condition == (
        'OLD."value" IS DISTINCT FROM (NEW."value")'
    )


# -- signatures -----------------------------------------------------------------------------

SIG = Signature("c" * 40, "b" * 32)


@pytest.mark.parametrize(
    ("comment", "parsed"),
    [
        (SIG.render(), SIG),
        (f"{SIG.render()}:18.42", Signature("c" * 40, "b" * 32, HASH_VERSION, "18.42")),
        ("pgtrigger_live:7:h:m", Signature("h", "m", 7)),
        (None, None),
        ("", None),
        ("a" * 40, None),
        ("pgtrigger_livex:1:h:m", None),
        ("pgtrigger_live:1:h", None),
        ("pgtrigger_live:1:h:m:f:x", None),
        ("pgtrigger_live:v1:h:m", None),
        ("other:1:h:m", None),
    ],
)
def test_signature_parse(comment: str | None, parsed: Signature | None) -> None:
    assert Signature.parse(comment) == parsed


def test_signature_render() -> None:
    assert SIG.render() == f"pgtrigger_live:{HASH_VERSION}:{'c' * 40}:{'b' * 32}"
    with_fp = Signature("h", "m", 3, "18.1")
    assert with_fp.render() == "pgtrigger_live:3:h:m"  # the fingerprint is the server's part


@pytest.mark.parametrize(
    ("recorded", "current", "result"),
    [
        ("18.1", "18.1", True),
        ("18.1", "18.2", False),
        ("18.1", "17.1", None),  # another major version: not comparable
        ("18.1", "181.1", None),
        ("18.1.2", "18.1.3", False),  # the major is what comes before the first dot
        (None, "18.1", None),
        ("18.1", None, None),
    ],
)
def test_fingerprint_matches(
    recorded: str | None, current: str | None, result: bool | None
) -> None:
    assert Signature("h", "m", definition=recorded).fingerprint_matches(current) is result


@pytest.mark.parametrize(
    ("comment", "legacy"),
    [
        ("0123456789abcdef0123456789abcdef01234567", True),
        ("a" * 39, False),
        ("a" * 41, False),
        ("X" * 40, False),
        ("A" * 40, False),
        ("g" * 40, False),
        (None, False),
        ("", False),
    ],
)
def test_legacy_comment(comment: str | None, legacy: bool) -> None:
    assert is_legacy_comment(comment) is legacy


TABLE = TableRef("s", "t", 1)


@pytest.mark.parametrize(
    ("comment", "fn_schema", "fn_name", "ours", "owns"),
    [
        (SIG.render(), "s", "pgtrigger_x", True, True),
        ("a" * 40, "s", "pgtrigger_x", True, True),
        ("hand made", "s", "pgtrigger_x", False, True),
        (None, "other", "pgtrigger_x", False, False),
        (SIG.render(), "other", "pgtrigger_x", True, False),
        (SIG.render(), "s", "audit", True, False),
        (SIG.render(), None, None, True, False),
    ],
)
def test_installed_trigger_ownership(
    comment: str | None, fn_schema: str | None, fn_name: str | None, ours: bool, owns: bool
) -> None:
    t = InstalledTrigger(
        TABLE, "pgtrigger_x", Enabled.ENABLED, comment, False, fn_schema, fn_name, None
    )
    assert t.is_ours is ours
    assert t.owns_function is owns
    assert t.signature == Signature.parse(comment)


@pytest.mark.parametrize(
    ("mode", "enabled"),
    [
        (Enabled.ENABLED, True),
        (Enabled.DISABLED, False),
        (Enabled.ALWAYS, True),
        (Enabled.REPLICA, True),
    ],
)
def test_enabled_modes(mode: Enabled, enabled: bool) -> None:
    assert mode.is_enabled is enabled
    assert mode.label == mode.name
    assert Enabled(mode.value) is mode


# -- deferred rendering: the installed signature stands in until an action needs the SQL ------


def test_a_deferred_trigger_is_the_compiled_one_rendered_later() -> None:
    full = compile_trigger(Plain, pgtrigger.Trigger(**BASE), digest="d1")
    assert full.signature.digest == "d1"  # the digest goes into the comment
    later = deferred_trigger(Plain, pgtrigger.Trigger(**BASE), None, full.signature)
    assert not later.is_rendered
    assert (later.uri, later.pgid, later.signature, later.shape) == (
        full.uri,
        full.pgid,
        full.signature,
        full.shape,
    )
    assert later.has_body is True  # trusted declarations run their own function
    assert not later.is_rendered  # none of the above rendered anything
    assert (later.body, later.condition, later.events) == (full.body, full.condition, full.events)
    assert later.is_rendered


def test_a_deferred_trigger_keeps_the_uri_and_pgid_it_is_given() -> None:
    full = compile_trigger(Plain, pgtrigger.Trigger(**BASE))
    later = deferred_trigger(
        Plain, pgtrigger.Trigger(**BASE), None, full.signature, uri="given:uri", pgid="given_id"
    )
    assert (later.uri, later.pgid) == ("given:uri", "given_id")


def test_a_deferred_trigger_whose_sql_differs_from_its_signature_refuses_to_render() -> None:
    full = compile_trigger(Plain, pgtrigger.Trigger(**BASE))
    wrong = Signature(full.signature.clause_hash, "0" * 32, digest="d1")
    later = deferred_trigger(Plain, pgtrigger.Trigger(**BASE), None, wrong)
    with pytest.raises(InstallError) as info:
        _ = later.body
    assert str(info.value) == (
        f"{full.uri}: a comment of trigger {full.pgid} records this declaration's digest with "
        "hashes its SQL does not give. Either that comment was edited by hand (run COMMENT ON "
        f'TRIGGER "{full.pgid}" ON <its table> IS NULL where it was: the next install replaces '
        "the trigger in place), or the digest misses something the SQL depends on (a bug; "
        "please report it). Nothing was changed."
    )


@pytest.mark.parametrize(
    ("timing", "shape"),
    [
        (None, 1 | 2 | 16),
        (pgtrigger.Immediate, 1 | 16 | 256 | 1024),
        (pgtrigger.Deferred, 1 | 16 | 768 | 1024),
    ],
)
def test_exact_shape_of_each_timing(timing: object, shape: int) -> None:
    when = pgtrigger.Before if timing is None else pgtrigger.After
    assert compiled(when=when, timing=timing).shape == shape
