"""Read TensorBoard event files with the ``tensorboard`` package's own reader.

Every folder under the log directory that holds event files is a run, named after its path
relative to the log directory. ``SummaryWriter.add_hparams`` (torch, tensorboardX) writes the
hyperparameters into a child folder of the run they describe; such a folder, holding HParams
session data, is folded into its parent run rather than imported as a run of its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import NotFoundError
from .source import Image, Series, SourceRun

EVENT_FILE_MARK = "tfevents"


def read_logdir(logdir: str | os.PathLike) -> Iterator[SourceRun]:
    """Every run under ``logdir``, in path order (a missing or empty folder raises at once)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ImportError("importing from TensorBoard needs its reader: pip install 'trackboard[tensorboard]'") from None
    root = Path(logdir).expanduser().resolve()
    if not root.is_dir():
        raise NotFoundError(f"no TensorBoard log directory at {str(root)!r}")
    folders = sorted(_run_folders(root))
    if not folders:
        raise NotFoundError(f"no TensorBoard event files under {str(root)!r}")
    return _read(root, folders)


def _read(root: Path, folders: list[Path]) -> Iterator[SourceRun]:
    runs: dict[Path, SourceRun] = {}
    for folder in folders:
        run = _read_folder(root, folder)
        parent = _folded_into(folder, runs, run)
        if parent is None:
            runs[folder] = run
    yield from runs.values()


def _run_folders(root: Path) -> Iterator[Path]:
    for folder, _, files in os.walk(root):
        if any(EVENT_FILE_MARK in name for name in files):
            yield Path(folder)


def _folded_into(folder: Path, runs: dict[Path, SourceRun], run: SourceRun) -> SourceRun | None:
    """Fold an ``add_hparams`` child folder into its parent run; return the parent, or None."""
    parent = runs.get(folder.parent)
    if parent is None or not run.parameters or parent.parameters:
        return None
    parent.parameters = run.parameters
    for name, series in run.lines.items():
        parent.lines.setdefault(name, series)
    parent.skipped.extend(run.skipped)
    return parent


def _read_folder(root: Path, folder: Path) -> SourceRun:
    name = "." if folder == root else folder.relative_to(root).as_posix()
    run = SourceRun(source_id=f"tensorboard:{folder}", name=name if name != "." else root.name)
    # One reader per event file, in the order they were written: TensorBoard's directory reader
    # orders files by name as text, so a writer's 10th file (".10") would come before its 9th.
    for path in sorted((p for p in folder.iterdir() if EVENT_FILE_MARK in p.name), key=_natural):
        _read_file(path, run)
    times = [t for series in run.lines.values() if len(series) for t in series.times[[0, -1]]]
    if times:
        run.started_at, run.finished_at = min(times), max(times)
    return run


def _natural(path: Path) -> list:
    """events.out.tfevents.<time>.<host>.<pid>.<n>: numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _read_file(path: Path, run: SourceRun) -> None:
    from tensorboard.backend.event_processing import event_accumulator as ea

    everything = {ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0, ea.HISTOGRAMS: 1, ea.COMPRESSED_HISTOGRAMS: 1}
    accumulator = ea.EventAccumulator(str(path), size_guidance=everything)
    accumulator.Reload()
    tags = accumulator.Tags()
    for tag in tags["scalars"]:
        events = accumulator.Scalars(tag)
        _extend(run, tag, [e.step for e in events], [e.value for e in events], [e.wall_time for e in events])
    for tag in tags["images"]:
        run.images.setdefault(tag, []).extend(Image(e.step, e.wall_time, e.encoded_image_string)
                                              for e in accumulator.Images(tag))
    for tag in tags["tensors"]:
        _read_tensor(accumulator, tag, run)
    for kind in ("histograms", "audio"):
        if tags.get(kind):
            run.skipped.append(f"{path.name}: {len(tags[kind])} {kind} tag(s): trackboard has no such log type")
    run.parameters.update(_hparams(accumulator))


def _extend(run: SourceRun, tag: str, steps: list, values: list, times: list) -> None:
    series = Series.of(steps, values, times)
    known = run.lines.get(tag)
    run.lines[tag] = series if known is None else Series(*(np.concatenate(pair) for pair in (
        (known.steps, series.steps), (known.values, series.values), (known.times, series.times))))


def _read_tensor(accumulator, tag: str, run: SourceRun) -> None:
    """TF2-style summaries are tensors; their plugin says what they hold."""
    from tensorboard.util import tensor_util

    plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
    events = accumulator.Tensors(tag)
    if plugin == "scalars":
        values = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in events]
        _extend(run, tag, [e.step for e in events], values, [e.wall_time for e in events])
    elif plugin == "text":
        # One TABLE per text tag: step -> text (the torch/tensorboardX writers name it "<tag>/text_summary")
        table = run.tables.setdefault(tag.removesuffix("/text_summary"), {})
        table.update((str(e.step), _text(tensor_util.make_ndarray(e.tensor_proto))) for e in events)
    elif plugin == "images":
        # [width, height, encoded image, ...]: keep the first image of each step
        run.images.setdefault(tag, []).extend(Image(e.step, e.wall_time, bytes(e.tensor_proto.string_val[2]))
                                              for e in events if len(e.tensor_proto.string_val) > 2)
    elif plugin != "hparams":
        run.skipped.append(f"tag {tag!r}: {plugin or 'unknown'} summaries are not imported")


def _text(array: Any) -> str:
    items = array.flatten().tolist() if hasattr(array, "flatten") else [array]
    return "\n".join(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in items)


def _hparams(accumulator) -> dict[str, Any]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        content = accumulator.PluginTagToContent("hparams")
    except KeyError:  # no HParams plugin data in this run
        return {}
    parameters: dict[str, Any] = {}
    for blob in content.values():
        data = plugin_data_pb2.HParamsPluginData.FromString(blob)
        if data.HasField("session_start_info"):
            for key, value in data.session_start_info.hparams.items():
                parameters[key] = _value(value)
    return parameters


def _value(value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "string_value":
        return value.string_value
    return None
