"""What every command shares: failing with an exit code, logging set-up, the error-to-exit-code mapping, and the
checks made before anything is written (outputs that would destroy inputs, thread counts).

Only the standard library and typer are imported here, so ``facemotion --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, Optional, TextIO

import typer

from facemotion.cpus import usable_cpus
from facemotion.defaults import DETECTORS
from facemotion.errors import FacemotionError
from facemotion.tiers import PACKAGED_MODELS

__all__ = ["CPU_COUNT", "MODEL_HELP", "DETECTOR_HELP", "fail", "warn", "setup_logging", "exit_on_error",
           "describe_os_error", "same_file", "check_outputs", "deprecated_alias"]

CPU_COUNT: int = usable_cpus()
"""The CPUs this process may run on: thread options are capped here, since more threads only contend."""

MODEL_HELP = f"Classifier: {', '.join(PACKAGED_MODELS)}, or a path to an .onnx file."
"""The ``--model`` help of every command that runs a classifier."""

DETECTOR_HELP = f"Face detector: {', '.join(DETECTORS)} (auto: YuNet if its model is found, else Haar)."
"""The ``--detector`` help of every command that finds faces."""


def fail(message: str, code: int = 2) -> NoReturn:
    """``error: MESSAGE`` on stderr and exit with ``code`` (2: a bad option, input or model)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """``warning: MESSAGE`` on stderr; the command goes on."""
    typer.echo(f"warning: {message}", err=True)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged, not when the handler was made: a test runner
    swaps stderr per invocation and closes the old one, and a library call logging later must not hit it."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def require_torch(command: str) -> None:
    """Stop ``command`` with the install line when torch, which it needs and the inference install lacks, is not
    there, instead of a ModuleNotFoundError traceback from deep inside it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        fail(f"{command} needs torch, which the inference install leaves out: pip install 'facemotion[train]'")


def setup_logging(verbose: bool = False) -> None:
    """facemotion's own messages on stderr, debug lines with ``verbose``; other libraries' loggers are left alone
    (a root logger at DEBUG would print Pillow's PNG chunk chatter). Safe to call once per command invocation."""
    logger = logging.getLogger("facemotion")
    for handler in [h for h in logger.handlers if getattr(h, "_facemotion_cli", False)]:
        logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._facemotion_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)


def describe_os_error(exc: OSError, fallback: object = "") -> str:
    """``FILE: reason`` of an ``OSError`` (``fallback`` names the file when the error does not)."""
    return f"{exc.filename or fallback or ''}: {exc.strerror or exc}".lstrip(": ")


@contextmanager
def exit_on_error(*, codes: Optional[Mapping[type[Exception], int]] = None,
                  also: tuple[type[Exception], ...] = (),
                  os_error: Optional[Callable[[OSError], str]] = None,
                  interrupted: str = "interrupted") -> Iterator[None]:
    """Turn the errors a user can cause into ``error: ...`` and an exit code, never a traceback.

    A ``FacemotionError`` (or one of ``also``) exits 2, or the code ``codes`` gives its class (``{VideoError: 1}``);
    an ``OSError`` exits 2 with ``os_error(exc)`` when ``os_error`` is given (else it propagates); Ctrl-C exits 130
    with ``interrupted``. A ``typer.Exit`` raised inside passes through.
    """
    try:
        yield
    except (FacemotionError, *also) as exc:
        code = next((c for kind, c in (codes or {}).items() if isinstance(exc, kind)), 2)
        fail(str(exc), code=code)
    except OSError as exc:
        if os_error is None:
            raise
        fail(os_error(exc))
    except KeyboardInterrupt:
        fail(interrupted, code=130)


def deprecated_alias(new: str, old: str, value: object, alias_value: object, *, empty: object = None) -> object:
    """The value of option ``new`` given (maybe) under its old spelling ``old``: warns once when ``old`` was used, and
    refuses both at once. ``empty`` is what an option not given holds (None, or an empty list when repeated)."""
    if alias_value == empty or alias_value is None:
        return value
    if value != empty and value is not None:
        fail(f"{old} is the old spelling of {new}; give {new} only")
    warn(f"{old} is deprecated and will be removed in the next release; use {new}")
    return alias_value


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path (through symlinks) or the same inode (hard links)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Mapping[str, Optional[Path]], inputs: Iterable[Path]) -> None:
    """Refuse, before anything is written, an output file that is a folder, an input, or another output.

    ``outputs`` maps the option (``--csv``) to its path (None: not asked for; ``-``: stdout). Opening an output
    truncates it, so ``video talk.mp4 --csv talk.mp4`` would destroy the recording before reading its first frame.
    """
    given = [(option, path) for option, path in outputs.items() if path is not None and str(path) != "-"]
    sources = list(inputs)
    for i, (option, path) in enumerate(given):
        if path.is_dir():
            raise FacemotionError(f"{option} {path}: is a folder; give a file name")
        for source in sources:
            if same_file(path, source):
                raise FacemotionError(f"{option} {path}: is the input {source}; writing it would destroy it, "
                                      f"choose another file")
        for other_option, other in given[:i]:
            if same_file(path, other):
                raise FacemotionError(f"{option} and {other_option} are the same file {path}; give each its own")
