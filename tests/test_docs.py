"""The documentation site builds with no warning, and the README's links into it resolve.

``mkdocs build --strict`` with the ``validation:`` settings of mkdocs.yml fails on a broken link, a missing anchor,
a page left out of the nav and an API reference (``::: facemotion...``) that no longer resolves.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _need_mkdocs() -> None:
    for name in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed (pip install -e '.[docs]')")


def test_docs_build_strict_without_warnings(tmp_path: Path) -> None:
    _need_mkdocs()
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    warnings = [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert not warnings, "\n".join(warnings)
    assert (site / "index.html").is_file()
    # the API reference really rendered the public surface from the docstrings
    api = (site / "api" / "recognizer" / "index.html").read_text(encoding="utf-8")
    assert "Recognizer" in api and "predict_batch" in api
    # the model cards' images, which live in the package, are in the site
    assert (site / "images" / "weights" / "default-confusion.png").is_file()


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert lines[2:6] == [
        "```bash",
        'python3 -m venv .venv && . .venv/bin/activate && pip install ".[demo]" && facemotion predict --demo',
        'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" && python -m pytest -q',
        "```",
    ]


def test_readme_links_resolve() -> None:
    """README is not part of the site, so its relative links (into docs/) are checked here."""
    _need_mkdocs()
    from markdown.extensions.toc import slugify

    text = README.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else README
        assert target.exists(), f"README links to {link}: no such file"
        if anchor and target.suffix == ".md" and target != README:
            page = re.sub(r"```.*?```", "", target.read_text(encoding="utf-8"), flags=re.S)
            slugs = {slugify(re.sub(r"`([^`]*)`", r"\1", h), "-") for h in re.findall(r"^#+ (.*)$", page, re.M)}
            assert anchor in slugs, f"README links to {link}: {path} has no heading #{anchor}"
