"""Let models declare ``Meta.triggers``: the one import-time hook into Django.

Django rejects unknown Meta attributes, so "triggers" must be in ``options.DEFAULT_NAMES``
before any model using it is defined; this module is imported by ``pgtrigger_live/__init__``
so importing the library is enough. ``django.db.migrations.state`` is imported first on
purpose: it keeps its own reference to the original tuple, so triggers never appear in
migration state and ``makemigrations`` is unaffected (no migration files for triggers).
"""

from __future__ import annotations

import django.db.migrations.state  # noqa: F401  (binds the original DEFAULT_NAMES, see above)
from django.db.models import options


def enable_meta_triggers() -> None:
    if "triggers" not in options.DEFAULT_NAMES:
        options.DEFAULT_NAMES = (*options.DEFAULT_NAMES, "triggers")


enable_meta_triggers()
