"""Runs that go wrong, in all three adapters: real fits, real processes, real signals.

| scenario                          | Keras   | Lightning | Hugging Face |
| --------------------------------- | ------- | --------- | ------------ |
| sweep catches a failing config    | FAILED  | FAILED    | FAILED       |
| uncaught exception                | FAILED  | FAILED    | FAILED       |
| SIGINT (Ctrl-C)                   | FAILED  | FAILED    | FAILED       |
| SIGTERM (``timeout``)             | FAILED  | FAILED    | FAILED       |
| SIGKILL, read by a new process    | CRASHED | CRASHED   | CRASHED      |
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from trackboard import Client

from lifecycle_fits import FAIL_AT, FITS, READY_AT, Boom

HERE = Path(__file__).parent
FRAMEWORKS = sorted(FITS)
LOSS = {"keras": "loss", "lightning": "train_loss", "transformers": "loss"}


def stored(client: Client, name: str = "run"):
    experiment = client.get_project("p").get_experiment(name)
    return experiment.status, experiment.get_log(LOSS_NAME[0]).data["steps"]


LOSS_NAME = [""]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_sweep_that_catches_a_failing_config_records_it_failed_with_its_points(client, framework):
    LOSS_NAME[0] = LOSS[framework]
    for name, fail_at in (("bad", FAIL_AT), ("good", None)):
        try:
            FITS[framework](client, name, fail_at=fail_at, epochs=2)
        except Boom:
            continue  # the sweep goes on
    status, steps = stored(client, "bad")
    assert status == "FAILED"
    assert steps and max(steps) >= FAIL_AT - 1  # every point logged before the failure
    assert stored(client, "good")[0] == "SUCCESS"


def run_script(framework, mode, store, *prefix):
    env = {**os.environ, "TRACKBOARD_HEARTBEAT_INTERVAL": "0.5", "PYTHONPATH": str(HERE)}
    return subprocess.Popen([*prefix, sys.executable, str(HERE / "lifecycle_fits.py"), framework, mode, str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def ready(proc):
    for line in proc.stdout:
        if line.strip() == "READY":
            return
    raise AssertionError(proc.stderr.read()[-3000:])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("how", ["raise", "sigint", "sigterm", "sigkill"])
def test_a_process_that_dies_ends_in_a_true_status(store_dir, framework, how):
    LOSS_NAME[0] = LOSS[framework]
    if how == "raise":
        proc = run_script(framework, "raise", store_dir)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode != 0 and "Boom" in err
    else:
        prefix = ("timeout", "-s", "TERM", "1") if how == "sigterm" else ()
        proc = run_script(framework, "wait", store_dir, *prefix)
        ready(proc)
        if how == "sigint":
            proc.send_signal(signal.SIGINT)
        elif how == "sigkill":
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=240)
        if how == "sigterm":
            assert proc.returncode == 124  # the signal ended the program, as without trackboard
    status, steps = stored(Client(directory=store_dir))
    assert status == ("CRASHED" if how == "sigkill" else "FAILED")
    floor = FAIL_AT - 1 if how == "raise" else READY_AT
    assert steps and max(steps) >= (READY_AT - 1 if how == "sigkill" else floor)
