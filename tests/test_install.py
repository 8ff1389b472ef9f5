"""A fresh virtual environment: `pip install .`, then `messages-sandbox serve` from elsewhere."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A clean venv (no system site packages) with this checkout installed, dependencies too.

    pip's configured indexes and its cache supply the dependencies, so on a machine whose
    base Python holds nothing but the stdlib this is what a user's `pip install .` does.
    The test runner's own pip installs into it (``--python``): no ensurepip, a few seconds less.
    """
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False, system_site_packages=False)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(home / "bin" / "python")]
        + ["install", "-q", str(ROOT)],
        check=True,
        timeout=600,
    )
    return home


def test_installed_venv_sees_only_its_own_packages(installed):
    """Nothing leaks in from the base interpreter or the test runner's venv (pytest is in both)."""
    script = (
        "import importlib.util as u; print(u.find_spec('pytest') is None, u.find_spec('flask'))"
    )
    out = subprocess.run(
        [installed / "bin" / "python", "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("True "), out
    assert str(installed) in out, out


def test_installed_package_carries_the_spec_and_scenarios(installed, tmp_path):
    script = (
        "import sandbox.resources as r; "
        "print(r.data_dir('spec')); print(r.data_dir('scenarios')); "
        "print(sorted(p.name for p in r.data_dir('spec').iterdir()))"
    )
    out = subprocess.run(
        [installed / "bin" / "python", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert all(str(installed) in line for line in out[:2]), out
    assert "messages-olympus-0.3.1.yml" in out[2]


def test_installed_command_serves_from_any_directory(spawn, installed, tmp_path):
    process = spawn([installed / "bin" / "messages-sandbox", "serve", "--port", "0"], cwd=tmp_path)
    url = process.wait_until_healthy()
    assert url.startswith("http://127.0.0.1:")
    assert process.stop() == 0


def test_python_dash_m_works_too():
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "messages-sandbox 0.1.0" in result.stdout
