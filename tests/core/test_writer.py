"""The background writer: log() only enqueues; flush() returns when everything before it is durable."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from trackboard import writer as writer_module
from trackboard.errors import FlushTimeoutError, InvalidLogError, WriteError
from trackboard.logtype import LogType
from trackboard.records import Record
from trackboard.writer import BackgroundWriter


def test_queued_points_leave_the_garbage_collectors_care():
    """The queue may hold millions of points: tracked, they would set off full collections of the
    whole process. The compact items of the per-step forms are untracked after one collection, and
    the writer gets the same records back."""
    from trackboard.normalise import normalise
    from trackboard.records import from_queue, to_queue

    datas = [normalise("loss", LogType.LINE, 0.5), normalise("m", LogType.LINE, {"steps": 3, "loss": 0.1, "acc": 1})]
    items = [to_queue("exp", "loss", LogType.LINE, data, False, 1.0) for data in datas]
    gc.collect()  # the collector lets go of a tuple once it has let go of what the tuple holds:
    gc.collect()  # the names and values first, the item at the next (young) collection
    assert [gc.is_tracked(item) for item in items] == [False, False]
    assert [from_queue(item) for item in items] == [Record("exp", "loss", LogType.LINE, d, False, 1.0) for d in datas]


def record(i: int, name: str = "r") -> Record:
    return Record("exp", name, LogType.VALUE, i, False, float(i))


class ListSink:
    """A real sink that keeps what it commits; optionally slow, refusing or failing."""

    def __init__(self, delay: float = 0.0, refuse=lambda r: False, fail_times: int = 0, poison=lambda r: False):
        self.batches: list[list[Record]] = []
        self.delay, self.refuse, self.fail_times, self.poison = delay, refuse, fail_times, poison
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, batch):
        batch = list(batch)  # a sink reads its batch once
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("database is locked")
        if any(self.poison(r) for r in batch):
            raise RuntimeError("poisoned batch")
        refused = [(r, InvalidLogError(f"VALUE {r.name!r}: refused")) for r in batch if self.refuse(r)]
        with self.lock:
            self.batches.append([r for r in batch if not self.refuse(r)])
        return refused

    @property
    def committed(self) -> list[Record]:
        return [r for batch in self.batches for r in batch]


@pytest.fixture
def make_writer():
    writers = []

    def make(sink, **kwargs):
        writer = BackgroundWriter(sink, **kwargs)
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        try:
            writer.close(timeout=10)
        except WriteError:
            pass


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(writer_module, "RETRY_DELAYS_S", (0.001, 0.001))


def test_flush_returns_after_everything_is_committed_in_order(make_writer):
    sink = ListSink()
    writer = make_writer(sink)
    for i in range(10_000):
        writer.put(record(i))
    writer.flush()
    assert [r.data for r in sink.committed] == list(range(10_000))
    assert sink.calls < 100  # batched, not one commit per record


def test_flush_without_records_returns_at_once(make_writer):
    writer = make_writer(ListSink())
    start = time.perf_counter()
    writer.flush()
    assert time.perf_counter() - start < 0.5


def test_records_are_committed_without_flush(make_writer):
    sink = ListSink()
    writer = make_writer(sink, interval=0.02)
    writer.put(record(1))
    deadline = time.monotonic() + 5
    while not sink.committed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.data for r in sink.committed] == [1]


def test_many_threads_lose_nothing_and_keep_each_threads_order(make_writer):
    sink = ListSink()
    writer = make_writer(sink)

    def work(k):
        for i in range(5_000):
            writer.put(record(i, name=f"t{k}"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.flush()
    committed = sink.committed
    assert len(committed) == 40_000
    for k in range(8):
        assert [r.data for r in committed if r.name == f"t{k}"] == list(range(5_000))


def test_put_does_not_wait_for_a_slow_sink(make_writer):
    inside, release = threading.Event(), threading.Event()
    committed = []

    def slow(batch):
        inside.set()
        release.wait(10)
        committed.extend(batch)
        return []

    writer = make_writer(slow, interval=0.01)
    writer.put(record(0))
    assert inside.wait(5)  # the writer is now inside a commit that does not end by itself
    start = time.perf_counter()
    for i in range(1, 1001):
        writer.put(record(i))
    elapsed = time.perf_counter() - start
    release.set()
    assert elapsed < 1.0, f"put() waited for the sink: {elapsed:.2f} s for 1000 puts"
    writer.flush()
    assert [r.data for r in committed] == list(range(1001))


def test_flush_timeout(make_writer):
    release = threading.Event()

    def blocked(batch):
        release.wait(10)
        return []

    writer = make_writer(blocked)
    writer.put(record(0))
    start = time.perf_counter()
    with pytest.raises(FlushTimeoutError) as caught:
        writer.flush(timeout=0.2)
    assert isinstance(caught.value, WriteError) and isinstance(caught.value, TimeoutError)
    assert time.perf_counter() - start < 2
    release.set()
    writer.flush(timeout=10)


def test_refused_records_raise_once_from_flush(make_writer):
    sink = ListSink(refuse=lambda r: r.data == 3)
    writer = make_writer(sink)
    for i in range(6):
        writer.put(record(i, name="bad" if i == 3 else "ok"))
    with pytest.raises(WriteError) as caught:
        writer.flush()
    assert "'bad'" in str(caught.value)
    assert [r.data for r in sink.committed] == [0, 1, 2, 4, 5]
    writer.flush()  # reported once


def test_transient_sink_errors_are_retried(make_writer, fast_retries):
    sink = ListSink(fail_times=2)
    writer = make_writer(sink)
    writer.put(record(1))
    writer.flush()
    assert [r.data for r in sink.committed] == [1]


def test_a_poisoned_record_does_not_sink_the_others(make_writer, fast_retries):
    sink = ListSink(poison=lambda r: r.name == "poison")
    writer = make_writer(sink)
    for i in range(5):
        writer.put(record(i, name="poison" if i == 2 else "ok"))
    with pytest.raises(WriteError) as caught:
        writer.flush()
    assert "'poison'" in str(caught.value)
    assert sorted(r.data for r in sink.committed) == [0, 1, 3, 4]


def test_batches_are_bounded(make_writer, monkeypatch):
    monkeypatch.setattr(writer_module, "MAX_BATCH", 7)
    sink = ListSink()
    writer = make_writer(sink)
    for i in range(50):
        writer.put(record(i))
    writer.flush()
    assert max(len(b) for b in sink.batches) <= 7
    assert [r.data for r in sink.committed] == list(range(50))


def test_writer_thread_is_a_daemon(make_writer):
    _writer = make_writer(ListSink(), name="trackboard-writer-test")
    thread = next(t for t in threading.enumerate() if t.name == "trackboard-writer-test")
    assert thread.daemon


def test_flush_after_close_does_not_claim_durability(make_writer):
    """flush() may only return normally when everything put before it was committed."""
    sink = ListSink()
    writer = make_writer(sink)
    writer.close()
    writer._thread.join(5)  # the writer thread has ended
    writer.put(record(1))
    try:
        writer.flush(timeout=2)
    except WriteError:
        return  # refusing to claim durability is fine
    assert [r.data for r in sink.committed] == [1], "flush() returned but the record was never committed"


# -- through the store --------------------------------------------------------------------------


def test_flush_makes_records_visible_to_another_connection(experiment, store_dir):
    for i in range(1000):
        experiment.log("loss", float(i), "line")
    experiment.log("acc", 0.5, "value")
    experiment.flush()
    with sqlite3.connect(store_dir / "trackboard.db") as conn:
        points = conn.execute(
            "SELECT SUM(c.count) FROM chunks c JOIN series s ON c.series_id = s.id "
            "JOIN logs l ON s.log_id = l.id WHERE l.name = 'loss'"
        ).fetchone()[0]
        value = conn.execute("SELECT data FROM logs WHERE name = 'acc'").fetchone()[0]
    assert points == 1000
    assert value == "0.5"


def test_log_returns_before_the_commit(experiment):
    start = time.perf_counter()
    for i in range(10_000):
        experiment.log("loss", float(i), "line")
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0  # microseconds per call, not a commit per call
    experiment.flush()
    assert len(experiment.get_log("loss").data["values"]) == 10_000


def test_exit_flushes_what_was_logged(tmp_path):
    """A script that never calls flush() or close() still has its logs stored when it exits."""
    directory = tmp_path / "store"
    script = textwrap.dedent(f"""
        from trackboard import Client
        experiment = Client(directory={str(directory)!r}).get_or_create_project("p").create_experiment("e")
        for i in range(5000):
            experiment.log("loss", float(i), "line")
        experiment.log("acc", 0.75, "value")
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    from trackboard.backend import release as release_store
    from trackboard import Client

    try:
        experiment = Client(directory=directory).get_project("p").get_experiment("e")
        assert experiment.get_log("acc").data == 0.75
        assert experiment.get_log("loss").data["values"] == [float(i) for i in range(5000)]
        assert experiment.status == "SUCCESS"  # a normal exit closes what was left open
    finally:
        release_store(directory)


def test_a_producer_faster_than_the_store_waits_at_the_bound(make_writer, monkeypatch):
    """Back-pressure: with the store slower than the producer, the queue never holds more than
    MAX_QUEUED_POINTS points (compact items of several points count each point), and nothing is
    lost or reordered."""
    from trackboard.records import StepValues, to_queue

    monkeypatch.setattr(writer_module, "MAX_QUEUED_POINTS", 100)
    sink = ListSink(delay=0.005)
    writer = make_writer(sink, interval=0.005)
    highest = 0
    for i in range(600):
        if i % 2:
            writer.put(record(i))
        else:  # ten points in one item
            writer.put(to_queue("exp", "m", LogType.LINE, StepValues(tuple("abcdefghij"), (float(i),) * 10, i, None),
                                False, float(i)))
        highest = max(highest, writer.pending() + writer._extra)
    writer.flush()
    assert highest <= 100 + 10
    assert writer._extra == 0
    committed = sink.committed
    assert len(committed) == 600 and [r.time for r in committed] == [float(i) for i in range(600)]


def test_points_per_batch_are_bounded(make_writer, monkeypatch):
    from trackboard.records import StepValues, to_queue

    monkeypatch.setattr(writer_module, "MAX_BATCH", 30)
    sink = ListSink()
    writer = make_writer(sink)
    for i in range(20):
        writer.put(to_queue("exp", "m", LogType.LINE, StepValues(tuple("abcdefghij"), (1.0,) * 10, i, None),
                            False, float(i)))
    writer.flush()
    assert max(len(b) for b in sink.batches) <= 3  # 30 points: three items of ten
