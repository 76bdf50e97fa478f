"""Plain values shared by the pipeline: what code wants, what the catalog has, and statuses."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from pgtrigger_live import citus

_V = TypeVar("_V")

COMMENT_PREFIX = "pgtrigger_live"
#: Bumped only when the meaning of the hashes changes; older comments are then re-signed.
HASH_VERSION = 1
#: Marks the declaration digest in a comment (the fingerprint after it starts with a digit).
DIGEST_TAG = "d"


class Status(str, enum.Enum):
    """Where a trigger stands in one database, as ``ls`` shows it."""

    INSTALLED = "INSTALLED"  # installed and identical to the code
    OUTDATED = "OUTDATED"  # installed from an older definition (or by django-pgtrigger)
    TAMPERED = "TAMPERED"  # the function body was edited after install
    UNINSTALLED = "UNINSTALLED"  # declared, not installed
    PRUNE = "PRUNE"  # installed by us, no longer declared for this database
    UNALLOWED = "UNALLOWED"  # the router (or a non-Postgres backend) excludes it here
    FOREIGN = "FOREIGN"  # signed, on a table no model of this project maps to: left alone

    def __str__(self) -> str:
        return self.value


class Enabled(str, enum.Enum):
    """``pg_trigger.tgenabled`` in words; ALWAYS and REPLICA are enabled too."""

    ENABLED = "O"
    DISABLED = "D"
    ALWAYS = "A"
    REPLICA = "R"

    @property
    def label(self) -> str:
        return self.name

    @property
    def is_enabled(self) -> bool:
        return self is not Enabled.DISABLED


@dataclass(frozen=True, slots=True)
class Signature:
    """What a trigger's comment records: hash of the trigger clause, md5 of the body, the
    declaration digest, and the server's fingerprint of the trigger as created (see
    ``fingerprint.DEFINITION_FINGERPRINT``).

    The hashes are computed from the compiled SQL; the digest from the declaration itself
    (``digest.py``), so a reconcile can tell "unchanged" without compiling. The fingerprint
    is appended by the server when the comment is written, so a later hand change of the WHEN
    condition, the UPDATE OF columns or the transition tables shows as a different
    fingerprint. Comments written before the fingerprint or the digest existed lack them
    (None): ``pgtrigger_live:1:<clause>:<body>[:d<digest>][:<fingerprint>]``.
    """

    clause_hash: str
    body_md5: str
    version: int = HASH_VERSION
    definition: str | None = None
    digest: str | None = None

    def fingerprint_matches(self, installed: str | None) -> bool | None:
        """Compare the recorded fingerprint with the trigger's current one.

        None when they cannot be compared: none was recorded (an older comment), or it was
        recorded by another major version of the server (the stored form differs).
        """
        if self.definition is None or installed is None:
            return None
        if self.definition.partition(".")[0] != installed.partition(".")[0]:
            return None
        return self.definition == installed

    def render(self) -> str:
        """The comment without the fingerprint: the part the code determines."""
        text = f"{COMMENT_PREFIX}:{self.version}:{self.clause_hash}:{self.body_md5}"
        return f"{text}:{DIGEST_TAG}{self.digest}" if self.digest else text

    @staticmethod
    def confirms(comment: str | None, body_md5: str | None, digest: str, definition: str) -> bool:
        """The comment is a current signature recording exactly this body, digest and fingerprint.

        What ``parse`` and the planner's comparisons conclude for an up-to-date trigger (hash
        format, body md5, digest, fingerprint all equal), in one string test: the no-op
        verdict (``nochange.py``) asks it of every trigger without parsing any comment.
        """
        if comment is None or body_md5 is None:
            return False
        head = f"{COMMENT_PREFIX}:{HASH_VERSION}:"
        tail = f":{body_md5}:{DIGEST_TAG}{digest}:{definition}"
        # Five colons: the head's two and the tail's three, so the two cannot overlap.
        return comment.startswith(head) and comment.endswith(tail) and comment.count(":") == 5

    @classmethod
    def parse(cls, comment: str | None) -> Signature | None:
        """Parse our comment; None for anything else (django-pgtrigger's bare sha1 included)."""
        if not comment or not comment.startswith(COMMENT_PREFIX + ":"):
            return None
        parts = comment.split(":")
        if not 4 <= len(parts) <= 6 or not parts[1].isdigit():
            return None
        digest = definition = None
        for extra in parts[4:]:
            # A fingerprint starts with the server's major version: a digit, never the tag.
            if extra.startswith(DIGEST_TAG) and digest is None and definition is None:
                digest = extra[len(DIGEST_TAG) :]
            elif not extra.startswith(DIGEST_TAG) and definition is None:
                definition = extra
            else:
                return None
        return cls(parts[2], parts[3], int(parts[1]), definition, digest)


def is_legacy_comment(comment: str | None) -> bool:
    """django-pgtrigger's comment: a bare 40-hex sha1 (such triggers are adopted)."""
    return bool(comment and len(comment) == 40 and all(c in "0123456789abcdef" for c in comment))


@dataclass(frozen=True, slots=True)
class RenderedSQL:
    """The SQL text of one compiled trigger: what only rendering the declaration gives."""

    events: str
    referencing: str | None
    condition: str
    #: None: the trigger runs its own generated function ``body``.
    execute: str | None
    #: The PL/pgSQL source stored in pg_proc.prosrc (None with a custom ``execute``).
    body: str | None


@dataclass(frozen=True, slots=True, eq=False)
class CompiledTrigger:
    """Everything the database should hold for one (model, trigger): the compiler's output.

    The SQL text (``sql``) may be deferred: a function that renders it on first use. A
    reconcile that finds the trigger installed from the same declaration (same digest) needs
    only the signature and the shape, so it never renders. The signature (``signed``) may be
    deferred too, for a trigger nothing installed is compared with: a first install renders
    it while the server runs earlier DDL (``applier``). Equality ignores how far the
    rendering went: the signature covers the SQL.
    """

    uri: str
    pgid: str
    #: ``model._meta.db_table`` as declared; resolved to a schema and table by the catalog.
    db_table: str
    constraint: bool
    when: str
    level: str
    timing: str | None
    #: The signature, or a function that renders the trigger and gives it (then kept).
    signed: Signature | Callable[[], Signature] = field(repr=False)
    #: pg_trigger.tgtype, plus 256 when deferrable, 512 when initially deferred and 1024 for
    #: a constraint trigger.
    shape: int
    #: The trigger runs a function of its own (``body``), not a custom ``execute``.
    has_body: bool
    sql: RenderedSQL | Callable[[], RenderedSQL] = field(repr=False)

    @property
    def signature(self) -> Signature:
        """The signature, rendered now if it was deferred (then kept)."""
        return self._settled("signed", Signature)

    @property
    def rendered(self) -> RenderedSQL:
        """The SQL text, rendered now if it was deferred (then kept)."""
        return self._settled("sql", RenderedSQL)

    def _settled(self, name: str, kind: type[_V]) -> _V:
        """Field ``name``'s value, calling the function it holds first if it holds one."""
        value = getattr(self, name)
        if isinstance(value, kind):
            return value
        done: _V = value()
        object.__setattr__(self, name, done)
        return done

    def _key(self) -> tuple[object, ...]:
        return (
            self.uri,
            self.pgid,
            self.db_table,
            self.constraint,
            self.when,
            self.level,
            self.timing,
            self.signature,
            self.shape,
            self.has_body,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompiledTrigger):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def is_rendered(self) -> bool:
        return isinstance(self.sql, RenderedSQL)

    @property
    def is_signed(self) -> bool:
        """Whether the signature is known (given, or rendered since)."""
        return isinstance(self.signed, Signature)

    @property
    def events(self) -> str:
        return self.rendered.events

    @property
    def referencing(self) -> str | None:
        return self.rendered.referencing

    @property
    def condition(self) -> str:
        return self.rendered.condition

    @property
    def execute(self) -> str | None:
        return self.rendered.execute

    @property
    def body(self) -> str | None:
        return self.rendered.body

    @property
    def comment(self) -> str:
        return self.signature.render()


@dataclass(frozen=True, slots=True)
class TableRef:
    """A table resolved through the catalog."""

    schema: str
    name: str
    oid: int
    #: The Citus table kind (``citus.DISTRIBUTED``, ...): where its triggers fire. Not part of
    #: the identity: a table distributed since is the same table.
    kind: str = field(default=citus.PLAIN, compare=False)


@dataclass(frozen=True, slots=True)
class InstalledTrigger:
    """One ``pgtrigger_*`` trigger as the catalog shows it."""

    table: TableRef
    pgid: str
    enabled: Enabled
    comment: str | None
    is_constraint: bool
    #: Name and schema of the function it executes, and md5(prosrc).
    function_schema: str | None
    function_name: str | None
    function_md5: str | None
    #: The same encoding as CompiledTrigger.shape (None for tables without triggers).
    shape: int | None = None
    #: The server's fingerprint of the trigger as it is now (fingerprint.DEFINITION_FINGERPRINT).
    definition: str | None = None
    #: ``pg_trigger.tgfoid``: how ``stats`` finds its counters (and its language, which
    #: decides whether PostgreSQL counts it: read by ``stats``, not by every reconcile).
    function_oid: int | None = None
    #: ``comment`` parsed, once (the planner reads it several times per trigger).
    signature: Signature | None = field(init=False, compare=False, repr=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signature", Signature.parse(self.comment))

    @property
    def is_ours(self) -> bool:
        """Ours to replace or prune: signed by us, or adopted from django-pgtrigger."""
        return self.signature is not None or is_legacy_comment(self.comment)

    @property
    def owns_function(self) -> bool:
        """It executes its own function (same name, in its table's schema): safe to drop."""
        return self.function_name == self.pgid and self.function_schema == self.table.schema


@dataclass(frozen=True, slots=True)
class Scope:
    """Where one reconcile of an alias looks: one schema, or the connection's own search_path.

    ``schema`` None is the connection as it is (its current schema is the home). Otherwise the
    schema is the home and tables resolve through ``path`` (None: the schema put in front of
    the connection's search_path). Only the home schema's tables, and tables a declaration
    allowed here resolves to, are this scope's to prune: see docs/reconcile.md, "Ownership".
    """

    schema: str | None = None
    path: tuple[str, ...] | None = None
    #: Skipped with a warning when the schema does not exist (a tenant row whose schema was
    #: never created), instead of failing the whole call.
    optional: bool = False

    @property
    def label(self) -> str:
        return self.schema if self.schema is not None else ""


class Owner(str, enum.Enum):
    """Who owns a table seen by a scope, for a trigger no declaration of the scope claims."""

    HERE = "here"  # a model the router allows in this scope maps to it: ours
    ELSEWHERE = "elsewhere"  # allowed on another alias of the same database: theirs
    NOWHERE = "nowhere"  # a model of ours, allowed nowhere any more: ours to prune
    GONE = "gone"  # this project's migrations created it; its model left the code: ours
    UNKNOWN = "unknown"  # no model of this project maps to it: another service's


@dataclass(slots=True)
class ScopeView:
    """What one scope sees: its home schema, its tables and the triggers it may own."""

    scope: Scope
    #: The schema whose tables this scope owns (None: no schema of its path exists).
    home: str | None = None
    #: ``db_table`` -> the table it resolves to here (None: missing).
    tables: dict[str, TableRef | None] = field(default_factory=dict)
    #: Our-prefix triggers on the home schema's tables and on the resolved tables.
    triggers: list[InstalledTrigger] = field(default_factory=list)
    #: The scope names a schema that does not exist (an optional scope: skipped).
    missing: bool = False


@dataclass(slots=True)
class Snapshot:
    """What one database holds, per scope, as one query read it."""

    views: list[ScopeView] = field(default_factory=list)
    server_version: int = 0
    #: The database has the Citus extension (then each TableRef carries its table kind).
    citus: bool = False

    @property
    def tables(self) -> dict[str, TableRef | None]:
        """The first scope's tables (the only scope of a plain, one-schema reconcile)."""
        return self.views[0].tables if self.views else {}

    @property
    def triggers(self) -> list[InstalledTrigger]:
        return self.views[0].triggers if self.views else []


class Sighting(NamedTuple):
    """One trigger row of the catalog, as read for the no-op verdict (``nochange.py``).

    A plain tuple: a reconcile in sync reads hundreds of them and builds nothing else.
    """

    table_oid: int
    #: The oid of its table's schema.
    schema_oid: int
    pgid: str
    comment: str | None
    #: It executes a function of its own name in its table's schema (``owns_function``).
    own_function: bool
    function_md5: str | None
    shape: int
    definition: str | None


@dataclass(frozen=True, slots=True)
class Glance:
    """What one scope sees in the catalog rows, before they are turned into a ScopeView.

    ``catalog.Fetched.glances`` gives one per scope, or none at all when only the Snapshot
    can say what to do (a schema that does not exist, Citus).
    """

    #: ``db_table`` -> the oid of the table it resolves to (None: no such table).
    tables: dict[str, int | None]
    #: Every trigger of ours the scope may own (the same rows as its ScopeView).
    triggers: list[Sighting]
    #: The oid of the scope's home schema (None: no schema of its path exists).
    home: int | None = None
    #: The oids of the tables schema-qualified models name (read in every scope).
    qualified: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Declared:
    """What the no-op verdict knows of one declaration allowed here, without compiling it."""

    db_table: str
    pgid: str
    #: The declaration digest (``digest.py``): declarations without one are compiled in full.
    digest: str
    #: What ``pg_trigger.tgtype`` must say (``CompiledTrigger.shape``).
    shape: int


@dataclass(frozen=True, slots=True)
class Desired:
    """One registered trigger as seen from one database."""

    uri: str
    pgid: str
    db_table: str
    #: None when the trigger is not allowed on this database (router or vendor).
    compiled: CompiledTrigger | None


#: How a scope learns who owns a table that carries a trigger none of its declarations claim.
OwnerOf = Callable[[TableRef], Owner]
