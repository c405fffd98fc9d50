"""Read-side objects: a Log and an Artifact as returned by an experiment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .logtype import LogType

if TYPE_CHECKING:
    from .experiment import Experiment


@dataclass
class Log:
    """One named log of an experiment: ``name``, ``type`` and its canonical ``data``."""

    name: str
    type: LogType
    experiment: "Experiment" = field(repr=False)
    _data: Any = field(default=None, repr=False)
    _loaded: bool = field(default=False, repr=False)

    @property
    def data(self) -> Any:
        if not self._loaded:
            self._data = self.experiment.get_log(self.name).data
            self._loaded = True
        return self._data

    def to_frame(self):
        """A LINE log as a pandas frame: ``step, value, time, epoch`` (``series`` first for named series)."""
        if self.type is not LogType.LINE:
            raise TypeError(f"log {self.name!r} is a {self.type.value}; to_frame() reads LINE logs")
        from .frames import line_frame

        return line_frame(self.data)

    def read_bytes(self) -> bytes:
        """The exact bytes of an IMAGE log."""
        if self.type is not LogType.IMAGE:
            raise TypeError(f"log {self.name!r} is a {self.type.value}, not an IMAGE")
        return self.experiment._backend.read_blob(self.data["sha256"])

    def download(self, target_dir: str | os.PathLike = ".") -> Path:
        """Write an IMAGE log's file into ``target_dir``; returns its path."""
        target = Path(target_dir) / Path(self.data["filename"]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.read_bytes())
        return target


@dataclass
class Artifact:
    """A file stored with an experiment."""

    name: str
    filename: str
    size: int
    sha256: str
    content_type: str
    experiment: "Experiment" = field(repr=False)

    def download(self, target_dir: str | os.PathLike = ".") -> Path:
        """Copy the file into ``target_dir`` (under its original file name); returns its path."""
        target = Path(target_dir) / Path(self.filename).name
        target.parent.mkdir(parents=True, exist_ok=True)
        self.experiment._backend.download_artifact(self.experiment.id, self._row, target)
        return target

    @property
    def _row(self) -> dict:
        return {"name": self.name, "filename": self.filename, "size": self.size, "sha256": self.sha256}
