"""Read runs through the ``mlflow`` client library, so every store MLflow reads works.

Runs keep their name, status, start and end times; params become the ``parameters`` table
(numbers and booleans as such), metrics LINE logs with every step and timestamp (the full
history, not the last value), user tags trackboard tags (``key=value``), the run's note
(``mlflow.note.content``) its description, and its artifacts artifacts (downloaded when imported).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import NotFoundError, TrackboardError
from .source import Series, SourceRun

# MLflow's run statuses -> trackboard's (a KILLED run was stopped before it finished).
STATUSES = {"FINISHED": "SUCCESS", "FAILED": "FAILED", "KILLED": "FAILED", "RUNNING": "RUNNING", "SCHEDULED": "RUNNING"}
PAGE = 1000


def read_experiments(tracking_uri: str, experiment: str | None = None) -> Iterator[tuple[str, Iterator[SourceRun]]]:
    """(MLflow experiment name, its runs) for every experiment of the store (or the one named)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ImportError("importing from MLflow needs the mlflow client: pip install 'trackboard[mlflow]'") from None
    # Reading an old ./mlruns file store is what an importer is for; MLflow 3 refuses it by default.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=tracking_uri)
    for mlflow_experiment in _experiments(client, experiment):
        runs = (_source_run(client, tracking_uri, run) for run in _runs(client, mlflow_experiment.experiment_id))
        yield mlflow_experiment.name, runs


def _experiments(client, name: str | None) -> list:
    if name is not None:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise NotFoundError(f"no MLflow experiment named {name!r}")
        return [found]
    # MLflow's "Default" experiment exists in every store; it only counts when it holds runs.
    experiments = [e for e in client.search_experiments() if e.name != "Default" or _runs_exist(client, e)]
    if not experiments:
        raise TrackboardError("the MLflow store has no experiments")
    return experiments


def _runs_exist(client, experiment) -> bool:
    return bool(client.search_runs([experiment.experiment_id], max_results=1))


def _runs(client, experiment_id: str) -> Iterator:
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=PAGE, page_token=token, order_by=["attributes.start_time ASC"])
        yield from page
        token = page.token
        if not token:
            return


def _source_run(client, tracking_uri: str, run) -> SourceRun:
    info, data = run.info, run.data
    user_tags = {key: value for key, value in data.tags.items() if not key.startswith("mlflow.")}
    source = SourceRun(
        source_id=f"mlflow:{tracking_uri}#{info.run_id}",
        name=info.run_name or info.run_id,
        status=STATUSES.get(info.status, "FAILED"),
        started_at=None if info.start_time is None else info.start_time / 1000,
        finished_at=None if info.end_time is None else info.end_time / 1000,
        description=data.tags.get("mlflow.note.content"),
        parameters={key: _param(value) for key, value in data.params.items()},
        tags=[f"{key}={value}" if value else key for key, value in sorted(user_tags.items())],
    )
    for key in sorted(data.metrics):
        history = sorted(client.get_metric_history(info.run_id, key), key=lambda m: (m.timestamp, m.step, m.value))
        source.lines[key] = Series.of([m.step for m in history], [m.value for m in history],
                                      [m.timestamp / 1000 for m in history])
    for path in _artifact_paths(client, info.run_id):
        source.artifacts[path] = _fetcher(client, info.run_id, path)
    return source


def _param(text: str) -> Any:
    """MLflow keeps every param as text; numbers and booleans come back as such, so that
    queries, sorting and grouping treat ``lr`` as a number."""
    if text in ("True", "False", "true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else text
    return text


def _artifact_paths(client, run_id: str, folder: str | None = None) -> Iterator[str]:
    for item in client.list_artifacts(run_id, folder):
        if item.is_dir:
            yield from _artifact_paths(client, run_id, item.path)
        else:
            yield item.path


def _fetcher(client, run_id: str, path: str) -> Callable[[Path], Path]:
    def fetch(folder: Path) -> Path:
        return Path(client.download_artifacts(run_id, path, str(folder)))

    return fetch
