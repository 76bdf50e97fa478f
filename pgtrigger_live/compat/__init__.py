"""Opt-in compatibility with code written for django-pgtrigger (django-pghistory, old
migration files): list ``"pgtrigger_live.compat"`` in INSTALLED_APPS, before ``"pgtrigger"``
and any app that imports ``pgtrigger``. See docs/migrating.md.

Importing this package has no side effect; Django loading the app (``compat/apps.py``) is
what serves pgtrigger_live under the import name ``pgtrigger``.
"""

from __future__ import annotations
