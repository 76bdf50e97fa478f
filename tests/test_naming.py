"""Pure tests: identifiers, literals and the id rule (no database)."""

from __future__ import annotations

import hashlib

import pytest

from pgtrigger_live import naming, sql
from pgtrigger_live.exceptions import DeclarationError


@pytest.mark.parametrize(
    ("uri", "name", "pgid"),
    [
        # Ids pinned by django-pgtrigger's own tests: a database it manages is adopted.
        ("tests.SoftDelete:soft_delete", "soft_delete", "pgtrigger_soft_delete_f41be"),
        (
            "tests.TestTriggerProxy:protect_delete",
            "protect_delete",
            "pgtrigger_protect_delete_b7483",
        ),
        ("tests.OrderSchema:protect_inserts", "protect_inserts", "pgtrigger_protect_inserts_a0767"),
    ],
)
def test_pgid_matches_django_pgtrigger(uri: str, name: str, pgid: str) -> None:
    assert naming.make_pgid(uri, name) == pgid


def test_pgid_is_case_sensitive_before_lowercasing() -> None:
    a = naming.make_pgid("app.M:MyTrigger", "MyTrigger")
    b = naming.make_pgid("app.M:mytrigger", "mytrigger")
    assert a != b
    assert a == a.lower()


def test_long_names_are_shortened_deterministically_within_63_bytes() -> None:
    name = "x" * 90
    pgid = naming.make_pgid(f"app.M:{name}", name)
    assert len(pgid) == 63
    assert pgid == naming.make_pgid(f"app.M:{name}", name)
    assert pgid != naming.make_pgid(f"app.M:{name}y", name + "y")


@pytest.mark.parametrize("name", ["hello.world", "sp ace", 'quo"te', "semi;colon"])
def test_invalid_names_are_rejected(name: str) -> None:
    with pytest.raises(DeclarationError, match="alphanumeric"):
        naming.validate_name(name)


def test_hyphens_are_allowed_as_in_django_pgtrigger() -> None:
    assert naming.validate_name("hello_world-111") == "hello_world-111"


@pytest.mark.parametrize(
    ("uri", "ok"),
    [("app.Model:name", True), ("app.Model", False), (":name", False), ("Model:name", False)],
)
def test_split_uri(uri: str, ok: bool) -> None:
    if ok:
        assert naming.split_uri(uri) == ("app.Model", "name")
    else:
        with pytest.raises(DeclarationError, match="app_label.ModelName:trigger_name"):
            naming.split_uri(uri)


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", '"plain"'),
        ('a"b', '"a""b"'),
        ("order", '"order"'),
        ('x"; drop table y; --', '"x""; drop table y; --"'),
    ],
)
def test_quote_ident(value: str, quoted: str) -> None:
    assert sql.quote_ident(value) == quoted


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("it's", "'it''s'"),
        ("back\\slash", "E'back\\\\slash'"),
        ("$$; drop", "'$$; drop'"),
    ],
)
def test_quote_literal(value: str, quoted: str) -> None:
    assert sql.quote_literal(value) == quoted


def test_dollar_quote_picks_a_tag_absent_from_the_body() -> None:
    body = "select '$pgtrigger_live$'"
    quoted = sql.dollar_quote(body)
    assert quoted.startswith("$pgtrigger_live_1$")
    assert quoted.endswith("$pgtrigger_live_1$")


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        sql.quote_literal("a\x00b")
    with pytest.raises(ValueError, match="NUL"):
        sql.quote_ident("a\x00b")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", 'Trigger must have "name" attribute (a non-empty string).'),
        (None, 'Trigger must have "name" attribute (a non-empty string).'),
        (5, 'Trigger must have "name" attribute (a non-empty string).'),
        (
            "a.b",
            'Trigger name "a.b" has invalid characters. Only alphanumeric characters '
            "(letters, digits), underscores and hyphens are allowed.",
        ),
        ("x" * 101, f'Trigger name "{"x" * 101}" is longer than 100 characters.'),
    ],
)
def test_invalid_name_messages(name: object, message: str) -> None:
    with pytest.raises(DeclarationError) as info:
        naming.validate_name(name)
    assert str(info.value) == message


def test_longest_names_accepted() -> None:
    assert naming.validate_name("x" * 100) == "x" * 100
    assert (
        naming.make_pgid("a.B:" + "n" * 47, "n" * 47)
        == f"pgtrigger_{'n' * 47}_" + (naming.make_pgid("a.B:" + "n" * 47, "n" * 47)[-5:])
    )
    assert len(naming.make_pgid("a.B:" + "n" * 47, "n" * 47)) == len("pgtrigger_") + 47 + 6


def test_shortened_id_is_pinned() -> None:
    name = "n" * 48
    assert naming.make_pgid(f"a.B:{name}", name) == (
        f"pgtrigger_{'n' * 41}_{hashlib.sha1(name.encode()).hexdigest()[:5]}_"
        f"{hashlib.sha1(f'a.B:{name}'.encode()).hexdigest()[:5]}"
    )


@pytest.mark.parametrize(
    ("uri", "parts"),
    [("a.B:c:d", ("a.B", "c:d")), ("a.B:c", ("a.B", "c"))],
)
def test_split_uri_parts(uri: str, parts: tuple[str, str]) -> None:
    assert naming.split_uri(uri) == parts


@pytest.mark.parametrize("uri", [":c", "a.B:", "aB:c", "a.B"])
def test_split_uri_refuses(uri: str) -> None:
    with pytest.raises(DeclarationError) as info:
        naming.split_uri(uri)
    assert str(info.value) == (
        'Trigger URI must be in the format of "app_label.model_name:trigger_name", that is '
        f'"app_label.ModelName:trigger_name" with the model\'s class name; got "{uri}".'
    )


def test_make_pgid_refuses_names_that_skipped_validation() -> None:
    assert naming.make_pgid("a.B:" + "n" * 100, "n" * 100).startswith("pgtrigger_" + "n" * 41)
    with pytest.raises(DeclarationError) as info:
        naming.make_pgid("a.B:" + "n" * 101, "n" * 101)
    assert str(info.value) == (f'Trigger name "{"n" * 101}" is longer than 100 characters (> 100).')


@pytest.mark.parametrize("refused", [True, False, 1.0])
def test_a_cached_id_never_stands_for_an_order_that_is_refused(refused: object) -> None:
    # make_pgid is cached; True == 1 and hash(True) == hash(1), so a cache asked before the
    # order is validated would hand back the id of order 1 (or 0) for them.
    naming.make_pgid("a.M:cached", "cached", 1)
    naming.make_pgid("a.M:cached", "cached", 0)
    with pytest.raises(DeclarationError, match="order must be a whole number"):
        naming.make_pgid("a.M:cached", "cached", refused)  # type: ignore[arg-type]
