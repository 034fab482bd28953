"""Imports flow down the layers of the architecture (ARCHITECTURE.md §3).

Every module of the package is parsed (not imported) and each ``bcsc_flow`` import it
makes, at module level or inside a function, must point at the same or a lower layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "bcsc_flow"

# Higher number = higher layer. A module may import modules of the same or lower layers.
LAYERS: dict[str, int] = {
    "errors": 0,
    "frozen": 0,
    "atomic": 0,
    "sample": 1,
    "io": 1,
    "simulate": 1,
    "compensation": 2,
    "transforms": 2,
    "gates": 2,
    "logicle": 2,
    "hyperlog": 2,
    "dimensions": 2,
    "evaluation": 2,
    "fct": 2,
    "strategy": 3,
    "recipes": 3,
    "density": 3,
    "stats": 3,
    "markers": 4,
    "template": 4,
    "gatingml": 4,
    "flowjo": 4,
    "batch": 5,
    "compare": 5,
    "comparison": 5,
    "glm": 5,
    "power": 5,
    "export": 5,
    "anndata": 5,
    "sorting": 5,
    "cohorts": 5,
    "plot": 6,
    "report": 6,
    "jupyter": 1,  # HTML views: imports nothing of bcsc_flow, used by sample/strategy
    "cli": 7,
    "__init__": 8,
    "__main__": 8,
}
# simulate is a leaf beside io: it may use sample and io only, and nothing below cli imports it.
LEAF_ALLOWED = {"simulate": {"errors", "sample", "io", "simulate"}}


def _unit(module_path: Path) -> str:
    """The layer unit of a module: its sub-package, else its stem (``_x`` and ``x_y`` → ``x``)."""
    rel = module_path.relative_to(PKG)
    if len(rel.parts) > 1:
        return rel.parts[0]
    stem = rel.stem if rel.stem.startswith("__") else rel.stem.lstrip("_")
    return stem if stem in LAYERS else stem.split("_")[0]


def _targets(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("bcsc_flow")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bcsc_flow":
                found += [f"bcsc_flow.{a.name}" for a in node.names]
            elif node.module.startswith("bcsc_flow."):
                found.append(node.module)
    return found


MODULES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_flow_downward(path: Path) -> None:
    unit = _unit(path)
    assert unit in LAYERS, f"{path}: module {unit!r} has no layer; add it to LAYERS"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for target in _targets(tree):
        parts = target.split(".")
        dep = parts[1] if len(parts) > 1 else "__init__"
        if dep not in LAYERS:
            short = dep.lstrip("_")
            short = short if short in LAYERS else short.split("_")[0]
            dep = short if short in LAYERS else "__init__"  # else: a name re-exported by the root
        if (
            dep == "__init__"
            and unit != "__init__"
            and target in {"bcsc_flow", "bcsc_flow.__version__"}
        ):
            continue  # the version string is defined before anything else
        if unit in LEAF_ALLOWED:
            assert dep in LEAF_ALLOWED[unit], f"{path}: leaf {unit!r} imports {target}"
            continue
        if dep == "simulate":
            assert LAYERS[unit] >= LAYERS["cli"], f"{path}: only cli may import simulate"
            continue
        assert LAYERS[dep] <= LAYERS[unit], (
            f"{path}: layer {unit!r} ({LAYERS[unit]}) imports {target} from layer "
            f"{dep!r} ({LAYERS[dep]}); imports must flow downward"
        )


def test_package_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bcsc_flow\n"
        "heavy = [m for m in ('matplotlib', 'dask', 'anndata', 'sklearn', 'statsmodels') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import bcsc_flow pulled in: {out.stdout.strip()}"
