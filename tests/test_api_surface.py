"""The public API, name by name with its signature, against a checked-in snapshot (kornia tests/test_api_surface.py).

A change to what users import (a name added, removed or renamed, a parameter, a default, a method) fails here with a
diff, so it is made on purpose and shows in review. When the change is meant, regenerate the snapshot and commit it::

    python -m tests.test_api_surface

The surface of a package is its ``__all__``: each function with its signature, each class with its constructor,
public methods, properties and class attributes (those of facemotion's own base classes included), each constant
with its type (and value when it is a plain number, string or tuple of them).
"""

from __future__ import annotations

import difflib
import enum
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

MODULES = ("facemotion", "facemotion.inference", "facemotion.video", "facemotion.batch", "facemotion.serving",
           "facemotion.data", "facemotion.models", "facemotion.training")
SNAPSHOT = Path(__file__).with_name("api_surface.txt")
UPDATE = "python -m tests.test_api_surface"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PLAIN = (bool, int, float, str, type(None))


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return _ADDRESS.sub("", text)


def _value(obj: Any) -> str:
    plain = isinstance(obj, _PLAIN) or (isinstance(obj, tuple) and all(isinstance(v, _PLAIN) for v in obj))
    return f"{type(obj).__name__} = {obj!r}" if plain else type(obj).__name__


def _own_classes(cls: type) -> list[type]:
    """The classes of ``cls``'s MRO that facemotion defines: their members are its surface, not ``object``'s."""
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] == "facemotion"]


def _class_lines(cls: type) -> list[str]:
    bases = ", ".join(b.__qualname__ for b in cls.__bases__ if b is not object)
    lines = [f"class({bases})" if bases else "class", f"  __init__{_signature(cls)}"]
    members: dict[str, Any] = {}
    for owner in reversed(_own_classes(cls)):
        members.update({k: v for k, v in vars(owner).items() if not k.startswith("_") or k == "__call__"})
    fields = getattr(cls, "__dataclass_fields__", {})
    for name in sorted(members):
        if name in fields:
            continue  # a dataclass field is in the constructor's signature already
        raw = members[name]
        if isinstance(raw, property):
            lines.append(f"  {name}: property")
        elif isinstance(raw, (staticmethod, classmethod)):
            lines.append(f"  {name}{_signature(getattr(cls, name))}  [{type(raw).__name__}]")
        elif inspect.isfunction(raw):
            lines.append(f"  {name}{_signature(raw)}")
        elif isinstance(cls, enum.EnumMeta) and isinstance(raw, cls):
            lines.append(f"  {name} = {raw.value!r}")
        elif not callable(raw):
            lines.append(f"  {name}: {_value(raw)}")
    return lines


def _entry(name: str, obj: Any) -> list[str]:
    if inspect.ismodule(obj):
        return [f"{name}: module"]
    if inspect.isclass(obj):
        first, *rest = _class_lines(obj)
        return [f"{name}: {first}", *rest]
    if callable(obj):
        return [f"{name}{_signature(obj)}"]
    return [f"{name}: {_value(obj)}"]


def surface() -> str:
    """The public surface of :data:`MODULES` as text, one name per line (members indented below their class)."""
    lines: list[str] = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        lines.append(f"[{module_name}]")
        for name in sorted(getattr(module, "__all__", ())):
            lines.extend("  " + line for line in _entry(name, getattr(module, name)))
        lines.append("")
    return "\n".join(lines)


def test_public_api_matches_the_snapshot() -> None:
    now = surface()
    saved = SNAPSHOT.read_text() if SNAPSHOT.is_file() else ""
    if now != saved:
        diff = "\n".join(difflib.unified_diff(saved.splitlines(), now.splitlines(), "api_surface.txt (saved)",
                                              "the package now", lineterm="", n=1))
        raise AssertionError(f"the public API changed:\n{diff}\n\nIf that is meant, regenerate the snapshot and "
                             f"commit it: {UPDATE}")


def test_every_public_name_exists() -> None:
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
        assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


if __name__ == "__main__":
    SNAPSHOT.write_text(surface())
    print(f"wrote {SNAPSHOT} ({len(SNAPSHOT.read_text().splitlines())} lines)", file=sys.stderr)
