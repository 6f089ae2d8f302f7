"""The two layers, read from the source: the core never imports the book layer, and no module
imports a private name from a sibling (shared internals live in ``ggd_tutorial._utils``)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import ggd_tutorial

PACKAGE = Path(ggd_tutorial.__file__).parent
#: Deprecated aliases of moved book modules: the only top-level files allowed to name the book.
SHIMS = {"experiments.py", "levels.py", "plotting.py", "exercises.py", "comparison.py", "_moved.py"}


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) for every import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            out.append((module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name, [], node.lineno) for a in node.names)
    return out


def _violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        rel = path.relative_to(PACKAGE.parent)
        in_core = path.parent == PACKAGE and path.name not in SHIMS
        for module, names, line in _imports(path):
            if in_core and module.startswith("ggd_tutorial.book"):
                found.append(f"{rel}:{line}: the core imports the book layer ({module})")
            if in_core and any("ggd_tutorial.book" == f"{module}.{n}" for n in names):
                found.append(f"{rel}:{line}: the core imports the book layer (from {module} import book)")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if module.startswith("ggd_tutorial") and private and not module.endswith("._utils"):
                found.append(f"{rel}:{line}: private names {private} imported from {module}")
    return found


def test_the_core_never_imports_the_book_layer_and_no_module_imports_a_siblings_private_name():
    assert _violations(sorted(PACKAGE.rglob("*.py"))) == []


def test_the_rules_catch_a_violation(tmp_path):
    """Negative control: a core module importing the book layer and a private name is flagged."""
    bad = PACKAGE / "_layout_probe.py"
    bad.write_text("from .book import levels\nfrom .data import _grid\nfrom ._utils import model_dtype_device\n")
    try:
        found = _violations([bad])
    finally:
        bad.unlink()
    assert len(found) == 2 and "book layer" in found[0] and "_grid" in found[1]


def test_public_surface_is_declared_and_resolves():
    assert "fit" in ggd_tutorial.__all__ and "__version__" in ggd_tutorial.__all__
    for name in ggd_tutorial.__all__:
        assert getattr(ggd_tutorial, name) is not None, name
    assert ggd_tutorial.__version__.count(".") >= 2


@pytest.mark.parametrize(
    "old, new",
    [
        ("experiments", "experiments"),
        ("levels", "levels"),
        ("exercises", "exercises"),
        ("plotting", "plotting"),
        ("comparison", "studies"),
    ],
)
def test_old_import_paths_still_work_with_a_deprecation_warning(old, new):
    import importlib
    import sys

    sys.modules.pop(f"ggd_tutorial.{old}", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(f"ggd_tutorial.{old}")
    assert module is importlib.import_module(f"ggd_tutorial.book.{new}")
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message) for w in caught)
