"""Registry selectors and registration errors on plain data (an emptied registry, no database)."""

from __future__ import annotations

from typing import Any

import pytest

import pgtrigger_live as pgtrigger
from pgtrigger_live.declare import registry
from pgtrigger_live.exceptions import DeclarationError, UnknownTriggerError
from tests.testapp.models import CondRow, Plain, TimestampedBase

pytestmark = pytest.mark.usefixtures("empty_registry")


def trig(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name, when=pgtrigger.After, operation=pgtrigger.Insert, func="RETURN NULL;"
    )


@pytest.fixture
def three() -> list[pgtrigger.Trigger]:
    triggers = [trig("a1"), trig("b1"), trig("a2")]
    registry.add(Plain, triggers[0])
    registry.add(CondRow, triggers[1])
    registry.add(Plain, triggers[2])
    return triggers


SELECTIONS = [
    ((), ["testapp.Plain:a1", "testapp.CondRow:b1", "testapp.Plain:a2"]),
    (("testapp.Plain:*",), ["testapp.Plain:a1", "testapp.Plain:a2"]),
    (("testapp.Plain:a?",), ["testapp.Plain:a1", "testapp.Plain:a2"]),
    (("testapp.CondRow:[b]1",), ["testapp.CondRow:b1"]),
    (("testapp.Plain:a2", "testapp.Plain:a1"), ["testapp.Plain:a2", "testapp.Plain:a1"]),
    (("testapp.Plain:a1", "testapp.Plain:*"), ["testapp.Plain:a1", "testapp.Plain:a2"]),
    ((CondRow,), ["testapp.CondRow:b1"]),
]


@pytest.mark.parametrize(("selectors", "uris"), SELECTIONS)
def test_select(
    three: list[pgtrigger.Trigger], selectors: tuple[object, ...], uris: list[str]
) -> None:
    assert [uri for uri, _, _ in registry.select(*selectors)] == uris  # type: ignore[arg-type]
    assert [(m, t) for _, m, t in registry.select(*selectors)] == registry.registered(*selectors)  # type: ignore[arg-type]


@pytest.mark.parametrize("selector", ["testapp.Plain:nope", "testapp.Nope:*", "*:zz"])
def test_a_selector_matching_nothing_raises(three: list[pgtrigger.Trigger], selector: str) -> None:
    with pytest.raises(UnknownTriggerError, match=f'^URI "{selector.replace("*", ".")}" not found'):
        registry.select("testapp.Plain:a1", selector)


def test_a_model_without_triggers_raises_naming_it(three: list[pgtrigger.Trigger]) -> None:
    from tests.testapp.models import Protected

    with pytest.raises(UnknownTriggerError, match='^URI "testapp.Protected" not found'):
        registry.select(Protected)


@pytest.mark.parametrize("selector", ["no-colon", "app:", ":name", "app:name"])
def test_malformed_uri_is_a_declaration_error(selector: str) -> None:
    with pytest.raises(DeclarationError, match="must be in the format"):
        registry.select(selector)


def test_other_selector_types_are_refused() -> None:
    with pytest.raises(DeclarationError, match="^Cannot select triggers with 3."):
        registry.select(3)  # type: ignore[arg-type]


def test_entry(three: list[pgtrigger.Trigger]) -> None:
    assert registry.entry("testapp.Plain:a1") == (Plain, three[0])
    assert registry.entry("testapp.Plain:*") is None


def test_uri_of_a_postgres_trigger_name(three: list[pgtrigger.Trigger]) -> None:
    # How an error raised by a trigger is traced back to its declaration.
    assert registry.uri_of(three[0].get_pgid(Plain)) == "testapp.Plain:a1"
    assert registry.uri_of("pgtrigger_unknown_00000") is None


def test_registration_errors() -> None:
    with pytest.raises(
        DeclarationError, match=r"^testapp.Plain: Meta.triggers and register\(\) take"
    ):
        registry.add(Plain, "not a trigger")  # type: ignore[arg-type]
    with pytest.raises(DeclarationError, match="cannot be registered on abstract model"):
        registry.add(TimestampedBase, trig("x"))
    first = trig("dup")
    registry.add(Plain, first)
    registry.add(Plain, first)  # the same pair again: a no-op
    with pytest.raises(DeclarationError, match='"testapp.Plain:dup" is already registered'):
        registry.add(Plain, trig("dup"))
    with pytest.raises(UnknownTriggerError, match='URI "testapp.Plain:dup" not found'):
        registry.remove(Plain, trig("dup"))  # another instance under the same URI
    registry.remove(Plain, first)
    assert registry.entry("testapp.Plain:dup") is None
    with pytest.raises(UnknownTriggerError, match='URI "testapp.Plain:dup" not found'):
        registry.remove(Plain, first)  # not registered any more
    again = trig("dup")
    registry.add(Plain, again)  # the id and the table name were freed as well
    pgid = again.get_pgid(Plain)
    assert registry._by_pgid == {pgid: "testapp.Plain:dup"}
    assert registry._by_table_name == {("testapp_plain", "dup"): "testapp.Plain:dup"}


def test_a_proxy_and_its_model_share_trigger_names() -> None:
    from django.contrib.auth.models import User

    from tests.testapp.models import UserProxy

    registry.add(User, trig("p"))
    with pytest.raises(DeclarationError) as info:
        registry.add(UserProxy, trig("p"))
    assert str(info.value) == (
        'Trigger name "p" on testapp.UserProxy is already used on table "auth_user" by '
        '"auth.User:p" (a proxy and its concrete model share a table); use a different name.'
    )


def test_a_postgres_id_is_used_once() -> None:
    clash = trig("c")
    registry._by_pgid[clash.get_pgid(Plain)] = "other.Model:c"  # as if another URI hashed alike
    with pytest.raises(DeclarationError) as info:
        registry.add(Plain, clash)
    assert str(info.value) == (
        f'Trigger "testapp.Plain:c" has Postgres id "{clash.get_pgid(Plain)}", already in use by '
        '"other.Model:c"; use a different name.'
    )


def test_register_decorator_returns_the_model() -> None:
    t = trig("deco")
    assert registry.register(t)(Plain) is Plain
    assert registry.entry("testapp.Plain:deco") == (Plain, t)


def test_a_typo_gets_a_hint_and_a_model_does_not(three: list[pgtrigger.Trigger]) -> None:
    from tests.testapp.models import Versioned

    with pytest.raises(UnknownTriggerError) as info:
        registry.select("testapp.Plain:a3")
    assert str(info.value) == (
        "URI \"testapp.Plain:a3\" not found in pgtrigger registry; did you mean 'testapp.Plain:a2'?"
    )
    with pytest.raises(UnknownTriggerError) as info:
        registry.select(Versioned)  # its triggers are not registered in this test
    assert str(info.value) == 'URI "testapp.Versioned" not found in pgtrigger registry'


def test_a_trigger_method_keeps_a_registered_trigger_registered() -> None:
    """django-pgtrigger's Trigger methods register an unregistered trigger only for the call."""
    registered, loose = trig("kept"), trig("loose")
    registry.add(Plain, registered)
    assert registered._run(Plain, lambda uri: registry.entry(uri)) == (Plain, registered)
    assert registry.entry("testapp.Plain:kept") == (Plain, registered)
    assert loose._run(Plain, lambda uri: registry.entry(uri)) == (Plain, loose)
    assert registry.entry("testapp.Plain:loose") is None


def test_exec_sql_skips_a_database_the_router_refuses(settings: Any) -> None:
    settings.DATABASE_ROUTERS = ["tests.routers.OnlyDefault"]
    assert trig("x").exec_sql("SELECT 1", Plain, database="other") is None
    assert str(trig("x")) == "x"
