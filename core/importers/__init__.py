"""Importers: bring runs from other trackers (TensorBoard, MLflow) into a trackboard project.

Each importer reads its source into neutral ``SourceRun`` objects (``source.py``); one writer
(``target.py``) turns them into experiments, idempotently: a run imported again updates only
what changed, keyed on the source run's id kept on the experiment.

>>> from trackboard.importers import import_tensorboard      # doctest: +SKIP
>>> summary = import_tensorboard(Client(), "runs/", project="mnist")  # doctest: +SKIP
"""

from .source import Image, Series, SourceRun
from .target import ImportSummary, write_runs


def import_tensorboard(client, logdir, project: str | None = None, progress: bool = False) -> ImportSummary:
    """Import every TensorBoard run under ``logdir`` into ``project`` (default: the folder's name).

    Needs ``trackboard[tensorboard]``.
    """
    from pathlib import Path

    from .tensorboard import read_logdir

    runs = read_logdir(logdir)
    name = project or Path(logdir).expanduser().resolve().name
    return write_runs(client.get_or_create_project(name), runs, progress=progress)


def import_mlflow(client, tracking_uri: str, experiment: str | None = None, project: str | None = None,
                  progress: bool = False) -> ImportSummary:
    """Import the runs of an MLflow tracking store: each MLflow experiment into the project of its
    name, or all into ``project``. Needs ``trackboard[mlflow]``.
    """
    from .mlflow import read_experiments

    summary = ImportSummary()
    for name, runs in read_experiments(tracking_uri, experiment):
        write_runs(client.get_or_create_project(project or name), runs, progress=progress, summary=summary)
    return summary


__all__ = ["Image", "Series", "SourceRun", "ImportSummary", "write_runs", "import_tensorboard", "import_mlflow"]
