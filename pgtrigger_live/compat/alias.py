"""Serve ``pgtrigger_live.compat.pgtrigger`` under the import name ``pgtrigger``.

An entry in ``sys.modules`` is Python's documented way to decide what an import returns;
nothing of Django or of the other distribution is patched. The real django-pgtrigger stays
installed (django-pghistory depends on it) and is simply never imported.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from django.core.exceptions import ImproperlyConfigured

NAME = "pgtrigger"
PACKAGE = "pgtrigger_live.compat.pgtrigger"
#: ``pgtrigger.<name>`` -> the module that serves it.
SUBMODULES = {
    "apps": f"{PACKAGE}.apps",
    "compiler": f"{PACKAGE}.compiler",
    "core": f"{PACKAGE}.core",
    "migrations": f"{PACKAGE}.migrations",
    "contrib": "pgtrigger_live.declare.contrib",
    "installation": "pgtrigger_live.reconcile.installation",
    "registry": "pgtrigger_live.declare.registry",
    "runtime": "pgtrigger_live.runtime",
    "utils": f"{PACKAGE}.utils",
}


def is_ours(module: ModuleType | None) -> bool:
    return module is not None and getattr(module, "__name__", None) == PACKAGE


def activate() -> None:
    """Register the aliases; refuse when django-pgtrigger's own ``pgtrigger`` is in use."""
    current = sys.modules.get(NAME)
    if current is not None and not is_ours(current):
        where = getattr(current, "__file__", None) or repr(current)
        raise ImproperlyConfigured(
            "pgtrigger_live.compat: the module 'pgtrigger' was already imported from "
            f"django-pgtrigger ({where}). Either the project still uses django-pgtrigger (then "
            "remove 'pgtrigger_live.compat' from INSTALLED_APPS), or something imported it "
            "first: list 'pgtrigger_live.compat' in INSTALLED_APPS before 'pgtrigger', "
            "'pghistory' and every app that imports pgtrigger (docs/migrating.md)."
        )
    package = importlib.import_module(PACKAGE)
    sys.modules[NAME] = package
    for short, target in SUBMODULES.items():
        module = importlib.import_module(target)
        sys.modules[f"{NAME}.{short}"] = module
        # ``import pgtrigger.core`` reads the attribute from the parent once the child is
        # found in sys.modules.
        setattr(package, short, module)
