"""A fresh virtual environment: `pip install .`, then `messages-sandbox serve` from elsewhere."""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with the package installed from this checkout (dependencies from the venv
    running the tests, on its path through a .pth file: the base Python has none of them)."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    own_site = next(home.glob("lib/python*/site-packages"))
    (own_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [home / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
        check=True,
        timeout=300,
    )
    return home


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
