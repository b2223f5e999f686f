"""A real (non-editable) `pip install .` ships every module and data file of the tree: packages are
found at build time, so a new subpackage cannot be left out of a hand-written list."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tma_agent.ledger.migrate import head_revision

ROOT = Path(__file__).resolve().parents[1]
# What the build reads; copied so the build never writes into (or reuses stale files from) the tree.
BUILD_INPUTS = ["pyproject.toml", "README.md", "tma_agent", "plugins"]
DATA_FILES = [
    "tma_agent/py.typed",
    "tma_agent/ledger/migrations/script.py.mako",
    "tma_agent/billing/report/templates/*.html.j2",
    # The dashboard's pages and stylesheet (tma serve).
    "tma_agent/web/templates/*.html.j2",
    "tma_agent/web/static/*",
    # The top-level playbooks/, shipped through the tma_agent/playbooks symlink.
    "tma_agent/playbooks/*.yaml",
    "tma_prestashop/*.example.json",
]


def _tree_modules() -> set[str]:
    """Every .py file an installed copy must hold, as its path inside site-packages."""
    found = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tma_agent").rglob("*.py")}
    for stack in (ROOT / "plugins").iterdir():
        found |= {p.relative_to(stack.parent).as_posix() for p in stack.rglob("*.py")}
    return {path for path in found if "__pycache__" not in path}


def _site_packages(prefix: Path) -> Path:
    paths = sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})
    return Path(paths["purelib"])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    # What `pip install .` does, in two steps so the test venv's own setuptools builds the wheel
    # (no package index needed) and the target venv needs no pip of its own.
    wheels = base / "wheels"
    options = ["--no-deps", "--no-index", "--no-cache-dir", "-q"]
    build = [sys.executable, "-m", "pip", "wheel", *options, "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheels), str(source)], check=True, cwd=base)
    target = base / "venv"
    venv.create(target, with_pip=False)
    install = [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install"]
    subprocess.run([*install, *options, *map(str, wheels.glob("*.whl"))], check=True, cwd=base)
    yield _site_packages(target)


def test_every_module_of_the_tree_is_installed(installed: Path) -> None:
    expected = _tree_modules()
    assert "tma_agent/hosts/__init__.py" in expected and "tma_npm/hooks.py" in expected
    shipped = {p.relative_to(installed).as_posix() for p in installed.glob("tma_*/**/*.py")}
    assert sorted(expected - shipped) == []
    assert sorted(shipped - expected) == []


def test_data_files_are_installed(installed: Path) -> None:
    for pattern in DATA_FILES:
        in_tree = sorted(
            p.name for where in (ROOT, ROOT / "plugins") for p in where.glob(pattern) if p.is_file()
        )
        assert in_tree, f"{pattern} matches nothing in the tree"
        assert sorted(p.name for p in installed.glob(pattern)) == in_tree


def test_the_install_is_not_editable(installed: Path) -> None:
    module = installed / "tma_agent" / "__init__.py"
    assert module.is_file() and not module.is_symlink()
    assert not list(installed.glob("__editable__*"))


def test_the_installed_package_migrates_a_ledger_from_its_own_files(
    installed: Path, tmp_path: Path
) -> None:
    """The migrations are found inside the installed package, with no alembic.ini anywhere.
    The dependencies come from the test venv (PYTHONPATH, whose .pth files, so the editable
    tree, are not loaded); tma_agent itself from the install."""
    probe = (
        "import sys, tma_agent.ledger.migrations as m\n"
        "from tma_agent.ledger import make_engine, upgrade_ledger\n"
        "print(m.__file__)\n"
        "print(upgrade_ledger(make_engine(sys.argv[1])))\n"
    )
    python = installed.parents[2] / "bin" / "python"
    deps = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [str(python), "-c", probe, f"sqlite:///{tmp_path / 'ledger.db'}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    where, migrated = result.stdout.splitlines()
    assert Path(where).is_relative_to(installed)
    assert migrated == f"(None, '{head_revision()}')"
