"""The project's own rules, checked like any other behaviour: lint, format, types, layering."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_passes():
    done = _run(str(BIN / "ruff"), "check", "reconstruction", "backend", "tests", "bench", "--output-format", "concise")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_applied_to_the_library_and_backend():
    done = _run(str(BIN / "ruff"), "format", "--check", "reconstruction", "backend")
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
