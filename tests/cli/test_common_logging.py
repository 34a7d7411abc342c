"""The CLI's log handler follows ``sys.stderr``: a runner that swaps and closes stderr per invocation must not leave
a handler pointing at a closed stream (it printed "--- Logging error --- I/O operation on closed file")."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from facemotion.cli._common import setup_logging


def test_log_lines_go_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging(False)
    logging.getLogger("facemotion.test").info("one")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("facemotion.test").info("two")
    logging.getLogger("facemotion.test").debug("hidden without -v")
    assert second.getvalue() == "two\n"
