"""The import contracts (.importlinter) hold, and they do catch an import that points upwards.

`make lint` runs lint-imports on the tree itself; these tests run it on a copy of the tree with
one bad import added, so a contract that stopped catching anything would fail here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("procto", "accounts", "exams", "sessions", "proctoring")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the apps' Python files and the contracts, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.html", "*.js", "*.css", "*.json"),
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / ".importlinter")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
    )


def add_import(module: Path, line: str) -> None:
    module.write_text(module.read_text() + f"\n{line}  # noqa\n")


def test_the_contracts_hold_on_the_tree_as_it_is(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_lower_app_importing_a_higher_one_breaks_the_layers(tree):
    add_import(tree / "exams" / "selectors.py", "from proctoring import models")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "exams is not allowed to import proctoring" in result.stdout
    assert "exams.selectors -> proctoring.models" in result.stdout


def test_the_core_importing_an_app_breaks_the_layers(tree):
    add_import(tree / "procto" / "errors.py", "from accounts import models")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "procto is not allowed to import accounts" in result.stdout


def test_a_detector_importing_django_breaks_the_leaf_contract(tree):
    add_import(tree / "proctoring" / "detectors" / "audio.py", "from django.conf import settings")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "proctoring.detectors is not allowed to import django" in result.stdout
    assert "proctoring.detectors.audio -> django" in result.stdout


def test_every_layer_may_use_the_detectors(tree):
    # accounts' identity check does; a new use from the bottom layer is allowed too.
    add_import(tree / "procto" / "errors.py", "from proctoring.detectors import faces")
    assert lint_imports(tree).returncode == 0


def test_an_import_cycle_inside_an_app_breaks_the_acyclic_contract(tree):
    # exams.services imports exams.models; the reverse closes a cycle.
    add_import(tree / "exams" / "models.py", "from exams import services")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "No import cycles between the modules of an app BROKEN" in result.stdout
