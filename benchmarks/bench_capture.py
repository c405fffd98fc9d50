"""What context capture costs: the sampler's CPU, and the one-time record of the environment.

    python benchmarks/bench_capture.py            # about 30 s
    python benchmarks/bench_capture.py --seconds 4

The sampler thread sleeps between samples, so its cost is (CPU per sample) / interval. CPU per
sample is measured over many samples at a short interval: the whole process's CPU time
(``time.process_time``: sampler, writer and store together) with capture on, minus the same
process idling as long with an open experiment and capture off (the baseline, measured in the
same run, alternating, so machine load hits both alike). The default interval's cost follows.
Target: well under 1% of one core at the default 10 s interval.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from results_table import ms, print_table, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trackboard import Client  # noqa: E402
from trackboard.backend import release  # noqa: E402
from trackboard.capture import context, system_interval  # noqa: E402

FAST_INTERVAL_S = 0.05


def idle_cpu(client: Client, name: str, seconds: float, capture: bool) -> tuple[float, int]:
    """Process CPU seconds spent while an experiment stays open ``seconds``; and samples taken."""
    experiment = client.get_or_create_project("bench").create_experiment(name, capture=capture)
    time.sleep(0.5)  # past the one-time environment record (measured on its own below)
    before, samples_before = time.process_time(), experiment._sampler.samples if experiment._sampler else 0
    time.sleep(seconds)
    spent = time.process_time() - before
    samples = (experiment._sampler.samples if experiment._sampler else 0) - samples_before
    experiment.close()
    return spent, samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measured window")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["TRACKBOARD_SYSTEM_INTERVAL"] = str(FAST_INTERVAL_S)
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        per_sample, baselines, captured = [], [], []
        for i in range(args.rounds):
            base, _ = idle_cpu(client, f"off-{i}", args.seconds, capture=False)
            spent, samples = idle_cpu(client, f"on-{i}", args.seconds, capture=True)
            baselines.append(base)
            captured.append(spent)
            per_sample.append(max(spent - base, 0.0) / max(samples, 1))
        cost = statistics.median(per_sample)
        window = f"{args.seconds:g} s idle"
        row(f"process CPU, {window}, capture off", ms(statistics.median(baselines) * 1e9), "", "baseline")
        row(f"process CPU, {window}, sampling every {FAST_INTERVAL_S:g} s", ms(statistics.median(captured) * 1e9),
            ms(statistics.median(baselines) * 1e9))
        row("CPU per sample (all monitors, through the writer)", ms(cost * 1e9))
        del os.environ["TRACKBOARD_SYSTEM_INTERVAL"]
        default = system_interval()
        share = 100 * cost / default
        row(f"share of one core at the default {default:g} s interval", f"{share:.4f} %", "", "< 1 %", share < 1.0)
        share_1s = 100 * cost
        row("share of one core at a 1 s interval", f"{share_1s:.3f} %", "", "< 1 %", share_1s < 1.0)
        # The one-time record, on the capture thread when an experiment is created.
        experiment = client.get_or_create_project("bench").create_experiment("record", capture=False)
        times = []
        for _ in range(5):
            start = time.perf_counter_ns()
            context.record_context(experiment)
            times.append(time.perf_counter_ns() - start)
        row("environment + requirements.txt + git, once per experiment (off the caller's thread)",
            ms(statistics.median(times)))
        create_off, create_on = [], []
        project = client.get_or_create_project("bench")
        for i in range(10):
            for capture, out in ((False, create_off), (True, create_on)):
                start = time.perf_counter_ns()
                made = project.create_experiment(f"create-{capture}-{i}", capture=capture)
                out.append(time.perf_counter_ns() - start)
                made.close()
        row("create_experiment on the caller's thread", ms(statistics.median(create_on)),
            ms(statistics.median(create_off)), "baseline: capture off")
        release(directory)
    print_table()


if __name__ == "__main__":
    main()
