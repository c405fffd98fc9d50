"""The code version: commit, branch, remote and uncommitted changes of the script's git work tree.

Read by running ``git`` (no library needed): each call has a timeout and any failure (no git, not
a work tree, a hung file system) means "no git information", silently. ``GIT_OPTIONAL_LOCKS=0``
keeps ``git status`` from taking the index lock the user's own git commands may need meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TIMEOUT_S = 5.0
DIFF_LIMIT_BYTES = 1_000_000  # diff.patch is capped: a run's record is not a backup of the tree


@dataclass(frozen=True)
class GitState:
    root: str
    commit: str | None  # None before the first commit
    branch: str | None  # None when detached
    remote: str | None
    dirty: bool


def script_directory() -> Path:
    """Where the running script lives (its work tree is the code that ran), else the cwd."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        directory = Path(path).resolve().parent
        if directory.is_dir():
            return directory
    return Path.cwd()


def _git(directory: Path, *args: str, limit: int | None = None) -> bytes | None:
    """stdout of ``git args`` in ``directory``, or None on any failure (at most ``limit`` + 1 bytes)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        if limit is None:
            done = subprocess.run(["git", *args], cwd=directory, env=env, capture_output=True,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            return done.stdout if done.returncode == 0 else None
        # A diff can be huge: read no more than the cap, then stop git.
        with subprocess.Popen(["git", *args], cwd=directory, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL) as process:
            out = process.stdout.read(limit + 1)
            if len(out) > limit:
                process.kill()
                return out
            process.wait(TIMEOUT_S)
            return out if process.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def git_state(directory: str | os.PathLike | None = None) -> GitState | None:
    """The work tree containing ``directory`` (default: the script's), or None outside one.

    >>> git_state("/") is None or isinstance(git_state("/"), GitState)
    True
    """
    where = Path(directory) if directory is not None else script_directory()
    root = _git(where, "rev-parse", "--show-toplevel")
    if root is None:
        return None
    status = _git(where, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:
        return None
    commit = branch = None
    dirty = False
    for line in status.decode("utf-8", "replace").splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split(" ", 2)[2]
        elif line.startswith("# branch.head "):
            branch = line.split(" ", 2)[2]
        elif line and not line.startswith("#"):
            dirty = True  # a changed tracked file; untracked files are not the code that ran
    return GitState(
        root=root.decode("utf-8", "replace").strip(),
        commit=None if commit in (None, "(initial)") else commit,
        branch=None if branch in (None, "(detached)") else branch,
        remote=_remote(where),
        dirty=dirty,
    )


def _remote(directory: Path) -> str | None:
    out = _git(directory, "config", "--get-regexp", r"^remote\..*\.url$")
    if not out:
        return None
    urls = dict(line.split(" ", 1) for line in out.decode("utf-8", "replace").splitlines() if " " in line)
    url = urls.get("remote.origin.url") or next(iter(urls.values()), None)
    return None if url is None else strip_credentials(url)


def strip_credentials(url: str) -> str:
    """``url`` without the user name and password a clone URL may carry (tokens often sit there).

    >>> strip_credentials("https://user:ghp_secret@github.com/org/repo.git")
    'https://github.com/org/repo.git'
    >>> strip_credentials("git@github.com:org/repo.git")
    'git@github.com:org/repo.git'
    """
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url  # scp-like "git@host:path": the user is a login name, never a secret
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def diff(state: GitState, limit: int = DIFF_LIMIT_BYTES) -> bytes | None:
    """The uncommitted changes of tracked files against HEAD, as a patch ``git apply`` takes.

    A patch over ``limit`` bytes is cut there, with a last line saying so.
    """
    if state.commit is None:
        return None
    out = _git(Path(state.root), "diff", "HEAD", "--no-color", "--no-ext-diff", "--binary", limit=limit)
    if not out:
        return None
    if len(out) > limit:
        out = out[:limit] + f"\n# trackboard: diff truncated at {limit} bytes\n".encode()
    return out
