"""The package's layers, enforced: a module imports only from its own layer or the layers below it.

Function-level imports count too — hiding an upward import inside a function is how the old cycles
(cli → pipeline → models → report → evaluation → cli) stayed invisible at run time.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import daigt

SRC = Path(__file__).resolve().parents[1] / "src"

# lowest first; a pattern ending in ".*" covers a package and everything in it
LAYERS = [
    ("foundation", ["daigt", "daigt._version", "daigt.config", "daigt.errors", "daigt.io", "daigt.parallel", "daigt.stages",
                    "daigt.extras"]),
    ("data", ["daigt.data", "daigt.augment", "daigt.folds", "daigt.submission"]),
    ("tokenizer", ["daigt.tokenizer"]),
    ("features and members", ["daigt.features", "daigt.style", "daigt.lm", "daigt.transformer.*"]),
    ("models and blend", ["daigt.models", "daigt.stacking", "daigt.blend"]),
    ("pipeline", ["daigt.pipeline"]),
    ("evaluation", ["daigt.evaluation.*", "daigt.rehearsal"]),
    ("presentation", ["daigt.report"]),
    ("command line", ["daigt.cli.*", "daigt.__main__"]),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    for rank, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if module == pattern or (pattern.endswith(".*") and (module + ".").startswith(pattern[:-1])):
                return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


def imported_modules(path: Path) -> set[str]:
    """Every daigt module a file imports, at any depth of the file (function bodies included)."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "daigt" or name.startswith(("daigt.", "daigt_"))}


def known(name: str) -> bool:
    return (SRC / Path(*name.split("."))).with_suffix(".py").exists() or (SRC / Path(*name.split("."))).is_dir()


LIBRARY = sorted(p for p in (SRC / "daigt").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: module_name(p))
def test_imports_point_down(path):
    module = module_name(path)
    rank = layer_of(module)
    for name in imported_modules(path):
        assert not name.startswith("daigt_"), f"{module} imports {name}: the Kaggle tooling sits beside the library"
        if not known(name):  # `from daigt.x import function`
            continue
        assert layer_of(name) <= rank, (
            f"{module} ({LAYERS[rank][0]}) imports {name} ({LAYERS[layer_of(name)][0]}): layers point down only"
        )


def test_no_import_cycles():
    graph = {module_name(p): {n for n in imported_modules(p) if known(n)} - {module_name(p)} for p in LIBRARY}
    done, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError("import cycle: " + " → ".join(stack[stack.index(node):] + [node]))
        if node in done:
            return
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if child != "daigt":  # the package __init__ only re-exports the version
                visit(child)
        stack.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


def test_library_imports_no_command_line():
    """The layers run one way: importing the library loads no daigt.cli module and no daigt module that parses
    arguments (argparse is the command line's; some third-party packages import it themselves)."""
    code = ("import json, sys, daigt.pipeline, daigt.evaluation, daigt.rehearsal, daigt.report, daigt.stacking\n"
            "print(json.dumps({m: getattr(sys.modules[m], '__file__', None) for m in sys.modules if m.startswith('daigt')}))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert "daigt.evaluation.protocol" in loaded and "daigt.pipeline" in loaded
    assert [m for m in loaded if m.startswith("daigt.cli")] == []
    assert [m for m, path in loaded.items() if path and "argparse" in Path(path).read_text()] == []


COMMAND_LINE = ("cli", "__main__.py")
"""daigt.cli, the ``python -m daigt`` entry point, and the Kaggle tooling (leaving the package for its own)."""


def test_no_library_module_imports_argparse_or_the_command_line():
    root = Path(daigt.__file__).parent
    pattern = re.compile(r"^\s*(import argparse|from argparse |from daigt\.cli|import daigt\.cli)", re.M)
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.relative_to(root).parts[0] not in COMMAND_LINE and pattern.search(p.read_text())]
    assert offenders == []
