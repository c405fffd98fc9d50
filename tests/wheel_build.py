"""trackboard's wheel, built from a copy of the checkout (which so gets no build/ or egg-info)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("core", "callbacks", "server")  # mapped to trackboard, trackboard.callbacks, trackboard.server
# setup.py builds the C module (core/_plain.c); the rest is pyproject.toml's.
BUILD_FILES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in")


def build_wheel(work: Path) -> Path:
    """The wheel built in ``work`` from a copy of the checkout's sources, with this interpreter."""
    src = work / "src"
    src.mkdir()
    for name in BUILD_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.egg-info")  # *.so: an editable build's
    for top in SOURCE_DIRS:
        shutil.copytree(ROOT / top, src / top, ignore=ignore)
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    wheels = list(out.glob("trackboard-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]
