"""What every monitor is: ``start()`` once, then ``collect(elapsed)`` each interval on the sampler's thread.

``collect`` returns ``{log name under system/: value}``, a value being a number (one series) or
``{series name: number}`` (several series in one panel, e.g. disk read and write). A monitor whose
resource is absent (no GPU, no disk counters in this container) raises ``Unavailable`` from
``start``: it is dropped silently. Any other exception drops it with one warning.
"""

from __future__ import annotations

from typing import Union

Sample = dict[str, Union[float, dict[str, float]]]

MB = 1024 * 1024


class Unavailable(Exception):
    """The resource this monitor reads does not exist here; not a failure worth a warning."""


class Monitor:
    name = "monitor"

    def start(self) -> None:
        """Take baselines (counters to compute rates from); raise Unavailable when there is nothing to read."""

    def collect(self, elapsed: float) -> Sample:
        """The metrics since the previous call, ``elapsed`` seconds ago."""
        raise NotImplementedError

    def stop(self) -> None:
        """Release what ``start`` acquired."""


class ByteRates(Monitor):
    """MB/s of a psutil byte counter over the interval, all devices together.

    A subclass names the psutil function (``disk_io_counters``), the log under ``system/`` and
    which counter field each series is read from.
    """

    counters = ""
    log = ""
    fields: dict[str, str] = {}

    def _read(self):
        import psutil

        return getattr(psutil, self.counters)()

    def start(self) -> None:
        self._last = self._read()
        if self._last is None:  # no statistics here (some containers)
            raise Unavailable(f"no {self.name} counters")

    def collect(self, elapsed: float) -> Sample:
        now = self._read()
        before, self._last = self._last, now
        return {self.log: {series: max(getattr(now, field) - getattr(before, field), 0) / MB / elapsed
                           for series, field in self.fields.items()}}
