"""The one check every stored string passes: text the stores can keep.

A lone surrogate (``"bad\\ud800"``, which JSON's ``\\ud800`` escape produces) cannot be encoded
as UTF-8, so neither SQLite nor PostgreSQL can store it, nor can a JSON answer carry it. NUL
cannot be kept in a PostgreSQL text column, so names (which are columns) refuse it too; inside
log data it is kept (JSON text escapes it).
"""

from __future__ import annotations

import re

from ..errors import InvalidLogError

_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str, *, nul: bool = True) -> str:
    """``text`` if it can be stored (``nul=False``: and has no NUL), else InvalidLogError naming ``what``.

    >>> check_text("loss", "a log name")
    'loss'
    """
    if text.isascii():
        if nul or "\x00" not in text:
            return text
        raise InvalidLogError(f"{what} must not contain NUL characters")
    found = _SURROGATE.search(text)
    if found is not None:
        raise InvalidLogError(f"{what} holds a lone surrogate {found.group()!r} at position {found.start()}, "
                              "which is not text that can be stored (encode it as UTF-8 first)")
    if not nul and "\x00" in text:
        raise InvalidLogError(f"{what} must not contain NUL characters")
    return text
