"""The project's own rules, checked like any other behaviour: lint, format, types, layering."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_passes():
    folders = ("reconstruction", "backend", "tests", "bench", "devtools")
    done = _run(str(BIN / "ruff"), "check", *folders, "--output-format", "concise")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_applied_to_the_library_backend_and_devtools():
    done = _run(str(BIN / "ruff"), "format", "--check", "reconstruction", "backend", "devtools")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_checks_the_library():
    done = _run(str(BIN / "mypy"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_library_never_imports_django_or_backend():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "reconstruction").rglob("*.py")
        if any(
            line.startswith(("import django", "from django", "import backend", "from backend"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, at any depth (relative imports left out)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _project_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_nothing_outside_tests_imports_from_tests():
    # Helpers that tests and benchmarks share live in devtools/ (processes, Chromium) or the library
    # (reconstruction.synthetic); tests/ is free to change without breaking a benchmark or the app.
    files = [ROOT / "manage.py", *_project_files("reconstruction", "backend", "bench", "devtools")]
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if any(name == "tests" or name.startswith("tests.") for name in _imported_modules(path))
    ]
    assert offenders == []


def test_only_the_web_app_benchmarks_import_the_backend():
    # bench_delivery times the backend's own publishing and serving in process, after django.setup(); the
    # other benchmarks measure the library, or the app from outside (bench_load, bench_tiles start processes).
    allowed = {"bench/bench_delivery.py"}
    importing = {
        str(path.relative_to(ROOT))
        for path in _project_files("bench")
        if any(name.split(".")[0] in ("backend", "django") for name in _imported_modules(path))
    }
    assert importing <= allowed


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_time_imports(path: Path, modules: set[str]) -> set[str]:
    """The library modules ``path`` imports while it is imported (module level, not inside functions).

    ``if TYPE_CHECKING:`` blocks are skipped (they never run). ``from package import name`` counts as
    importing ``package.name`` when that is a module, else ``package``.
    """
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return found & modules


def test_library_modules_import_each_other_without_a_loop():
    paths = {_module_name(path): path for path in (ROOT / "reconstruction").rglob("*.py")}
    graph = {name: _import_time_imports(path, set(paths)) - {name} for name, path in paths.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def walk(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert cycles == [], "import loops: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_library_modules_import_no_private_name_from_another_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} {alias.name}"
        for path in (ROOT / "reconstruction").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("reconstruction"))
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == []
