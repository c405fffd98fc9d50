"""``pip install trackboard`` with no extras: the logger and the CLI work without torch, FastAPI or a framework.

The virtual environment holds exactly the core's dependencies (numpy, requests, SQLAlchemy and
what they need), linked from this interpreter's environment so the test runs offline and fast,
and the wheel built from this checkout, installed with ``--no-deps``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from wheel_build import build_wheel

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The core's dependencies (pyproject's [project] dependencies) and theirs.
CORE_DISTRIBUTIONS = ("numpy", "requests", "charset-normalizer", "idna", "urllib3", "certifi",
                      "SQLAlchemy", "greenlet", "typing_extensions", "alembic", "Mako", "MarkupSafe",
                      "psutil", "nvidia-ml-py", "isal")


def link_distribution(name: str, site: Path) -> None:
    """Make distribution ``name`` importable in ``site``: its top-level files and metadata, as symlinks."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return  # optional here (greenlet has no wheel on some platforms)
    tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
    for top in tops:
        source = Path(dist.locate_file(top))
        if source.exists() and not (site / top).exists() and top != "__pycache__" and not top.endswith(".pth"):
            (site / top).symlink_to(source)


@pytest.fixture(scope="module")
def core_only_venv(tmp_path_factory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is missing")
    work = tmp_path_factory.mktemp("core-only")
    wheel = build_wheel(work)

    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for name in CORE_DISTRIBUTIONS:
        link_distribution(name, site)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                                "--quiet", str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env_dir


def run(env_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKBOARD_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_core_install_logs_and_runs_the_cli_without_any_extra(core_only_venv, tmp_path):
    python = str(core_only_venv / "bin" / "python")
    absent = run(core_only_venv, python, "-c",
                 "import importlib.util as u; print([m for m in ('torch', 'fastapi', 'uvicorn', 'lightning', 'keras', "
                 "'transformers', 'PIL', 'plotly') if u.find_spec(m)])", cwd=tmp_path)
    assert absent.returncode == 0 and absent.stdout.strip() == "[]", absent.stdout + absent.stderr

    version = run(core_only_venv, "trackboard", "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("trackboard "), version.stderr

    snippet = README.split("## Using it\n\n```python\n", 1)[1].split("```", 1)[0]  # the README's first snippet
    for _ in range(2):
        logged = run(core_only_venv, python, "-c", snippet, cwd=tmp_path)
        assert logged.returncode == 0, logged.stderr[-3000:]
    listed = run(core_only_venv, "trackboard", "ls", cwd=tmp_path)
    assert listed.returncode == 0 and "My awesome Project" in listed.stdout, listed.stderr
    runs = run(core_only_venv, python, "-c", "from trackboard import Client; "
               "print(len(Client().get_project('My awesome Project').list_experiments()))", cwd=tmp_path)
    assert runs.stdout.strip() == "2", runs.stderr

    ui = run(core_only_venv, "trackboard", "ui", cwd=tmp_path)
    assert ui.returncode == 1 and ui.stderr.strip().count("\n") == 0, ui.stderr
    assert "pip install 'trackboard[server]'" in ui.stderr
