"""System checks and registry errors: bad declarations are caught before any SQL."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import models

import pgtrigger_live as pgtrigger
from pgtrigger_live.checks import check_inherited_meta, check_triggers
from pgtrigger_live.declare import registry
from tests.testapp.models import Plain, Protected, UserProxy

AddTrigger = Callable[[type[models.Model], pgtrigger.Trigger], str]


def test_declared_triggers_pass_the_checks() -> None:
    assert [m for m in run_checks() if m.id and m.id.startswith("pgtrigger_live")] == []


def test_bad_field_in_condition_is_a_check_error(extra_trigger: AddTrigger) -> None:
    extra_trigger(
        Plain,
        pgtrigger.Trigger(
            name="bad_field",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__missing=1),
            func="RETURN NEW;",
        ),
    )
    (error,) = check_triggers()
    assert error.id == "pgtrigger_live.E001"
    assert error.obj is Plain
    assert "testapp.Plain:bad_field" in error.msg
    assert 'testapp.Plain has no field named "missing"' in error.msg


def test_check_command_reports_the_error_with_its_id(extra_trigger: AddTrigger) -> None:
    extra_trigger(
        Plain,
        pgtrigger.Trigger(
            name="bad_body",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            func=pgtrigger.Func("{not_a_variable}"),
        ),
    )
    with pytest.raises(Exception, match="pgtrigger_live.E001") as exc:
        call_command("check", stdout=StringIO(), stderr=StringIO())
    assert "testapp.Plain:bad_body" in str(exc.value)


def test_child_meta_that_drops_inherited_triggers_warns() -> None:
    class Base(models.Model):
        class Meta:
            abstract = True
            app_label = "testapp"
            triggers = [pgtrigger.Protect(name="base_protect", operation=pgtrigger.Delete)]

    class Child(Base):
        class Meta:  # does not subclass Base.Meta: the triggers are lost
            app_label = "testapp"

    try:
        warnings = [w for w in check_inherited_meta() if w.obj is Child]
        assert [w.id for w in warnings] == ["pgtrigger_live.W001"]
        assert "base_protect" in warnings[0].msg
    finally:
        from django.apps import apps

        del apps.all_models["testapp"]["child"]
        apps.clear_cache()


def test_duplicate_uri_is_rejected(extra_trigger: AddTrigger) -> None:
    extra_trigger(Plain, pgtrigger.Protect(name="dup", operation=pgtrigger.Delete))
    with pytest.raises(
        pgtrigger.DeclarationError, match='"testapp.Plain:dup" is already registered'
    ):
        registry.add(Plain, pgtrigger.Protect(name="dup", operation=pgtrigger.Delete))


def test_proxy_and_concrete_model_cannot_share_a_trigger_name() -> None:
    from django.contrib.auth.models import User

    with pytest.raises(pgtrigger.DeclarationError, match='already used on table "auth_user"'):
        registry.add(User, pgtrigger.Protect(name="protect_superusers", operation=pgtrigger.Delete))
    assert registry.registered("testapp.UserProxy:protect_superusers")[0][0] is UserProxy


def test_non_trigger_in_meta_is_rejected() -> None:
    with pytest.raises(pgtrigger.DeclarationError, match="take Trigger instances"):
        registry.add(Plain, "not a trigger")  # type: ignore[arg-type]


def test_registered_returns_model_and_trigger_pairs() -> None:
    ((model, trigger),) = pgtrigger.registered("testapp.Protected:protect_delete")
    assert model is Protected
    assert trigger.name == "protect_delete"
    assert ("testapp.Protected:protect_delete") in [t.get_uri(m) for m, t in pgtrigger.registered()]


@pytest.mark.django_db
def test_triggers_never_reach_migrations() -> None:
    # Meta.triggers is accepted by models but kept out of migration state.
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_checks_of_other_apps_skip_this_one(extra_trigger: AddTrigger) -> None:
    from django.apps import apps

    extra_trigger(
        Plain,
        pgtrigger.Trigger(
            name="bad_elsewhere",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(new__missing=1),
            func="RETURN NEW;",
        ),
    )
    auth = [apps.get_app_config("auth")]
    assert check_triggers(app_configs=auth) == []
    assert len(check_triggers(app_configs=[apps.get_app_config("testapp")])) == 1
    assert check_inherited_meta(app_configs=auth) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, None),
        (["a", "b"], None),
        ({"default": ["a"], "other": lambda alias: []}, None),
        (lambda alias: ["a"], None),
        ("tests.routers.OnlyDefault", None),  # any importable callable
        ("django_tenants", "but django_tenants is not installed"),
        ("no.such.module", "not a list, a callable, its dotted path"),
        (42, "must give a list of schema names, not 42"),
        (["ok", ""], "'' is not a schema name"),
        ({"default": "public"}, "must give a list of schema names, not 'public'"),
    ],
)
def test_schemas_setting_is_checked(settings: object, value: object, message: str | None) -> None:
    from pgtrigger_live.checks import check_schemas

    settings.PGTRIGGER_LIVE_SCHEMAS = value  # type: ignore[attr-defined]
    errors = check_schemas()
    if message is None:
        assert errors == []
    else:
        (error,) = errors
        assert error.id == "pgtrigger_live.E003"
        assert message in error.msg


def test_django_pgtrigger_next_to_pgtrigger_live_is_an_error() -> None:
    """django-pgtrigger's own app (installed here as django-pghistory's dependency) listed
    beside pgtrigger_live, without the compat app: E004 in `manage.py check`."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['pgtrigger_live', 'pgtrigger'], DATABASES={})\n"
        "django.setup()\n"
        "from pgtrigger_live.checks import check_no_django_pgtrigger\n"
        "print([e.id for e in check_no_django_pgtrigger()])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['pgtrigger_live.E004']"


def test_the_compat_app_serving_pgtrigger_is_not_an_error() -> None:
    from pgtrigger_live.checks import check_no_django_pgtrigger

    assert check_no_django_pgtrigger() == []  # tests.settings lists no "pgtrigger"
