"""trackboard: experiment tracking for training loops.

>>> from trackboard import Client, LogType
>>> client = Client()                                                 # doctest: +SKIP
>>> project = client.get_or_create_project("My awesome Project")      # doctest: +SKIP
>>> experiment = project.create_experiment("baseline", parameters={"lr": 1e-3})  # doctest: +SKIP
>>> experiment.log("TotalLoss", [3, 1.25, 1.4, 0.35, 0.95], LogType.LINE)        # doctest: +SKIP
"""

from .client import Client
from .errors import (
    AlreadyExistsError,
    InvalidLogError,
    LogDataTypeError,
    LogTypeConflictError,
    NotFoundError,
    QueryError,
    TrackboardError,
    WriteError,
)
from .experiment import Experiment
from .log import Artifact, Log
from .logtype import LogType
from .project import Project

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Project",
    "Experiment",
    "Log",
    "Artifact",
    "LogType",
    "TrackboardError",
    "InvalidLogError",
    "LogDataTypeError",
    "LogTypeConflictError",
    "NotFoundError",
    "AlreadyExistsError",
    "QueryError",
    "WriteError",
]
