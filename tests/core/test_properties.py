"""Property tests: canonical data round-trips, get_log data re-logs identically, refusals change nothing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackboard.backend import release as release_store
from tbhelpers import assert_same, same, snapshot
from trackboard import Client, LogType
from trackboard.errors import InvalidLogError, LogDataTypeError, LogTypeConflictError, TrackboardError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)
_names = itertools.count()


def fresh_name() -> str:
    return f"log{next(_names)}"


@pytest.fixture(scope="module")
def prop_client(tmp_path_factory):
    directory = tmp_path_factory.mktemp("properties")
    client = Client(directory=directory, mode="online")
    yield client
    release_store(directory)


@pytest.fixture(scope="module")
def shared(prop_client):
    return prop_client.create_project("shared").create_experiment("shared")


# -- canonical data per type ---------------------------------------------------------------------

texts = st.text(max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats())
leaves = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), texts)

VALUE = st.one_of(st.booleans(), st.integers(min_value=-(2**100), max_value=2**100), st.floats(), texts)

_table_cells = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
# A top-level "data" key is the matrix form: keep the mapping form unambiguous.
TABLE_MAPPING = st.dictionaries(texts.filter(lambda k: k != "data"), _table_cells, min_size=1, max_size=6)


@st.composite
def table_matrix(draw):
    rows, cols = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    out = {"data": [[draw(leaves) for _ in range(cols)] for _ in range(rows)]}
    if rows and draw(st.booleans()):
        out["rows"] = [draw(st.one_of(texts, st.integers(-5, 5))) for _ in range(rows)]
    if rows and draw(st.booleans()):
        out["columns"] = [draw(texts) for _ in range(cols)]
    return out


TABLE = st.one_of(TABLE_MAPPING, table_matrix())


@st.composite
def bar(draw):
    n = draw(st.integers(1, 8))
    labels = draw(st.lists(st.one_of(texts, st.integers(-1000, 1000), finite), min_size=n, max_size=n))
    return {"x": labels, "y": draw(st.lists(numbers, min_size=n, max_size=n))}


@st.composite
def heatmap(draw):
    n = draw(st.integers(1, 4))
    size = n + draw(st.integers(0, 1))
    cell = st.one_of(st.integers(-(2**40), 2**40), st.floats())
    return {"categories": draw(st.lists(texts, min_size=n, max_size=n)),
            "values": [[draw(cell) for _ in range(size)] for _ in range(size)]}


LABELMAP = st.dictionaries(st.one_of(texts, st.integers(0, 10**6).map(str)), texts, min_size=1, max_size=6)

_metrics = st.dictionaries(texts, numbers, max_size=4)
_sample = st.fixed_dictionaries(
    {"ground_truth": leaves, "prediction": leaves},
    optional={"score": numbers, "id": st.one_of(texts, st.integers(0, 10**6)), "note": leaves},
)
EVALUATION = st.fixed_dictionaries(
    {"metrics": _metrics},
    optional={"per_class": st.dictionaries(texts, _metrics, max_size=3), "samples": st.lists(_sample, max_size=4),
              "split": texts},
).map(lambda d: {k: d[k] for k in ("metrics", "per_class", "samples", "split") if k in d})  # canonical key order

steps_item = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    # Fractional steps, built rather than filtered (most drawn floats are whole numbers).
    st.integers(min_value=-(2**40), max_value=2**40).map(lambda k: k + 0.5),
    st.floats(min_value=-1.0, max_value=1.0, exclude_min=True, exclude_max=True).filter(lambda s: s != 0.0),
)


@st.composite
def line_series(draw, n=None):
    n = n if n is not None else draw(st.integers(1, 30))
    series = {
        "steps": draw(st.lists(steps_item, min_size=n, max_size=n)),
        "values": draw(st.lists(st.floats(), min_size=n, max_size=n)),
        # whole microseconds, as stored: from 1970 to about 2096
        "times": [k / 1e6 for k in draw(st.lists(st.integers(0, 4 * 10**15), min_size=n, max_size=n))],
    }
    epochs = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31)),
                                                min_size=n, max_size=n)))
    if epochs is not None and any(e is not None for e in epochs):
        series["epochs"] = epochs
    return series


# Series names are columns: NUL is refused in them (tests/server/test_security.py), so not drawn here.
_series_names = st.text(min_size=1, max_size=12).filter(lambda k: k not in ("steps", "values", "times", "epochs")
                                                        and "\x00" not in k)
LINE = st.one_of(line_series(), st.dictionaries(_series_names, line_series(), min_size=1, max_size=3))

CANONICAL = {
    "VALUE": VALUE, "TABLE": TABLE, "BAR": bar(), "HEATMAP": heatmap(), "LABELMAP": LABELMAP,
    "EVALUATION": EVALUATION, "LINE": LINE,
}


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("log_type", list(CANONICAL))
def test_canonical_data_roundtrips(shared, log_type):
    @SETTINGS
    @given(data=CANONICAL[log_type])
    def check(data):
        name = fresh_name()
        shared.log(name, data, log_type)
        got = shared.get_log(name)
        assert got.type is LogType[log_type]
        assert_same(got.data, data)
        # What get_log returns is accepted back with replace=True and reproduces the log.
        shared.log(name, got.data, log_type, replace=True)
        assert_same(shared.get_log(name).data, data)

    check()


def test_image_metadata_roundtrips(shared):
    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.sampled_from([None, 1, 3, 4]), seed=st.integers(0, 99))
    def check(h, w, c, seed):
        shape = (h, w) if c is None else (h, w, c)
        array = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
        name = fresh_name()
        shared.log(name, array, "IMAGE")
        first = shared.get_log(name)
        assert (first.data["width"], first.data["height"]) == (w, h)
        shared.log(name, first.data, "IMAGE", replace=True)
        assert shared.get_log(name).data == first.data
        assert shared.get_log(name).read_bytes() == first.read_bytes()

    check()


# -- LINE appends against a model -----------------------------------------------------------------

_append_op = st.one_of(
    st.tuples(st.just("auto"), st.lists(st.floats(allow_nan=False), min_size=1, max_size=5)),
    st.tuples(st.just("steps"), st.lists(st.tuples(steps_item, st.floats(allow_nan=False)), min_size=1, max_size=5)),
    st.tuples(st.just("one"), st.floats(allow_nan=False)),
    st.tuples(st.just("flush"), st.none()),
)


@SETTINGS
@given(ops=st.lists(_append_op, min_size=1, max_size=12))
def test_line_appends_match_a_model(prop_client, ops):
    experiment = prop_client.get_or_create_project("model").create_experiment(fresh_name())
    steps, values = [], []
    last = -1
    for kind, arg in ops:
        if kind == "flush":
            experiment.flush()
            continue
        if kind == "auto":
            experiment.log("l", arg, "line")
            new_steps = [last + 1 + i for i in range(len(arg))]
            new_values = arg
        elif kind == "one":
            experiment.log("l", arg, "line")
            new_steps, new_values = [last + 1], [arg]
        else:
            new_steps, new_values = [s for s, _ in arg], [v for _, v in arg]
            experiment.log("l", {"steps": new_steps, "values": new_values}, "line")
        steps += new_steps
        values += new_values
        last = new_steps[-1]
    if not steps:
        return
    data = experiment.get_log("l").data
    expected_steps = [int(s) if float(s).is_integer() else s for s in steps]
    assert_same(data["steps"], expected_steps)
    assert_same(data["values"], [float(v) for v in values])


@SETTINGS
@given(ops=st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]),
                                    st.lists(st.floats(allow_nan=False), min_size=1, max_size=3),
                                    min_size=1), min_size=1, max_size=8),
       flush_every=st.integers(1, 4))
def test_several_series_auto_increment_per_series(prop_client, ops, flush_every):
    experiment = prop_client.get_or_create_project("model").create_experiment(fresh_name())
    model: dict[str, list[float]] = {}
    for i, op in enumerate(ops):
        experiment.log("m", op, "line")
        for name, vals in op.items():
            model.setdefault(name, []).extend(vals)
        if i % flush_every == 0:
            experiment.flush()
    data = experiment.get_log("m").data
    assert set(data) == set(model)
    for name, vals in model.items():
        assert data[name]["steps"] == list(range(len(vals)))
        assert data[name]["values"] == vals


# -- refusals change nothing; acceptances are canonical ------------------------------------------


class Opaque:
    def __repr__(self):
        return "Opaque()"


_junk_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.integers(-3, 3), st.just(10**400),
    st.floats(), texts, st.binary(max_size=4), st.complex_numbers(max_magnitude=10), st.just(Opaque()),
    st.sampled_from(["steps", "values", "times", "epochs", "x", "y", "data", "rows", "columns", "metrics",
                     "categories", "ground_truth", "prediction"]),
)
_keys = st.one_of(st.sampled_from(["steps", "values", "times", "epochs", "x", "y", "data", "rows", "columns",
                                   "metrics", "per_class", "samples", "split", "categories", "loss", "0"]),
                  texts, st.integers(-2, 2))
JUNK = st.recursive(
    _junk_leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=10,
)
DATA_ERRORS = (InvalidLogError, LogDataTypeError)
TYPES = [t for t in CANONICAL] + ["IMAGE"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(log_type=st.sampled_from(TYPES), data=JUNK, existing=st.booleans())
def test_any_input_is_stored_canonically_or_refused_without_effect(prop_client, log_type, data, existing):
    experiment = prop_client.get_or_create_project("junk").get_or_create_experiment("junk")
    name = "existing" if existing else fresh_name()
    if existing and "existing" not in {log.name for log in experiment.list_logs()}:
        experiment.log("existing", [1.0, 2.0], "line")
    before = snapshot(experiment)
    try:
        experiment.log(name, data, log_type, replace=existing)
    except DATA_ERRORS as error:
        assert isinstance(error, TrackboardError)
        message = str(error)
        assert repr(name) in message and log_type in message, message
        experiment.flush()
        assert same(snapshot(experiment), before)
        return
    except LogTypeConflictError:
        pytest.fail("replace=True must never conflict")
    # Accepted: it is stored (flush raises nothing) and what get_log returns re-logs identically.
    experiment.flush()
    first = experiment.get_log(name).data
    experiment.log(name, first, log_type, replace=True)
    assert_same(experiment.get_log(name).data, first)
    if existing:  # leave "existing" as a LINE for the next example
        experiment.log("existing", [1.0, 2.0], "line", replace=True)


@SETTINGS
@given(log_type=st.sampled_from(TYPES), data=JUNK)
def test_a_refused_log_leaves_an_existing_log_of_each_type_unchanged(prop_client, log_type, data):
    experiment = prop_client.get_or_create_project("keep").get_or_create_experiment("keep")
    if not experiment.list_logs():
        experiment.log("LINE", {"a": [1.0, math.nan]}, "line")
        experiment.log("VALUE", 1, "value")
        experiment.log("TABLE", {"a": [1, None]}, "table")
        experiment.log("BAR", {"x": ["a"], "y": [1]}, "bar")
        experiment.log("HEATMAP", {"categories": ["a"], "values": [[1]]}, "heatmap")
        experiment.log("LABELMAP", ["cat"], "labelmap")
        experiment.log("EVALUATION", {"metrics": {"a": 1}}, "evaluation")
        experiment.log("IMAGE", np.zeros((2, 2), dtype=np.uint8), "image")
        experiment.flush()
    before = snapshot(experiment)
    try:
        normalised = True
        experiment.log(log_type, data, log_type)
    except DATA_ERRORS:
        normalised = False
    experiment.flush()
    if not normalised:
        assert same(snapshot(experiment), before)
    # Put the log back for the next example.
    experiment.log(log_type, before[log_type][1], log_type, replace=True)
    experiment.flush()
