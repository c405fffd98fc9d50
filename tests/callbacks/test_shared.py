"""What the three adapters share: parameters, confusion matrices, the experiment choice, the run."""

from __future__ import annotations

import dataclasses
import doctest
import enum
import importlib
import math
import pickle
import subprocess
import sys
import threading
import warnings
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackboard import Client, LogType
from trackboard.callbacks._classification import (
    class_ids,
    classification_logs,
    confusion_counts,
    metrics_from_confusion,
)
from trackboard.callbacks._experiment import ExperimentChoice, default_project_name
from trackboard.callbacks._guards import FailureReporter, TrackingWarning, never_raises, rank_zero_hook
from trackboard.callbacks._lines import LineBuffer
from trackboard.callbacks._params import sanitize, to_params
from trackboard.callbacks._run import TrackedRun

from cbhelpers import RecordingExperiment, only_experiment, tracking_warnings

SHARED = ["_guards", "_params", "_classification", "_lines", "_target", "_experiment", "_run"]


@pytest.mark.parametrize("name", SHARED)
def test_docstring_examples(name):
    module = importlib.import_module(f"trackboard.callbacks.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_package_imports_no_framework():
    code = ("import sys, trackboard.callbacks; "
            "print(sorted(m for m in ('torch', 'keras', 'transformers', 'lightning', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- parameters ----------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Optimizer:
    name: str = "adam"
    betas: tuple = (0.9, 0.999)


def test_sanitize_converts_every_kind_of_hyperparameter(experiment):
    import torch

    params = {
        "ns": Namespace(lr=0.1, nested=Namespace(depth=2)),
        "dataclass": Optimizer(),
        "enum": Color.RED,
        "path": Path("/data/train"),
        "dtype": torch.float16,
        "np_dtype": np.dtype("int8"),
        "callable": math.sqrt,
        "class": Optimizer,
        "lambda": lambda x: x,
        "tensor": torch.tensor([1.5, 2.5]),
        "np_scalar": np.float32(0.5),
        "set": {3, 1, 2},
        "bytes": b"\xffab",
        "nan": float("nan"),
        "nested": {1: {"deep": [Color.RED, None, (1, 2)]}},
        "long": "y" * 10_000,
    }
    table = sanitize(params)
    assert table["ns"] == {"lr": 0.1, "nested": {"depth": 2}}
    assert table["dataclass"] == {"name": "adam", "betas": [0.9, 0.999]}
    assert table["enum"] == "red" and table["path"] == "/data/train"
    assert table["dtype"] == "torch.float16" and table["np_dtype"] == "int8"
    assert table["callable"] == "math.sqrt"
    assert table["class"].endswith("Optimizer")
    assert "lambda" in table["lambda"]
    assert table["tensor"] == [1.5, 2.5] and table["np_scalar"] == 0.5
    assert table["set"] == [1, 2, 3] and table["bytes"] == "\\xffab"
    assert math.isnan(table["nan"])
    assert table["nested"] == {"1": {"deep": ["red", None, [1, 2]]}}
    assert len(table["long"]) == 10_000
    experiment.log("parameters", table, LogType.TABLE)  # the core takes it as it is
    assert experiment.get_log("parameters").data["nested"] == table["nested"]


def test_sanitize_never_raises_on_hostile_objects():
    class BrokenRepr:
        def __repr__(self):
            raise RuntimeError("no repr")

    class RaisingConfig:
        def to_dict(self):
            raise RuntimeError("no dict")

    table = sanitize({"a": BrokenRepr(), "b": RaisingConfig()})
    assert table["a"] == "<BrokenRepr object>"
    assert isinstance(table["b"], str)


hyperparameters = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from([Color.RED, Path("/x"), math.sqrt, np.float64(1.5), np.int32(2), b"raw"]),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    | st.builds(lambda d: Namespace(**{f"k{i}": v for i, v in enumerate(d)}), st.lists(children, max_size=3)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), hyperparameters, min_size=1, max_size=5))
def test_any_hyperparameters_become_a_valid_table(params):
    from trackboard.normalise import normalise

    table = sanitize(params)
    assert normalise("parameters", LogType.TABLE, table) == table  # accepted as is, nothing lost


def test_to_params_accepts_what_frameworks_hand_over():
    assert to_params(Namespace(a=1)) == {"a": 1}
    assert to_params(Optimizer()) == {"name": "adam", "betas": (0.9, 0.999)}
    assert to_params({"x": 1}) == {"x": 1}
    with pytest.raises(TypeError):
        to_params(3)


# -- confusion matrix ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60))
def test_metrics_agree_with_scikit_learn(pairs):
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true, y_pred = np.array(pairs).T
    cm = confusion_counts(y_true, y_pred, 4)
    assert cm.sum() == len(pairs)
    overall, per_class = metrics_from_confusion(cm, ["a", "b", "c", "d"])
    assert overall["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=range(4), zero_division=0)
    assert [per_class[c]["precision"] for c in "abcd"] == pytest.approx(precision.tolist())
    assert [per_class[c]["recall"] for c in "abcd"] == pytest.approx(recall.tolist())
    assert [per_class[c]["f1"] for c in "abcd"] == pytest.approx(f1.tolist())
    assert [per_class[c]["support"] for c in "abcd"] == support.tolist()


def test_class_ids_from_every_output_shape():
    assert class_ids([[0.2, 0.8], [0.9, 0.1]]).tolist() == [1, 0]
    assert class_ids([[[0.2, 0.8]], [[0.9, 0.1]]]).tolist() == [1, 0]  # per-token rows
    assert class_ids([[0.3], [0.6]]).tolist() == [0, 1]  # sigmoid
    assert class_ids([-2.0, 3.0]).tolist() == [0, 1]  # a logit
    assert class_ids(np.eye(3)[[2, 0]]).tolist() == [2, 0]  # one-hot
    assert class_ids([0.0, 2.0, 1.0]).tolist() == [0, 2, 1]  # float-typed ids


def test_classification_logs_are_accepted_by_the_core(experiment):
    cm = confusion_counts([0, 1, 2, 2], [0, 2, 2, 1], 3)
    for name, data, log_type in classification_logs(cm, ["a", "b"], metrics={"val_loss": 0.5, "note": "x"}):
        experiment.log(name, data, log_type)
    assert experiment.get_log("confusion_matrix").data == {"categories": ["a", "b", "2"],
                                                           "values": [[1, 0, 0], [0, 0, 1], [0, 1, 1]]}
    assert experiment.get_log("evaluation").data["metrics"]["val_loss"] == 0.5


# -- choosing the experiment ------------------------------------------------------------------


def test_arguments_win_over_environment_over_defaults(monkeypatch):
    monkeypatch.setenv("TRACKBOARD_PROJECT", "env-project")
    monkeypatch.setenv("TRACKBOARD_EXPERIMENT", "env-experiment")
    chosen = ExperimentChoice.resolve("arg-project", "arg-experiment", None, "keras")
    assert (chosen.project, chosen.name, chosen.explicit) == ("arg-project", "arg-experiment", True)
    chosen = ExperimentChoice.resolve(None, None, None, "keras")
    assert (chosen.project, chosen.name, chosen.explicit) == ("env-project", "env-experiment", True)
    monkeypatch.delenv("TRACKBOARD_PROJECT")
    monkeypatch.delenv("TRACKBOARD_EXPERIMENT")
    first, second = (ExperimentChoice.resolve(None, None, None, "keras") for _ in range(2))
    assert first.project == default_project_name()
    assert first.name.startswith("keras-") and first.name != second.name and not first.explicit


def test_an_experiment_must_have_a_log_method():
    with pytest.raises(TypeError, match="log"):
        ExperimentChoice.resolve(None, 42, None, "keras")


def test_a_checkpoint_id_never_overrides_an_experiment_the_user_named(client):
    run = TrackedRun("p", "named", client, framework="keras")
    assert not run.resume({"experiment_id": "some-id", "experiment": "other"})
    run = TrackedRun("p", None, client, framework="keras")
    assert run.resume({"experiment_id": "some-id", "experiment": "other"})
    assert run.experiment_label == "other"


# -- the run ------------------------------------------------------------------------------------


def test_nothing_is_created_before_the_first_record(client):
    run = TrackedRun("p", None, client, framework="keras")
    run.finish("SUCCESS")  # nothing logged: nothing to finish
    assert client.list_projects() == []
    run.log_metrics({"loss": 1.0}, step=0)
    run.finish("SUCCESS")
    assert only_experiment(client).get_log("loss").data["steps"] == [0]


def test_points_are_logged_in_batches_with_their_own_times(client):
    run = TrackedRun("p", "e", client, framework="keras")
    for step in range(5):
        run.log_metrics({"loss": 1.0 / (step + 1), "acc": step}, step=step, epoch=step // 2)
    assert client.list_projects() == []  # still queued: one record per metric will carry them
    run.flush()
    loss = only_experiment(client).get_log("loss").data
    assert loss["steps"] == [0, 1, 2, 3, 4] and loss["epochs"] == [0, 0, 1, 1, 2]
    assert loss["times"] == sorted(loss["times"]) and loss["times"][0] < loss["times"][-1]


def test_points_queue_safely_from_many_threads():
    buffer = LineBuffer(max_points=10**9, max_age=10**9)

    def fill(offset):
        for i in range(1000):
            buffer.add({"loss": float(i)}, step=offset + i, epoch=None, now=0.0)

    threads = [threading.Thread(target=fill, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(buffer.drain()["loss"]["steps"]) == list(range(4000))


def test_tensor_values_are_converted_when_logged_not_when_queued(client):
    import torch

    run = TrackedRun("p", "e", client, framework="lightning")
    value = torch.tensor(0.25, requires_grad=True) * 2
    run.log_metrics({"loss": value}, step=0)
    queued = run._lines.drain()
    assert isinstance(queued["loss"]["values"][0], float) and queued["loss"]["values"][0] == 0.5


def test_a_broken_store_warns_once_then_stays_quiet(broken_store_env):
    run = TrackedRun("p", None, None, framework="keras")

    @never_raises("log metrics")
    def hook(self, step):
        self._run.log_metrics({"loss": 1.0}, step)
        self._run.flush_lines()

    adapter = type("Adapter", (), {"_run": run, "hook": hook})()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(50):
            adapter.hook(step)
        run.finish("SUCCESS")
    assert len(tracking_warnings(caught)) == 1


def test_the_run_pickles_without_its_store_and_reopens_the_same_experiment(client):
    run = TrackedRun("p", None, client, framework="keras")
    run.log_metrics({"loss": 1.0}, step=0)
    run.flush()
    clone = pickle.loads(pickle.dumps(run))
    clone.log_metrics({"loss": 2.0}, step=1)
    clone.finish("SUCCESS")
    experiment = only_experiment(client)
    assert experiment.get_log("loss").data["values"] == [1.0, 2.0]
    assert experiment.status == "SUCCESS"


def test_a_given_trackboard_experiment_pickles_as_its_id(experiment, client):
    run = TrackedRun(None, experiment, None, framework="keras")
    clone = pickle.loads(pickle.dumps(run))
    assert clone.choice.given is None and clone.choice.experiment_id == experiment.id
    clone.log_metrics({"x": 1.0}, step=0)
    clone.flush()
    assert experiment.get_log("x").data["values"] == [1.0]
    assert clone.project_name == "test-project"


def test_a_finished_experiment_can_be_continued(client):
    done = client.get_or_create_project("p").create_experiment("done")
    done.log("loss", {"steps": [0], "values": [2.0]}, LogType.LINE)
    done.close("FAILED")
    run = TrackedRun("p", "done", client, framework="keras")
    run.log_metrics({"loss": 1.0}, step=1)
    run.finish("SUCCESS")
    assert done.get_log("loss").data["values"] == [2.0, 1.0]
    assert done.status == "SUCCESS"


def test_disabled_mode_runs_and_stores_nothing(store_dir):
    client = Client(directory=store_dir, mode="disabled")
    run = TrackedRun("p", None, client, framework="keras")
    run.log_parameters({"lr": 0.1})
    run.log_metrics({"loss": 1.0}, step=0)
    run.finish("SUCCESS")
    assert run.failures == 0


# -- foreign experiments -------------------------------------------------------------------------


def test_a_foreign_experiment_is_fed_from_a_worker_thread_in_order():
    seen_threads = set()

    class Slow(RecordingExperiment):
        def log(self, name, data, type, replace=False):
            seen_threads.add(threading.current_thread().name)
            super().log(name, data, type, replace)

    foreign = Slow()
    run = TrackedRun(None, foreign, None, framework="keras")
    run.log_parameters({"lr": 0.1})
    run.log_parameters({"epochs": 2})
    for step in range(3):
        run.log_metrics({"loss": float(step)}, step=step, epoch=0)
    run.finish("SUCCESS")
    assert seen_threads == {"trackboard-forward"}
    assert foreign.last("parameters") == {"lr": 0.1, "epochs": 2}  # merged like trackboard does
    assert foreign.points("loss") == {"steps": [0, 1, 2], "values": [0.0, 1.0, 2.0], "epochs": [0, 0, 0]}
    line_calls = [c for c in foreign.calls if c[2] == "LINE"]
    assert all(replace is False for *_, replace in line_calls)  # trackboard semantics: LINE appends


def test_a_failing_foreign_experiment_is_one_warning():
    class Failing(RecordingExperiment):
        def log(self, name, data, type, replace=False):
            raise ConnectionError("server down")

    run = TrackedRun(None, Failing(), None, framework="keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(10):
            run.log_metrics({"loss": 1.0, "acc": 0.5}, step=step)
            run.flush_lines()
        run.finish("SUCCESS")
    assert len(tracking_warnings(caught)) == 1


# -- guards --------------------------------------------------------------------------------------


def test_guards_skip_other_ranks_and_turn_errors_into_warnings():
    class Adapter:
        rank = 0

        def __init__(self):
            self._run = type("Run", (), {"report": FailureReporter().report})()
            self.calls = 0

        def _is_rank_zero(self, *args, **kwargs):
            return self.rank == 0

        @rank_zero_hook("do the thing")
        def hook(self, fail=False):
            self.calls += 1
            if fail:
                raise ValueError("bad")
            return "done"

    adapter = Adapter()
    assert adapter.hook() == "done"
    with pytest.warns(TrackingWarning, match="could not do the thing"):
        assert adapter.hook(fail=True) is None
    adapter.rank = 1
    assert adapter.hook(fail=True) is None and adapter.calls == 2
    adapter.rank = None  # a rank that cannot be read (a framework's state not set up yet)
    adapter._is_rank_zero = lambda *args, **kwargs: {0: True}[adapter.rank]
    adapter._run = type("Run", (), {"report": FailureReporter().report})()
    with pytest.warns(TrackingWarning, match="could not do the thing .KeyError"):
        assert adapter.hook() is None and adapter.calls == 2


def test_a_users_log_of_another_type_is_never_replaced(experiment):
    from trackboard import LogTypeConflictError

    experiment.log("confusion_matrix", {"note": "mine"}, LogType.TABLE)
    run = TrackedRun(None, experiment, None, framework="keras")
    with pytest.raises(LogTypeConflictError):
        run.log_records(classification_logs(np.eye(2, dtype=int), ["a", "b"]))
    assert experiment.get_log("confusion_matrix").data == {"note": "mine"}


def test_points_still_queued_at_exit_are_stored(store_dir):
    # A run that dies without its end hook (an exception in fit, Ctrl+C): the last points are kept.
    code = f"""
import sys
from trackboard import Client
from trackboard.callbacks._run import TrackedRun
run = TrackedRun("p", "crashed", Client(directory={str(store_dir)!r}), framework="keras")
for step in range(5):
    run.log_metrics({{"loss": 1.0 / (step + 1)}}, step=step, epoch=0)
run.flush_lines()  # opens the experiment; the next points stay queued in the adapter
for step in range(5, 8):
    run.log_metrics({{"loss": 0.1}}, step=step, epoch=0)
sys.exit("training crashed")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    experiment = Client(directory=store_dir).get_project("p").get_experiment("crashed")
    assert experiment.get_log("loss").data["steps"] == list(range(8))
