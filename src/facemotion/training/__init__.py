"""Training (torch): config, on-device augmentation, optimiser, loop, checkpoints and the fit() driver.

``TrainConfig`` is standard-library only and imported at once; ``fit`` and ``resume`` load torch on first use, so
the command line can build ``facemotion train``'s options from the config's fields without importing torch.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from facemotion.training.config import TrainConfig

__all__ = ["TrainConfig", "fit", "resume"]

_LAZY = ("fit", "resume")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module("facemotion.training.fit"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """The package's ``fit`` is the function, as it was when this module imported it eagerly: loading the
    submodule ``facemotion.training.fit`` must not rebind the name to the module."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
