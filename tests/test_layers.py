"""The packages form floors (issue 13): each imports only packages on floors below it, and nothing imports hub/.

Every import counts: at module top, under `TYPE_CHECKING`, and inside functions. A failure names the file, the
line and the import that goes up (or sideways), so the fix is obvious. The order is the one docs/architecture.md
draws; packages on the same floor (simulators and ingest) may not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLOORS = {"devices": 0, "simulators": 1, "ingest": 1, "alerts": 2, "dispatch": 3, "dashboard": 4, "hub": 5}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) of every absolute import in one file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in FLOORS]
    return found


def upward_imports(root: Path) -> list[str]:
    """Every import from a package to one on its own floor or above, as 'file:line imports module'."""
    bad = []
    for package, floor in FLOORS.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_packages(path):
                target = module.split(".")[0]
                if target != package and FLOORS[target] >= floor:
                    bad.append(f"{path.relative_to(root)}:{line} imports {module} "
                               f"({package} is floor {floor}, {target} is floor {FLOORS[target]})")
    return bad


def test_no_package_imports_upward_or_sideways() -> None:
    bad = upward_imports(REPO)
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_every_top_level_package_has_a_floor() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(FLOORS)


@pytest.mark.parametrize("snippet", [
    "import hub.app\n",
    "def f():\n    from hub.settings import Settings\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dispatch.desk import Desk\n",
])
def test_the_check_catches_an_upward_import(tmp_path: Path, snippet: str) -> None:
    for package in FLOORS:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "alerts" / "sneaky.py").write_text(snippet)
    bad = upward_imports(tmp_path)
    assert len(bad) == 1 and bad[0].startswith("alerts/sneaky.py:")
