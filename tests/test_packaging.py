"""Packaging: every package directory of the checkout ships in the wheel under its mapped name.

The directories are renamed (core/ -> trackboard, callbacks/ -> trackboard.callbacks, server/ ->
trackboard.server) and the packages are listed by hand in pyproject.toml. The editable install
used for development finds any directory, so a package missing from the list only shows up in
the built wheel: these tests check the list, then build the wheel and look inside it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
from wheel_build import ROOT, SOURCE_DIRS, build_wheel


def setuptools_config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def package_dirs() -> dict[str, str]:
    """Import name -> directory, from [tool.setuptools] package-dir."""
    return setuptools_config()["package-dir"]


def package_name(directory: Path) -> str:
    """The import name a checkout directory (relative to the root) is shipped under."""
    rel = directory.as_posix()
    best = None
    for name, mapped in package_dirs().items():
        mapped = mapped.rstrip("/")
        if rel == mapped or rel.startswith(mapped + "/"):
            if best is None or len(mapped) > len(best[1]):
                best = (name, mapped)
    assert best is not None, f"{rel} is not under any package-dir mapping"
    name, mapped = best
    rest = rel[len(mapped):].strip("/")
    return name + ("." + rest.replace("/", ".") if rest else "")


def source_files(pattern: str = "*.py") -> list[Path]:
    out = []
    for top in SOURCE_DIRS:
        for path in (ROOT / top).rglob(pattern):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            out.append(path.relative_to(ROOT))
    return sorted(out)


def test_every_source_directory_is_mapped():
    mapped = {d.rstrip("/") for d in package_dirs().values()}
    for top in SOURCE_DIRS:
        assert top in mapped, f"{top}/ has no package-dir entry"


def test_every_package_directory_is_listed():
    listed = set(setuptools_config()["packages"])
    missing = []
    for top in SOURCE_DIRS:
        for init in (ROOT / top).rglob("__init__.py"):
            directory = init.parent.relative_to(ROOT)
            if "__pycache__" not in directory.parts and package_name(directory) not in listed:
                missing.append(f"{directory}/ -> {package_name(directory)}")
    assert not missing, f"package directories missing from [tool.setuptools] packages: {missing}"


def test_every_directory_with_modules_is_listed():
    """A directory of modules without __init__.py (a namespace package) must be listed too."""
    listed = set(setuptools_config()["packages"])
    missing = sorted({f"{p.parent}/ -> {package_name(p.parent)}" for p in source_files()
                      if package_name(p.parent) not in listed})
    assert not missing, f"directories with modules missing from [tool.setuptools] packages: {missing}"


def test_every_listed_package_exists():
    dirs = package_dirs()
    for name in setuptools_config()["packages"]:
        base = max((n for n in dirs if name == n or name.startswith(n + ".")), key=len)
        directory = ROOT / dirs[base] / name[len(base):].lstrip(".").replace(".", "/")
        assert directory.is_dir(), f"{name} is listed but {directory.relative_to(ROOT)} does not exist"


# -- the built wheel ----------------------------------------------------------------------------

needs_build = pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="the 'build' package is missing")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources (the checkout gets no build/ or egg-info)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is missing")
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def shipped_path(path: Path) -> str:
    return package_name(path.parent).replace(".", "/") + "/" + path.name


@pytest.mark.slow
@needs_build
def test_wheel_contains_every_module(wheel):
    names = wheel_names(wheel)
    missing = [f"{p} -> {shipped_path(p)}" for p in source_files() if shipped_path(p) not in names]
    assert not missing, f"modules missing from {wheel.name}: {missing}"
    assert not [n for n in names if n.startswith(("core/", "callbacks/", "server/"))], "unmapped names in the wheel"


@pytest.mark.slow
@needs_build
def test_wheel_contains_package_data(wheel):
    """py.typed, and the server's templates and static files, ship too."""
    names = wheel_names(wheel)
    data = [p for p in source_files("*") if p.suffix not in (".py", ".pyc", ".c", ".so")]  # .c: compiled, below
    missing = [f"{p} -> {shipped_path(p)}" for p in data if shipped_path(p) not in names]
    assert "trackboard/py.typed" in names
    assert not missing, f"data files missing from {wheel.name}: {missing}"


@pytest.mark.slow
@needs_build
def test_wheel_holds_the_compiled_module_for_this_python(wheel):
    """trackboard._plain (core/_plain.c) is built into the wheel, which is then tagged for a platform."""
    extension = "trackboard/_plain" + sysconfig.get_config_var("EXT_SUFFIX")
    assert extension in wheel_names(wheel)
    assert not wheel.name.endswith("-none-any.whl"), wheel.name


@pytest.mark.slow
@needs_build
def test_installed_wheel_imports_every_core_module(wheel, tmp_path):
    target = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    modules = sorted({package_name(p.parent) + ("" if p.stem == "__init__" else "." + p.stem)
                      for p in source_files() if p.parts[0] == "core"})
    script = textwrap.dedent(f"""
        import importlib, sys
        sys.path.insert(0, {str(target)!r})
        import trackboard
        assert trackboard.__file__.startswith({str(target)!r}), trackboard.__file__
        failed = []
        for name in {modules!r}:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as error:
                if (error.name or "").startswith("trackboard"):
                    failed.append(f"{{name}}: {{error}}")
            except Exception as error:
                failed.append(f"{{name}}: {{type(error).__name__}}: {{error}}")
            else:
                assert module.__file__ is None or module.__file__.startswith({str(target)!r}), module.__file__
        assert not failed, failed
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
