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


def ascii_strings(items) -> bool:
    """Whether the strings among ``items`` are all ASCII, so certainly storable: the fast paths of
    the normalisers take only such data, anything else goes through ``check_text`` item by item.

    >>> ascii_strings(["loss", 1.0]), ascii_strings(["bad\\ud800"])
    (True, False)
    """
    try:  # the usual case, all strings: one join
        return "".join(items).isascii()
    except TypeError:
        return "".join([item for item in items if item.__class__ is str]).isascii()


def ascii_names(items) -> bool:
    """Whether ``items`` are all strings, and ASCII: one join and one check in C.

    >>> ascii_names(["loss", "acc"]), ascii_names(["loss", 1]), ascii_names(["bad\\ud800"])
    (True, False, False)
    """
    try:
        return "".join(items).isascii()
    except TypeError:
        return False
