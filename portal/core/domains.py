"""What each domain adds to a shared list, found by a module's name: its ``labels.py`` (the
words for its codes), its ``permissions.py`` (its entries of the menu, ``MENU``), its
``jobs.py`` (the tasks the worker runs). Core sits below the domains and names none of them:
it asks the package which domains it holds."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

# The portal's folder: its domains are its packages.
PACKAGE = Path(__file__).resolve().parents[1]


def domain_modules(name: str) -> list[ModuleType]:
    """``portal.<domain>.<name>`` of every domain that has one, imported, by domain name."""
    found = []
    for info in sorted(pkgutil.iter_modules([str(PACKAGE)]), key=lambda i: i.name):
        module = f"portal.{info.name}.{name}"
        if info.ispkg and importlib.util.find_spec(module) is not None:
            found.append(importlib.import_module(module))
    return found
