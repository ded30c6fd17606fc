"""The backend's apps import each other one way, and ``backend.runtime`` imports none (see ``backend/__init__.py``).

Imports are read from the source with :mod:`ast`, wherever they stand: at module level and inside functions
(a function-level import is still a dependency, only a later one). Names imported under
``if TYPE_CHECKING:`` are left out: that code never runs.
"""

import ast
from collections import defaultdict
from pathlib import Path

import backend
from tests.conftest import ROOT

BACKEND = ROOT / "backend"

#: The apps from the top down, as ``backend``'s docstring draws them: each may import only those after it.
LAYERS = ("viewer", "api", "serving", "jobs", "models_registry", "areas", "runtime")

#: The package every app may use and that uses no app.
RUNTIME = "runtime"


def _imports(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports, at any depth, outside ``if TYPE_CHECKING:``."""
    package = path.relative_to(ROOT).parent.parts
    names: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(), str(path))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package, one level up per extra dot
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            names.update(f"{base}.{alias.name}" for alias in node.names)  # "from backend import jobs" names jobs
        pending.extend(ast.iter_child_nodes(node))
    return names


def _package(name: str) -> str | None:
    """The backend package (an app, or ``runtime``) a dotted name lies in; None for the project and outside."""
    parts = name.split(".")
    if parts[0] != "backend" or len(parts) < 2 or not (BACKEND / parts[1]).is_dir():
        return None
    return parts[1]


def _dependencies() -> dict[str, dict[str, set[str]]]:
    """Per backend package, the packages it imports, each with the files that import it."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(BACKEND.rglob("*.py")):
        source = _package(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if source is None:
            continue  # settings, urls, asgi: the project wires every app together
        for target in filter(None, map(_package, _imports(path))):
            if target != source:
                found[source][target].add(str(path.relative_to(ROOT)))
    return found


def _path(graph: dict[str, dict[str, set[str]]], start: str, goal: str) -> list[str] | None:
    """A chain of imports from ``start`` to ``goal`` (breadth first), or None."""
    came_from: dict[str, str] = {start: start}
    queue = [start]
    for here in queue:
        for there in sorted(graph.get(here, {})):
            if there not in came_from:
                came_from[there] = here
                queue.append(there)
    if goal not in came_from:
        return None
    chain = [goal]
    while chain[-1] != start:
        chain.append(came_from[chain[-1]])
    return chain[::-1]


def test_the_reader_sees_every_import_kind():
    # The reader must see function-level and relative imports, and skip TYPE_CHECKING-only ones.
    uploads = _imports(BACKEND / "areas" / "uploads.py")
    assert "backend.runtime.runner.check_inputs_process" in uploads
    assert not any(name.startswith("backend.models_registry") for name in uploads)  # a TYPE_CHECKING import
    assert "backend.jobs.tasks.reconstruct_area" in _imports(BACKEND / "jobs" / "services.py")  # in a function


def test_backend_apps_import_each_other_without_a_loop():
    graph = _dependencies()
    loops = {
        " -> ".join([source, *chain]) + f" (the first arrow: {', '.join(sorted(files))})"
        for source, targets in graph.items()
        for target, files in targets.items()
        if (chain := _path(graph, target, source)) is not None
    }
    assert loops == set(), "apps import each other both ways:\n" + "\n".join(sorted(loops))


def test_runtime_imports_no_app():
    imported = _dependencies()[RUNTIME]
    assert dict(imported) == {}, f"backend.runtime must import no app; it imports {dict(imported)}"


def test_apps_import_only_the_layers_below_them():
    # Every app and package is in the documented order, and each import points down it.
    packages = {path.parent.name for path in BACKEND.glob("*/__init__.py")}
    assert packages == set(LAYERS), f"place the new package in LAYERS and in backend's docstring: {packages}"
    upward = [
        f"{source} imports {target} ({', '.join(sorted(files))})"
        for source, targets in _dependencies().items()
        for target, files in targets.items()
        if LAYERS.index(target) < LAYERS.index(source)
    ]
    assert upward == [], "imports going up:\n" + "\n".join(upward)
    documented = [line.split()[0] for line in (backend.__doc__ or "").splitlines() if line.startswith("    ")]
    assert [name for name in documented if name in LAYERS] == list(LAYERS)
