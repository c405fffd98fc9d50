"""The batch wire format: logged records <-> JSON, shared by the remote client and the server.

A batch is one JSON object ``{"key", "ops", "logs"}`` (see ``server/api/schemas.py`` for its
OpenAPI description). ``key`` makes a retried batch apply once. Each log entry is one or more
records of one log, merged on the client:

* LINE: ``"series"``, a list of ``{"name", "values", "steps", "times", "epochs"}`` columns. A
  column is base64 of little-endian float64 (``pack``): compact, fast to decode with numpy on the
  server (no per-point Python work), and NaN/inf travel bit for bit. A NaN step means "continue
  from the last step", a NaN epoch "no epoch"; a null column means all of them.
* other types: ``"data_json"``, the canonical data as JSON text in which non-finite floats are the
  bare tokens NaN/Infinity. It is a string inside valid JSON, so a VALUE of ``float('nan')`` and
  the string ``"NaN"`` stay different things.
* IMAGE: ``"data_json"`` holds the metadata, ``"content_b64"`` the image bytes (null when the
  blob is already stored); the server checks the bytes are an image.

The same column encoding carries LINE points back to the client (``pack_points``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import uuid
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import InvalidLogError, LogDataTypeError
from .logtype import LogType
from .normalise import check_name, normalise
from .normalise.image import image_payload
from .normalise.numbers import MAX_EXACT_STEP
from .records import ImagePayload, PendingPoints, Record, Series, has_named_series
from .store.points import NO_EPOCH, Points

_F8 = np.dtype("<f8")
_NAN = math.nan

# A request stays well under the server's batch limit: split when a batch grows past these.
MAX_POINTS_PER_BATCH = 400_000
MAX_BYTES_PER_BATCH = 24 * 1024 * 1024
MAX_SERIES_PER_BATCH = 500  # with one call's 500 more, under the server's 1000 series per request


# -- columns and JSON data -------------------------------------------------------------------


def pack(values: Any) -> str:
    """Base64 of little-endian float64: ``pack([1.0, float('nan')])`` -> 'AAAAAAAA8D8AAAAAAAD4fw=='.

    >>> unpack(pack([1.0, 2.5]), "values").tolist()
    [1.0, 2.5]
    """
    return base64.b64encode(np.asarray(values, dtype=_F8).tobytes()).decode("ascii")


def unpack(text: Any, what: str) -> np.ndarray:
    """The float64 array of a packed column (InvalidLogError naming ``what`` if it is not one)."""
    if not isinstance(text, str):
        raise LogDataTypeError(f"{what} must be a base64 string of float64 values")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidLogError(f"{what} is not valid base64") from None
    if len(raw) % 8:
        raise InvalidLogError(f"{what} holds {len(raw)} bytes, not a whole number of float64 values")
    return np.frombuffer(raw, dtype=_F8)


def dumps_data(data: Any) -> str:
    """JSON text of canonical data, NaN/Infinity as bare tokens (read back by ``loads_data``)."""
    return json.dumps(data, separators=(",", ":"), allow_nan=True)


def loads_data(text: Any, what: str = "data_json") -> Any:
    if not isinstance(text, str):
        raise LogDataTypeError(f"{what} must be a string of JSON text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidLogError(f"{what} is not valid JSON ({error})") from None


def pack_points(series: Mapping[str, Points]) -> list[dict]:
    """LINE points per series (``""``: the unnamed one) as wire columns."""
    out = []
    for name, points in series.items():
        epochs = None
        if points.has_epochs():
            epochs = pack(np.where(points.epochs == NO_EPOCH, np.nan, points.epochs.astype(np.float64)))
        out.append({"name": name or None, "steps": pack(points.steps), "values": pack(points.values),
                    "times": pack(points.times), "epochs": epochs})
    return out


def unpack_points(columns: Sequence[Mapping]) -> dict[str, Points]:
    """The inverse of ``pack_points``."""
    out = {}
    for column in columns:
        values = unpack(column["values"], "values")
        n = len(values)
        epochs = np.full(n, NO_EPOCH, dtype=np.int64)
        if column.get("epochs") is not None:
            raw = unpack(column["epochs"], "epochs")
            epochs = np.where(np.isnan(raw), NO_EPOCH, np.nan_to_num(raw)).astype(np.int64)
        out[column.get("name") or ""] = Points(
            unpack(column["steps"], "steps"), values, unpack(column["times"], "times"), epochs
        )
    return out


# -- client side: records -> log entries -------------------------------------------------------


class _Line:
    """LINE records of one log merged into columns per series (one wire entry)."""

    __slots__ = ("experiment_id", "name", "replace", "named", "time", "series", "records")

    def __init__(self, record: Record, named: bool) -> None:
        self.experiment_id, self.name = record.experiment_id, record.name
        self.replace, self.named = record.replace, named
        self.time = record.time
        self.series = PendingPoints()  # series name -> its points
        self.records: list[Record] = []

    def add(self, record: Record) -> int:
        """Append the record's points; returns how many."""
        self.records.append(record)
        self.time = when = record.time
        return self.series.add(record.data, when)

    def entry(self) -> dict:
        series = []
        for name, columns in self.series.items():
            steps, values, times, epochs = columns.arrays()  # NaN steps/epochs: assigned / none
            series.append({
                "name": name,
                "values": pack(values),
                "steps": None if np.isnan(steps).all() else pack(steps),
                "times": pack(times),
                "epochs": None if np.isnan(epochs).all() else pack(epochs),
            })
        return {"experiment_id": self.experiment_id, "name": self.name, "type": "LINE",
                "replace": self.replace, "time": self.time, "series": series}


class _Other:
    """The latest record of a non-LINE log (an earlier one of the same type is superseded)."""

    __slots__ = ("record", "replace", "records")

    def __init__(self, record: Record) -> None:
        self.record, self.replace, self.records = record, record.replace, [record]

    def supersede(self, record: Record) -> None:
        self.record = record
        self.replace = self.replace or record.replace
        self.records.append(record)

    def entry(self) -> dict:
        record = self.record
        entry = {"experiment_id": record.experiment_id, "name": record.name, "type": record.type.value,
                 "replace": self.replace, "time": record.time}
        if record.type is LogType.IMAGE:
            meta, content = record.data
            entry["data_json"] = dumps_data(meta)
            entry["content_b64"] = None if content is None else base64.b64encode(content).decode("ascii")
        else:
            entry["data_json"] = dumps_data(record.data)
        return entry


class Batch:
    """One request's worth of records: its log entries, and the records behind each entry."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key or new_key()
        self._entries: list[_Line | _Other] = []
        self._last: dict[tuple[str, str], _Line | _Other] = {}
        self.points = 0
        self.bytes = 0
        self.series = 0  # LINE series touched (each costs the server a row read or written)

    def add(self, record: Record) -> None:
        key = (record.experiment_id, record.name)
        last = self._last.get(key)
        if record.type is LogType.LINE:
            data = record.data
            named = has_named_series(data)
            if (last is None or last.__class__ is not _Line or record.replace or last.named is not named):
                last = self._last[key] = _Line(record, named)
                self._entries.append(last)
            before = len(last.series)
            self.points += last.add(record)
            self.series += len(last.series) - before
            return
        if last is not None and last.__class__ is _Other and last.record.type is record.type:
            last.supersede(record)  # only the latest value of a VALUE/TABLE/... log matters
        else:
            last = self._last[key] = _Other(record)
            self._entries.append(last)
        self.points += 1
        if record.type is LogType.IMAGE and record.data.content is not None:
            self.bytes += len(record.data.content) * 4 // 3

    def full(self) -> bool:
        return (self.points >= MAX_POINTS_PER_BATCH or self.bytes >= MAX_BYTES_PER_BATCH
                or self.series >= MAX_SERIES_PER_BATCH)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def groups(self) -> list[list[Record]]:
        """The records of each entry, by entry index (to report refused entries)."""
        return [entry.records for entry in self._entries]

    def body(self, ops: Sequence[dict] = ()) -> dict:
        return {"key": self.key, "ops": list(ops), "logs": [entry.entry() for entry in self._entries]}


def batches(records: Iterable[Record]) -> list[Batch]:
    """Records in order, merged into as few request-sized batches as fit."""
    out = [Batch()]
    for record in records:
        for part in _parts(record):
            if out[-1].full():
                out.append(Batch())
            out[-1].add(part)
    return [batch for batch in out if len(batch)]


def _parts(record: Record) -> Iterable[Record]:
    """A LINE record too big for one request as consecutive appends (the first one may replace).

    Appending the pieces in order stores exactly what the whole record would have.
    """
    data = record.data
    if record.type is not LogType.LINE or data.__class__ is not tuple:
        return (record,)
    if sum(len(series.values) for series in data) <= MAX_POINTS_PER_BATCH:
        return (record,)
    parts = []
    size = MAX_POINTS_PER_BATCH
    for series in data:
        for start in range(0, len(series.values), size):
            window = slice(start, start + size)
            piece = Series(series.name, None if series.steps is None else series.steps[window], series.values[window],
                           None if series.times is None else series.times[window],
                           None if series.epochs is None else series.epochs[window])
            parts.append(record._replace(data=(piece,), replace=record.replace and not parts))
    return parts


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


# -- server side: log entries -> records -------------------------------------------------------

_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: Any, default: str = "file") -> str:
    """A file name fit to store and return: its last path part, odd characters replaced.

    >>> safe_filename("../../etc/passwd\\x00.png")
    'passwd_.png'
    """
    if not isinstance(name, str):
        return default
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _SAFE_FILENAME.sub("_", name).strip(" .")[:200]
    return name or default


def decode_entry(entry: Mapping[str, Any], experiment_id: str | None = None) -> Record:
    """The Record of one log entry, validated as the core validates ``experiment.log``.

    Raises InvalidLogError / LogDataTypeError (UnknownLogTypeError for the type) naming the log.
    """
    name = check_name(entry.get("name"))
    log_type = LogType.parse(entry.get("type"))
    when = entry.get("time")
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
        raise InvalidLogError(f"{log_type.value} {name!r}: 'time' must be a finite number of seconds")
    replace = bool(entry.get("replace", False))
    experiment_id = experiment_id or entry.get("experiment_id")
    if log_type is LogType.LINE:
        try:
            data = _decode_line(entry.get("series"), float(when))
        except (InvalidLogError, LogDataTypeError) as error:
            raise type(error)(f"LINE {name!r}: {error}") from None
    elif log_type is LogType.IMAGE:
        data = _decode_image(name, entry)
    else:
        data = normalise(name, log_type, loads_data(entry.get("data_json")))
    return Record(experiment_id, name, log_type, data, replace, float(when))


def _decode_image(name: str, entry: Mapping[str, Any]) -> ImagePayload:
    meta = loads_data(entry.get("data_json"))
    if not isinstance(meta, Mapping):
        raise LogDataTypeError(f"IMAGE {name!r}: data_json must hold the image's metadata object")
    content = entry.get("content_b64")
    if content is None:
        return normalise(name, LogType.IMAGE, meta)  # an already-stored image, by its sha256
    try:
        raw = base64.b64decode(content, validate=True) if isinstance(content, str) else None
    except (binascii.Error, ValueError):
        raw = None
    if raw is None:
        raise InvalidLogError(f"IMAGE {name!r}: content_b64 is not valid base64")
    try:
        # The type is checked by content; the name the client gave is only kept, made safe.
        return image_payload(raw, safe_filename(meta.get("filename"), "image"), default_stem=name)
    except (InvalidLogError, LogDataTypeError) as error:
        raise type(error)(f"IMAGE {name!r}: {error}") from None


def _decode_line(series: Any, when: float) -> tuple[Series, ...]:
    if not isinstance(series, list) or not series:
        raise InvalidLogError("'series' must be a non-empty list of columns")
    names = [column.get("name") if isinstance(column, Mapping) else None for column in series]
    if None in names and len(series) > 1:
        raise InvalidLogError("a log has one unnamed series or only named ones")
    if len(set(names)) != len(names):
        raise InvalidLogError("series names must be distinct")
    return tuple(_decode_series(column, when) for column in series)


def _decode_series(column: Any, when: float) -> Series:
    if not isinstance(column, Mapping):
        raise LogDataTypeError("each series must be an object of columns")
    name = column.get("name")
    where = ""
    if name is not None:
        check_name(name, "a series name")
        where = f"series {name!r}: "
    values = unpack(column.get("values"), f"{where}values")
    n = len(values)
    if n == 0:
        raise InvalidLogError(f"{where}values is empty")
    steps = _column(column, "steps", n, where)
    if steps is not None:
        given = steps[~np.isnan(steps)]
        if not (np.isfinite(given).all() and (np.abs(given) <= MAX_EXACT_STEP).all()):
            raise InvalidLogError(f"{where}steps must be finite numbers within +-2**53 (NaN: the next step)")
    times = _column(column, "times", n, where)
    if times is not None and not np.isfinite(times).all():
        raise InvalidLogError(f"{where}times must be finite numbers of seconds")
    epochs = _column(column, "epochs", n, where)
    if epochs is not None:
        given = epochs[~np.isnan(epochs)]
        whole = np.isfinite(given).all() and (given == np.round(given)).all()
        if not (whole and (np.abs(given) <= MAX_EXACT_STEP).all()):
            raise InvalidLogError(f"{where}epochs must be whole numbers (NaN: no epoch)")
    return Series(
        name,
        None if steps is None or np.isnan(steps).all() else steps,
        values,
        np.full(n, when) if times is None else times,
        None if epochs is None or np.isnan(epochs).all() else epochs,
    )


def _column(column: Mapping, key: str, n: int, where: str) -> np.ndarray | None:
    if column.get(key) is None:
        return None
    array = unpack(column[key], f"{where}{key}")
    if len(array) != n:
        raise InvalidLogError(f"{len(array)} {where}{key} for {n} values; expected {n}")
    return array
