"""Which schemas a reconcile of an alias covers, and how the router is asked about each.

``PGTRIGGER_LIVE_SCHEMAS`` names every schema an alias's triggers live in (what
``--all-schemas`` acts on): a list, a dict of alias -> list, a callable ``(alias) -> list``,
its dotted path, or ``"django_tenants"``. django-tenants decides what may be migrated where by
``connection.schema_name``, not by the search_path, so its integration also points the
connection at each tenant while the router is asked. See docs/tenants.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from django.db import connections
from django.utils.module_loading import import_string

from pgtrigger_live import conf
from pgtrigger_live.exceptions import SchemaError
from pgtrigger_live.reconcile.state import Scope

DJANGO_TENANTS = "django_tenants"


class SchemaSource(Protocol):
    def schemas(self, alias: str) -> list[str]:
        """Every schema of ``alias`` (for --all-schemas), in the order to reconcile them."""

    def scope(self, alias: str, schema: str) -> Scope:
        """The scope of one schema: its search path."""

    def routing(self, alias: str, schema: str | None) -> AbstractContextManager[None]:
        """While open, the project's router answers for ``schema`` (None: as connected)."""


class Listed:
    """Schemas from a list, a dict per alias or a callable; the router is asked as it is."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def schemas(self, alias: str) -> list[str]:
        value = self.value
        if isinstance(value, dict):
            value = value.get(alias, ())
        if callable(value):
            try:
                value = value(alias)
            except Exception as exc:
                raise SchemaError(
                    f"PGTRIGGER_LIVE_SCHEMAS raised {type(exc).__name__} for database "
                    f"{alias!r}: {exc}; nothing was changed."
                ) from exc
        return _names(value, "PGTRIGGER_LIVE_SCHEMAS")

    def scope(self, alias: str, schema: str) -> Scope:
        return Scope(schema)

    def routing(self, alias: str, schema: str | None) -> AbstractContextManager[None]:
        return nullcontext()


class DjangoTenants:
    """django-tenants: ``public`` and every tenant's schema on the tenant alias.

    Each schema's search path is the one django-tenants gives that tenant (``tenant, public``
    and ``PG_EXTRA_SEARCH_PATHS``), and the router is asked with the connection set to the
    tenant (``connection.set_tenant``), as ``migrate_schemas`` does.
    """

    def __init__(self) -> None:
        self._tenants: dict[str, Any] = {}

    def _public(self) -> str:
        from django_tenants.utils import get_public_schema_name

        return str(get_public_schema_name())

    def _is_tenant_alias(self, alias: str) -> bool:
        from django_tenants.utils import get_tenant_database_alias

        return bool(alias == get_tenant_database_alias())

    def schemas(self, alias: str) -> list[str]:
        if not self._is_tenant_alias(alias):
            return []
        from django_tenants.utils import get_tenant_model

        public = self._public()
        try:
            tenants = list(get_tenant_model().objects.using(alias).order_by("pk"))
        except Exception as exc:
            raise SchemaError(
                f"Could not list the tenants of database {alias!r} ({type(exc).__name__}: "
                f"{exc}); nothing was changed. Has `migrate_schemas --shared` run?"
            ) from exc
        self._tenants = {t.schema_name: t for t in tenants}
        return [public, *(name for name in self._tenants if name != public)]

    def scope(self, alias: str, schema: str) -> Scope:
        from django.conf import settings

        public = self._public()
        extra = list(getattr(settings, "PG_EXTRA_SEARCH_PATHS", []))
        path = [public] if schema == public else [schema, public]
        # A tenant row whose schema was never created (auto_create_schema=False) is skipped
        # with a warning by --all-schemas rather than failing every tenant's reconcile.
        optional = schema in self._tenants and schema != public
        return Scope(schema, tuple(dict.fromkeys([*path, *extra])), optional)

    @contextmanager
    def routing(self, alias: str, schema: str | None) -> Iterator[None]:
        connection: Any = connections[alias]
        if schema is None or not hasattr(connection, "set_tenant"):
            yield
            return
        from django_tenants.postgresql_backend.base import FakeTenant

        previous = (connection.tenant, connection.include_public_schema)
        tenant = self._tenants.get(schema)
        if tenant is None and schema != self._public():
            from django_tenants.utils import get_tenant_model

            tenant = get_tenant_model().objects.using(alias).filter(schema_name=schema).first()
            if tenant is not None:
                self._tenants[schema] = tenant
        connection.set_tenant(tenant or FakeTenant(schema_name=schema))
        try:
            yield
        finally:
            connection.set_tenant(previous[0], previous[1])


def source() -> SchemaSource | None:
    """The configured source of schemas, or None when PGTRIGGER_LIVE_SCHEMAS is unset."""
    value = conf.schemas()
    if value is None:
        return None
    if value == DJANGO_TENANTS:
        return DjangoTenants()
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise SchemaError(
                f"PGTRIGGER_LIVE_SCHEMAS = {value!r}: not a list, a callable, its dotted path "
                f'or "{DJANGO_TENANTS}" ({exc}).'
            ) from exc
    return Listed(value)


def _names(value: Any, origin: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SchemaError(f"{origin} must give a list of schema names, not {value!r}.")
    names = list(value)
    for name in names:
        if not isinstance(name, str) or not name or "\x00" in name:
            raise SchemaError(f"{origin}: {name!r} is not a schema name.")
    return list(dict.fromkeys(names))


#: Points the project's router at one schema while open (django-tenants), or None where the
#: router's answers do not depend on the schema.
Routing = Callable[[str | None], AbstractContextManager[None]] | None


def scopes(
    alias: str, schemas: Sequence[str] = (), *, all_schemas: bool = False
) -> tuple[list[Scope], Routing]:
    """The scopes of one call, and how to ask the router as each scope's schema.

    No schemas: the connection as it is (one scope). ``schemas``: each one a scope of its
    own, put in front of the connection's search_path (django-tenants: the tenant's path).
    ``all_schemas``: every schema PGTRIGGER_LIVE_SCHEMAS gives, then ``schemas``.
    """
    src = source()
    names = _names(schemas, "-s/schemas") if schemas else []
    if all_schemas:
        if src is None:
            raise SchemaError(
                "--all-schemas needs PGTRIGGER_LIVE_SCHEMAS (a list of schemas, a callable, or "
                f'"{DJANGO_TENANTS}"); or name the schemas with -s.'
            )
        names = list(dict.fromkeys([*src.schemas(alias), *names]))
        if not names:
            raise SchemaError(f"PGTRIGGER_LIVE_SCHEMAS gives no schema for database {alias!r}.")
    if src is None:
        return [Scope(name) for name in names] or [Scope()], None
    routing = src.routing
    scoped = [src.scope(alias, name) for name in names] or [Scope()]
    if not isinstance(src, DjangoTenants):
        return scoped, None
    return scoped, lambda schema: routing(alias, schema)
