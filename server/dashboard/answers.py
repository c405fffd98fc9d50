"""Chart answers kept by each worker, so a poll of a log that did not change since costs one query.

A live dashboard polls: every open experiment page (and every viewer of it) asks for the same
downsampled series again and again, and between two writes to a run the answer is the same.
Computing it (reading the chunks' summaries, bucketing, writing thousands of numbers as JSON) is
the dashboard's most expensive read, so its JSON text is kept here under the request's parameters
and checked against the log's version (``queries.line_log_versions``), which every write to the
run changes. A changed log is computed again, once, and replaces its old answer.

Per worker process, in memory, bounded in bytes (least recently used answers go first): nothing to
invalidate across workers, since each one checks the version in the database before using its copy.
"""

from __future__ import annotations

from typing import Callable, Hashable

from trackboard.store.kept import BoundedItems

MAX_BYTES = 16 * 1024 * 1024  # per worker: some sixty charts of ten series at a thousand buckets


class Answers:
    """JSON texts by key, each valid for one version; least recently used first out past ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._texts = BoundedItems(max_bytes)  # key -> (version, text)

    def get_or_compute(self, key: Hashable, version: Hashable, compute: Callable[[], str]) -> str:
        """The text kept for ``key`` if it was computed at ``version``, else ``compute()`` (then kept).

        Two requests that miss at once both compute: a rare duplicate is cheaper than making one wait.
        """
        kept = self._texts.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        text = compute()
        self._texts.keep(key, (version, text), len(text))
        return text

    def __len__(self) -> int:
        return len(self._texts)
