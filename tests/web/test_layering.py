"""The web app reaches the rest of calsync only through the application layer (and the
domain's value types); the composition root and the web never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import calsync

PACKAGE = Path(calsync.__file__).parent

# What the web may import: itself, the application layer, and value types / the error tree.
WEB_MAY_IMPORT = (
    "calsync.web",
    "calsync.service",
    "calsync.prefs",
    "calsync.errors",
    "calsync.model",
    "calsync.state.records",
    "calsync.text",
)


def _imports(path: Path) -> set[str]:
    """Return the calsync modules `path` imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "calsync" or m.startswith("calsync.")}


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_web_imports_only_the_application_layer_and_the_domain() -> None:
    """No store, side, engine or wiring module is imported by the web app."""
    wrong = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in _modules("web")
        for module in _imports(path)
        if not module.startswith(WEB_MAY_IMPORT)
    }
    assert wrong == set()


def test_the_application_layer_does_not_import_its_callers() -> None:
    """service/ never imports the web, the CLI, the jobs or the composition root."""
    callers = ("calsync.web", "calsync.cli", "calsync.jobs", "calsync.wiring", "calsync.demo")
    wrong = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in _modules("service")
        for module in _imports(path)
        if module.startswith(callers)
    }
    assert wrong == set()
    assert not {m for m in _imports(PACKAGE / "wiring.py") if m.startswith("calsync.web")}
