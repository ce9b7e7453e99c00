"""Packages whose names are imported on first use (PEP 562), so that importing one part of a
capability does not load all of it (search reads cards' numbers without the card drafting).

A name exported this way must not also be the name of one of the package's modules: importing
that module binds the module to the package under its name, and the name would then be the
module, not the function (``tools.bench.compare`` is both, so that package imports eagerly)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, where: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``where`` from the module named
    beside it (relative to the package), imported when first asked for, then kept."""
    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
