"""A process SIGKILLed after flush() keeps everything flushed, and the store opens cleanly."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from trackboard import Client, LogType

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

FLUSH_THEN_KEEP_WRITING = textwrap.dedent("""
    import sys
    import numpy as np
    from trackboard import Client
    directory, artifact = sys.argv[1], sys.argv[2]
    experiment = Client(directory=directory).get_or_create_project("p").create_experiment("e")
    experiment.log("acc", 0.5, "value")
    experiment.log("hp", {"lr": 0.1, "layers": [1, 2]}, "table")
    experiment.log("img", np.arange(12, dtype=np.uint8).reshape(3, 4), "image")
    experiment.store("model", artifact)
    for chunk in range(20):
        experiment.log("loss", {"steps": list(range(chunk * 1000, chunk * 1000 + 1000)),
                                "values": [float(i) for i in range(chunk * 1000, chunk * 1000 + 1000)]}, "line")
    for i in range(1000):
        experiment.log("per_step", float(i), "line")
    experiment.flush()
    print("FLUSHED", flush=True)
    i = 0
    while True:  # keep the writer busy so the kill lands mid-transaction
        experiment.log("loss", {"steps": [20_000 + i], "values": [float(20_000 + i)]}, "line")
        experiment.log("per_step", float(1000 + i), "line")
        experiment.log("acc", 0.9, "value")
        i += 1
        if i % 5000 == 0:
            experiment.flush()
""")


def start(script, *args):
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def integrity(store_dir) -> str:
    with sqlite3.connect(store_dir / "trackboard.db") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def contiguous_prefix(data) -> None:
    """Points after the flushed ones are whole: steps count up by one with matching values."""
    assert data["steps"] == list(range(len(data["steps"])))
    assert data["values"] == [float(s) for s in data["steps"]]


def test_sigkill_after_flush_keeps_everything_flushed(store_dir, tmp_path):
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(os.urandom(4096))
    proc = start(FLUSH_THEN_KEEP_WRITING, store_dir, artifact)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "FLUSHED", proc.stderr.read()[-3000:]
        time.sleep(0.5)
    finally:
        kill(proc)

    assert integrity(store_dir) == "ok"
    client = Client(directory=store_dir)
    experiment = client.get_project("p").get_experiment("e")
    assert experiment.status == "CRASHED"  # its process is gone from this host
    assert experiment.get_log("acc").data in (0.5, 0.9)
    assert experiment.get_log("hp").data == {"lr": 0.1, "layers": [1, 2]}
    image = experiment.get_log("img")
    assert image.type is LogType.IMAGE and len(image.read_bytes()) == image.data["size"]
    assert experiment.get_artifact("model").download(tmp_path / "out").read_bytes() == artifact.read_bytes()
    loss = experiment.get_log("loss").data
    assert len(loss["steps"]) >= 20_000
    contiguous_prefix(loss)
    per_step = experiment.get_log("per_step").data
    assert len(per_step["steps"]) >= 1000
    contiguous_prefix(per_step)

    # The store is usable: appends continue where the survivors end.
    survivors = len(per_step["steps"])
    experiment.log("per_step", float(survivors), "line")
    experiment.log("after", 1, "value")
    experiment.close()
    per_step = experiment.get_log("per_step").data
    assert per_step["steps"][-1] == survivors
    contiguous_prefix(per_step)
    assert experiment.status == "SUCCESS"


FLUSH_LOOP = textwrap.dedent("""
    import sys
    from trackboard import Client
    experiment = Client(directory=sys.argv[1]).get_or_create_project("p").get_or_create_experiment("e")
    total = 0
    while True:
        for _ in range(2000):
            experiment.log("loss", float(total), "line")
            experiment.log("m", {"a": float(total), "b": float(total)}, "line")
            total += 1
        experiment.flush()
        print(total, flush=True)
""")


@pytest.mark.parametrize("kill_after", [1, 4])
def test_sigkill_during_flush_cycles(store_dir, kill_after):
    proc = start(FLUSH_LOOP, store_dir)
    durable = 0
    try:
        for _ in range(kill_after):
            line = proc.stdout.readline()
            assert line.strip(), proc.stderr.read()[-3000:]
            durable = int(line)
        time.sleep(0.02 * kill_after)  # land somewhere inside the next cycle
    finally:
        kill(proc)

    assert integrity(store_dir) == "ok"
    experiment = Client(directory=store_dir).get_project("p").get_experiment("e")
    loss = experiment.get_log("loss").data
    assert len(loss["steps"]) >= durable
    contiguous_prefix(loss)
    multi = experiment.get_log("m").data
    for name in ("a", "b"):
        assert len(multi[name]["steps"]) >= durable
        contiguous_prefix(multi[name])
    # Reopening after a crash and logging again works.
    experiment.log("loss", -1.0, "line")
    experiment.flush()
    assert experiment.get_log("loss").data["values"][-1] == -1.0
