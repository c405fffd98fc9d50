"""The one compiled module, trackboard._plain (the per-point type checks of log(), see core/_plain.c);
everything else about the package is in pyproject.toml. A C compiler and the Python headers build it."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("trackboard._plain", ["core/_plain.c"])])
