"""pgtrigger_live under django-pgtrigger's import name ``pgtrigger`` (see compat/alias.py).

The public names are pgtrigger_live's own objects, not copies: ``pgtrigger.Trigger is
pgtrigger_live.Trigger``, so triggers declared through either name share one registry.
"""

from __future__ import annotations

from pgtrigger_live import *  # noqa: F403
from pgtrigger_live import __all__ as _live_all
from pgtrigger_live import __version__ as __version__
from pgtrigger_live.compat.pgtrigger import compiler, core, migrations
from pgtrigger_live.compat.pgtrigger.core import (
    INSTALLED,
    OUTDATED,
    PRUNE,
    UNALLOWED,
    UNINSTALLED,
)

__all__ = [
    *_live_all,
    "INSTALLED",
    "OUTDATED",
    "PRUNE",
    "UNALLOWED",
    "UNINSTALLED",
    "compiler",
    "core",
    "migrations",
]
