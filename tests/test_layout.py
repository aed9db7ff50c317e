"""The house rules of the code: each package imports only floors below its own, w2v, glove and gpt never
import each other, and no command imports another command."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOORS = {"base": 0, "corpus": 1, "vectors": 2, "tabletrain": 3, "w2v": 4, "glove": 4, "gpt": 4, "study": 5,
          "bench": 6, "pipelines": 7}
SHARED_OPTIONS = {"pipelines.common", "pipelines.options"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (top-level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def project_files():
    for package in FLOORS:
        yield from ((package, path) for path in sorted((REPO / package).glob("*.py")))


def test_every_package_imports_only_floors_below_its_own():
    wrong = []
    for package, path in project_files():
        for module in imports_of(path):
            top = module.split(".")[0]
            if top in FLOORS and top != package and FLOORS[top] >= FLOORS[package]:
                wrong.append(f"{path.relative_to(REPO)} imports {module}")
    assert wrong == []


def test_no_command_imports_another_command():
    wrong = []
    for path in sorted((REPO / "pipelines").glob("*.py")):
        for module in imports_of(path):
            parts = module.split(".")
            if parts[0] == "pipelines" and len(parts) > 1 and ".".join(parts[:2]) not in SHARED_OPTIONS \
                    and parts[1] != path.stem:
                wrong.append(f"{path.name} imports {module}")
    assert wrong == []


def test_the_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from pipelines.compare import cli\n    import study.plan\n")
    assert {"pipelines.compare", "study.plan"} <= imports_of(bad)
