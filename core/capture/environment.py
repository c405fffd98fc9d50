"""The ``environment`` TABLE: the machine, interpreter, command line, packages, GPUs and code version.

Environment variables are never read into it: they hold tokens and passwords. The command line
can hold them too, so the value after an option named like a secret is replaced by ``***``.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import shlex
import socket
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from .git import GitState

PACKAGES = ("trackboard", "numpy", "torch", "lightning", "pytorch-lightning", "keras", "tensorflow", "jax",
            "transformers", "accelerate", "scikit-learn")
SECRET_OPTION = re.compile(r"^--?[\w-]*(token|password|passwd|secret|api[-_]?key|credential)[\w-]*$", re.IGNORECASE)


def environment(git: GitState | None, gpus: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the experiment ran on; ``gpus`` as ``monitors.gpu.describe_gpus()`` gives them.

    >>> environment(None)["pid"] == os.getpid()
    True
    """
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "user": _user(),
        "pid": os.getpid(),
        "argv": shlex.join(redact_argv(sys.argv)),
        "cwd": os.getcwd(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "versions": versions(),
    }
    env.update(_cuda())
    if gpus:
        env["gpu"] = {"count": len(gpus), "names": [gpu["name"] for gpu in gpus],
                      "driver": gpus[0].get("driver")}
    if git is not None:
        env["git"] = {"commit": git.commit, "branch": git.branch, "remote": git.remote, "dirty": git.dirty}
    return _without_none(env)


def versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """The installed version of each of ``names`` that is installed (read without importing it)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def redact_argv(argv: list[str]) -> list[str]:
    """``argv`` with the values of secret-looking options hidden.

    >>> redact_argv(["train.py", "--api-token", "abc", "--lr=0.1", "--password=x"])
    ['train.py', '--api-token', '***', '--lr=0.1', '--password=***']
    """
    out, hide_next = [], False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        option, eq, _ = arg.partition("=")
        if SECRET_OPTION.match(option):
            if eq:
                out.append(f"{option}=***")
            else:
                out.append(arg)
                hide_next = True
        else:
            out.append(arg)
    return out


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (some containers)
        return None


def _cuda() -> dict[str, Any]:
    """CUDA and cuDNN versions of an already imported torch (never imported here: it takes seconds).

    Reading them creates no CUDA context and synchronises nothing.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    out: dict[str, Any] = {}
    try:
        out["cuda"] = torch.version.cuda
        if torch.version.cuda and torch.backends.cudnn.is_available():
            out["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001 - an unusual torch build: just less information
        pass
    return out


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """A TABLE holds scalars, not None: drop what is unknown."""
    return {key: _without_none(value) if isinstance(value, dict) else value
            for key, value in data.items() if value is not None}
