"""The command line's layout (Typer's one file per command): imports of ``cli/*.py`` go one way, nothing imports
``cli.main``, and importing ``cli.main`` alone gives the whole app."""

from __future__ import annotations

import ast
from pathlib import Path

import typer.main

import facemotion.cli

CLI = Path(facemotion.cli.__file__).parent
COMMANDS = ["models", "train", "evaluate", "export", "predict", "download-models", "video", "webcam", "serve",
            "batch", "export-web"]


def _cli_imports() -> dict[str, set[str]]:
    """``{module: the facemotion.cli modules it imports}`` for every file of ``cli/``, from its syntax tree (imports
    inside functions included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(CLI.glob("*.py")):
        name = f"facemotion.cli.{path.stem}" if path.stem != "__init__" else "facemotion.cli"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "facemotion.cli":
                    found |= {f"facemotion.cli.{alias.name}" for alias in node.names}
                elif node.module.startswith("facemotion.cli."):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("facemotion.cli.")}
        graph[name] = found - {name}
    return graph


def test_no_module_imports_main_and_there_is_no_cycle() -> None:
    graph = _cli_imports()
    assert "facemotion.cli.main" in graph and "facemotion.cli.app" in graph
    importers = sorted(m for m, deps in graph.items() if "facemotion.cli.main" in deps)
    assert importers == [], f"{importers} import cli.main: commands take fail/logging from cli._common"
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            assert state.get(dep) != "open", f"import cycle: {' -> '.join([*path, module, dep])}"
            if dep not in state:
                visit(dep, [*path, module])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_the_real_app_has_every_command_once_imported() -> None:
    from facemotion.cli.main import app

    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(COMMANDS)  # type: ignore[attr-defined]
    assert group.list_commands(None) == COMMANDS  # type: ignore[attr-defined,arg-type]  (--help's order)


def test_every_command_maps_errors_through_the_common_context() -> None:
    """No command writes its own except-chain from errors to exit codes: ``exit_on_error`` in cli/_common does it
    (an ``except`` whose body calls ``fail``, or one catching Ctrl-C, is such a chain; a missing extra is not)."""
    for path in CLI.glob("*.py"):
        if path.stem in ("_common", "_ddp_worker"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ExceptHandler) or "ImportError" in ast.unparse(node.type or ast.Name("")):
                continue  # a missing extra is named where it is imported
            calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            assert not calls & {"fail", "_fail"}, f"{path.name}:{node.lineno}"
            assert "KeyboardInterrupt" not in ast.unparse(node.type or ast.Name("")), f"{path.name}:{node.lineno}"
