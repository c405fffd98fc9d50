"""The table every benchmark prints: one row per measure, trackboard beside its baseline.

The scripts in this folder run as ``python benchmarks/bench_X.py``, so this module is imported by
its plain name.
"""

from __future__ import annotations

import time

ns = time.perf_counter_ns

ROWS: list[tuple[str, str, str, str, str]] = []
HEADERS = ("measure", "trackboard", "baseline", "ratio / target", "pass")


def row(measure: str, ours: str, baseline: str = "", ratio: str = "", ok: bool | None = None) -> None:
    """Add a row; ``ok`` None means "no target for this one"."""
    ROWS.append((measure, ours, baseline, ratio, "" if ok is None else ("yes" if ok else "NO")))


def us(nanos: float) -> str:
    return f"{nanos / 1e3:.2f} us"


def ms(nanos: float) -> str:
    return f"{nanos / 1e6:.1f} ms" if nanos < 1e10 else f"{nanos / 1e9:.2f} s"


def rate(points: float) -> str:
    return f"{points:,.0f} pts/s"


def print_grid(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns under a header and a rule."""
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def print_table() -> None:
    print_grid(HEADERS, ROWS)
