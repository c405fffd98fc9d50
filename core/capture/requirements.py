"""``requirements.txt``: the installed distributions as ``pip freeze`` prints them, without pip.

Read from ``importlib.metadata`` (no subprocess): ``name==version``, sorted case-insensitively;
a distribution installed from version control or a local path is written as pip would write it
(``name @ git+URL@commit``, ``-e PATH``), so ``pip install -r requirements.txt`` rebuilds it.
"""

from __future__ import annotations

import json
from importlib import metadata
from urllib.parse import unquote, urlsplit


def freeze() -> str:
    """The requirements of this interpreter, one line each.

    >>> "numpy==" in freeze()
    True
    """
    lines: dict[str, str] = {}
    for dist in metadata.distributions():
        name, version = _name_version(dist)
        key = (name or "").lower().replace("_", "-")
        if not name or key in lines:  # the first on sys.path wins, as it does for imports
            continue
        lines[key] = _line(name, version, dist.read_text("direct_url.json"))
    return "".join(lines[key] + "\n" for key in sorted(lines))


def _name_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """Name and version from the metadata's first lines: ``dist.metadata`` parses the whole file
    as an e-mail message, twenty times slower, for a few hundred distributions."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.split("\n", 30)[:30]:
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            return name, version
    return dist.metadata["Name"], dist.version


def _line(name: str, version: str, direct_url: str | None) -> str:
    """
    >>> _line("trackboard", "0.1.0", '{"url": "file:///src/tb", "dir_info": {"editable": true}}')
    '# Editable install with no version control (trackboard==0.1.0)\\n-e /src/tb'
    """
    if direct_url:
        try:
            info = json.loads(direct_url)
            url = info["url"]
        except (ValueError, KeyError, TypeError):
            return f"{name}=={version}"
        vcs = info.get("vcs_info")
        if vcs:
            return f"{name} @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
        if info.get("dir_info", {}).get("editable"):
            path = unquote(urlsplit(url).path) if url.startswith("file:") else url
            return f"# Editable install with no version control ({name}=={version})\n-e {path}"
        if not url.startswith("file:"):
            return f"{name} @ {url}"
    return f"{name}=={version}"
