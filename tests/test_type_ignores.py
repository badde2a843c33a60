"""Every `# type: ignore` names its error code and says why (issue 13).

scripts/test runs mypy over the hub's packages with warn_unused_ignores, so an ignore there that hides nothing fails
the run; this test makes each remaining one readable: `# type: ignore[code]  # reason`. It reads the comments of
every Python file of the repository (tests and benchmarks too, which mypy does not check: an ignore there hides
nothing and has no reason to be), and a failure names the file and the line.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = {".venv", "node_modules", ".git", "build", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
IGNORE = re.compile(r"#\s*type:\s*ignore\b")
EXPLAINED = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(,\s*[a-z0-9-]+)*\]\s+#\s*\S")


def unexplained(source: str) -> list[tuple[int, str]]:
    """(line, comment) of every `type: ignore` comment without its code and a reason after it."""
    bad = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and IGNORE.search(tok.string) and not EXPLAINED.search(tok.string):
            bad.append((tok.start[0], tok.string))
    return bad


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not SKIP.intersection(p.relative_to(root).parts))


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    bad = [f"{path.relative_to(REPO)}:{line}: {comment}"
           for path in python_files(REPO) for line, comment in unexplained(path.read_text(encoding="utf-8"))]
    assert not bad, "a `# type: ignore` needs its code and a reason, `# type: ignore[code]  # why`:\n" + "\n".join(bad)


def test_the_check_reads_comments_of_the_whole_tree() -> None:
    files = {p.relative_to(REPO).parts[0] for p in python_files(REPO)}
    assert {"devices", "ingest", "alerts", "dispatch", "dashboard", "hub", "simulators", "tests", "bench"} <= files


@pytest.mark.parametrize(("snippet", "flagged"), [
    ("x = f()  # type: ignore\n", True),
    ("x = f()  # type: ignore[arg-type]\n", True),
    ("x = f()  # type:ignore[arg-type]  #\n", True),
    ("x = f()  # type: ignore  # paho's private _sock\n", True),
    ("x = f()  # type: ignore[attr-defined]  # paho's private _sock\n", False),
    ("x = f()  # type: ignore[arg-type, call-arg]  # kwargs by name\n", False),
    ("x = '# type: ignore'  # a string, not a comment\n", False),
])
def test_the_check_itself(snippet: str, flagged: bool) -> None:
    assert bool(unexplained(snippet)) is flagged
