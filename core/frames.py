"""pandas frames of runs and of LINE logs (``pip install 'trackboard[analysis]'``).

Built from what the store returns (rows, summaries, canonical LINE data), so a frame holds exactly
the stored values: parameters as logged (nested keys joined with "."), VALUE logs, and each LINE
series' last, min and max.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    import pandas


def require_pandas():
    """The pandas module, or an ImportError that names the extra to install."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "trackboard's frames need pandas: pip install 'trackboard[analysis]' (or pip install pandas)"
        ) from None
    return pandas


def duration(row: Mapping[str, Any]) -> float:
    """Seconds from creation to the end (finished runs) or to the last write (running ones), as queried."""
    end = row.get("finished_at") or row.get("updated_at") or row["created_at"]
    return end - row["created_at"]


def series_label(log: str, series: str) -> str:
    """``loss`` for a log's unnamed series, ``loss.train`` for a named one (as in ``last.loss.train``)."""
    return log if not series else f"{log}.{series}"


def experiments_frame(rows: list[dict], summaries: Mapping[str, dict]) -> "pandas.DataFrame":
    """One row per run: ``id, name, status, created_at, duration, tags``, then ``params.*``, ``values.*``,
    ``last.*``, ``min.*``, ``max.*``."""
    pd = require_pandas()
    records, params, values, series = [], {}, {}, {}
    for row in rows:
        summary = summaries.get(row["id"], {})
        record = {"id": row["id"], "name": row["name"], "status": row["status"], "created_at": row["created_at"],
                  "duration": duration(row), "tags": list(summary.get("tags", []))}
        for key, value in summary.get("params", {}).items():
            params.setdefault(f"params.{key}", None)
            record[f"params.{key}"] = value
        for key, value in summary.get("values", {}).items():
            values.setdefault(f"values.{key}", None)
            record[f"values.{key}"] = value
        for item in summary.get("series", []):
            label = series_label(item["log"], item["series"])
            series.setdefault(label, None)
            for stat in ("last", "min", "max"):
                record[f"{stat}.{label}"] = item[stat]
        records.append(record)
    columns = ["id", "name", "status", "created_at", "duration", "tags", *params, *values,
               *(f"{stat}.{label}" for stat in ("last", "min", "max") for label in series)]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    return frame


def line_frame(data: Mapping[str, Any]) -> "pandas.DataFrame":
    """A LINE log's canonical data as ``step, value, time, epoch`` (with ``series`` first for named series)."""
    pd = require_pandas()
    named = "values" not in data
    parts = []
    for name, points in (data.items() if named else [("", data)]):
        part = _series_frame(pd, points)
        if named:
            part.insert(0, "series", name)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["series", "step", "value", "time", "epoch"])
    return pd.concat(parts, ignore_index=True)


def _series_frame(pd, points: Mapping[str, Any]) -> "pandas.DataFrame":
    count = len(points["values"])
    epochs = points.get("epochs") or [None] * count
    return pd.DataFrame({
        "step": pd.Series(points["steps"]),
        "value": pd.Series(points["values"], dtype="float64"),
        "time": pd.Series(points.get("times") or [float("nan")] * count, dtype="float64"),
        "epoch": pd.array(epochs, dtype="Int64"),
    })


def history_frame(runs: Iterable[tuple[Any, Mapping[str, Any]]]) -> "pandas.DataFrame":
    """Long frame of one LINE log over runs: ``experiment, experiment_id, series, step, value, time, epoch``."""
    pd = require_pandas()
    parts = []
    for experiment, data in runs:
        part = line_frame(data)
        if "series" not in part.columns:
            part.insert(0, "series", "")
        part.insert(0, "experiment_id", experiment.id)
        part.insert(0, "experiment", experiment.name)
        parts.append(part)
    columns = ["experiment", "experiment_id", "series", "step", "value", "time", "epoch"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
