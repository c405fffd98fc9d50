"""Write imported runs into a project, idempotently.

A run's ``source_id`` is kept on its experiment. Importing a run again finds that experiment and
adds only what is new: the points past those already stored (a run still being written gains its
new points), images at new steps, changed parameters and tables, missing tags and artifacts.
Nothing already imported is written twice, so a second import of an unchanged source changes nothing.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import AlreadyExistsError, NotFoundError, TrackboardError
from ..experiment import Experiment
from ..logtype import LogType
from ..normalise import normalise
from .source import SourceRun


@dataclass
class ImportSummary:
    """What an import did: runs created / updated / unchanged, points and files added, what was skipped."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    points: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        lines = [
            f"{self.runs} run(s): {self.created} new, {self.updated} updated, {self.unchanged} unchanged; "
            f"{self.points} point(s) and {self.files} file(s) added; {len(self.skipped)} skipped"
        ]
        lines += [f"  skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines)


def write_runs(project, runs: Iterable[SourceRun], progress: bool = False,
               summary: ImportSummary | None = None) -> ImportSummary:
    """Write every run of ``runs`` into ``project`` (a Project on the embedded store)."""
    store = getattr(project._backend, "store", None)
    if store is None:
        raise TrackboardError("imports write to an embedded store (a Client without a host, `--dir` on the CLI)")
    summary = ImportSummary() if summary is None else summary
    for run in _with_progress(runs, progress):
        _RunWriter(project, store, run, summary).write()
    return summary


def _with_progress(runs: Iterable[SourceRun], progress: bool) -> Iterable[SourceRun]:
    if not progress:
        return runs
    try:
        from tqdm import tqdm
    except ImportError:  # progress is a nicety: no tqdm, no bar
        return runs
    return tqdm(runs, desc="importing", unit="run", file=sys.stderr)


class _RunWriter:
    """Brings one experiment up to date with one source run."""

    def __init__(self, project, store, run: SourceRun, summary: ImportSummary) -> None:
        self.project, self.store, self.run, self.summary = project, store, run, summary
        self.changed = False

    def write(self) -> None:
        run = self.run
        self.summary.skipped.extend(f"{run.name}: {reason}" for reason in run.skipped)
        row = self.store.find_experiment_by_source(self.project.id, run.source_id)
        created = row is None
        if created:
            row = self._create()
        experiment = Experiment(self.project._backend, row, self.project)
        try:
            self._parameters(experiment, created)
            self._tables(experiment, created)
            self._lines(experiment)
            self._images(experiment)
            self._tags(experiment)
            self._artifacts(experiment)
            experiment.flush()
        finally:
            self._status(experiment, row)  # last, and always: the record says how the source run ended
        if created:
            self.summary.created += 1
        elif self.changed:
            self.summary.updated += 1
        else:
            self.summary.unchanged += 1

    def _create(self) -> dict:
        run = self.run
        base, attempt = run.name[:240], 1
        while True:
            name = base if attempt == 1 else f"{base} ({attempt})"
            try:
                return self.store.create_experiment(
                    self.project.id, name, run.description, created_at=run.started_at, source=run.source_id
                )
            except AlreadyExistsError:  # another run of that name is there already: keep both
                attempt += 1

    def _parameters(self, experiment: Experiment, created: bool) -> None:
        if not self.run.parameters:
            return
        wanted = normalise("parameters", LogType.TABLE, self.run.parameters)
        if created or experiment.get_parameters() != wanted:
            experiment.log("parameters", wanted, LogType.TABLE, replace=True)
            self.changed = True

    def _tables(self, experiment: Experiment, created: bool) -> None:
        kinds = {} if created else self.store.log_kinds(experiment.id)
        for name, table in self.run.tables.items():
            wanted = normalise(name, LogType.TABLE, table)
            if name in kinds and experiment.get_log(name).data == wanted:
                continue
            experiment.log(name, wanted, LogType.TABLE, replace=True)
            self.changed = True

    def _lines(self, experiment: Experiment) -> None:
        stored = self.store.series_counts(experiment.id)
        for name, series in self.run.lines.items():
            have = stored.get(name, 0)
            if len(series) < have:
                self.summary.skipped.append(
                    f"{self.run.name}: LINE {name!r} has {len(series)} point(s) in the source but {have} stored; left as stored"
                )
                continue
            if len(series) == have:
                continue
            new = slice(have, None)
            experiment.log(name, {"steps": series.steps[new], "values": series.values[new],
                                  "times": series.times[new]}, LogType.LINE)
            self.summary.points += len(series) - have
            self.changed = True

    def _images(self, experiment: Experiment) -> None:
        """Each image summary as one IMAGE log whose history holds every step, in order; an IMAGE log
        has no step of its own, so each file is named after its step (``samples_step_10.png``)."""
        for name, images in self.run.images.items():
            try:
                have = len(self.store.image_history(experiment.id, name))
            except NotFoundError:
                have = 0
            if len(images) < have:
                self.summary.skipped.append(f"{self.run.name}: IMAGE {name!r} has {len(images)} image(s) in the "
                                            f"source but {have} stored; left as stored")
                continue
            with tempfile.TemporaryDirectory(prefix="trackboard-import-") as folder:
                for image in images[have:]:
                    path = Path(folder) / f"{_file_stem(name)}_step_{image.step}.{_extension(image.content)}"
                    path.write_bytes(image.content)
                    experiment.log(name, path, LogType.IMAGE)
                    self.summary.files += 1
                    self.changed = True
                experiment.flush()  # the files are read when logged; flushed before they go

    def _tags(self, experiment: Experiment) -> None:
        missing = [tag for tag in self.run.tags if tag not in set(experiment.tags)]
        if missing:
            experiment.add_tags(*missing)
            self.changed = True

    def _artifacts(self, experiment: Experiment) -> None:
        if not self.run.artifacts:
            return
        stored = {artifact.name: artifact.sha256 for artifact in experiment.list_artifacts()}
        for name, fetch in self.run.artifacts.items():
            with tempfile.TemporaryDirectory(prefix="trackboard-import-") as folder:
                try:
                    path = fetch(Path(folder))
                except Exception as error:  # one unreadable file must not stop the import of the rest
                    self.summary.skipped.append(f"{self.run.name}: artifact {name!r}: {error}")
                    continue
                if stored.get(name) == _sha256(path):
                    continue
                experiment.store(name, path)
            self.summary.files += 1
            self.changed = True

    def _status(self, experiment: Experiment, row: dict) -> None:
        run = self.run
        wanted = (run.status, run.finished_at if run.status != "RUNNING" else None)
        if (row["status"], row.get("finished_at")) != wanted:
            self.store.set_status(experiment.id, run.status, finished_at=wanted[1])
            self.changed = True


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100] or "image"


def _extension(content: bytes) -> str:
    """The file extension of encoded image bytes (the image's type is checked by content anyway)."""
    for magic, extension in ((b"\x89PNG", "png"), (b"\xff\xd8", "jpg"), (b"GIF8", "gif"), (b"RIFF", "webp")):
        if content.startswith(magic):
            return extension
    return "png"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


