"""On a machine with an NVIDIA GPU: GPU metrics appear, and sampling them costs the GPU nothing.

    python benchmarks/check_gpu_capture.py          # needs an NVIDIA GPU; about 20 s

Prints one table:

- the ``system/gpu_*`` logs an experiment gets (one series per GPU) and their last values;
- whether sampling created a CUDA context (``torch.cuda.is_initialized()`` stays False while only
  capture has run): NVML reads the driver's counters, so no context, no stream and no
  synchronisation is involved;
- a CUDA training loop's median step time with capture off and on (sampling every 0.05 s, 200x
  the default rate), measured alternately in the same run, under ``set_sync_debug_mode("warn")``:
  the synchronisations counted must be the loop's own (the same count in both runs).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from results_table import ms, print_table, row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from trackboard import Client  # noqa: E402
from trackboard.capture import Sampler  # noqa: E402
from trackboard.capture.monitors import GpuMonitor  # noqa: E402
from trackboard.capture.monitors.gpu import describe_gpus  # noqa: E402


def loop(experiment, steps: int = 300) -> tuple[float, int]:
    model = torch.nn.Linear(512, 512).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(256, 512, device="cuda")
    times = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        for step in range(steps):
            start = time.perf_counter_ns()
            loss = model(x).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter_ns() - start)
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()
    syncs = sum("synchroniz" in str(w.message) for w in caught)
    return statistics.median(times), syncs


def main() -> None:
    gpus = describe_gpus()
    if not gpus:
        print("no NVIDIA GPU visible through NVML: nothing to check")
        return
    row("GPUs (NVML)", ", ".join(g["name"] for g in gpus))
    with tempfile.TemporaryDirectory() as directory:
        client = Client(directory=directory)
        project = client.get_or_create_project("gpu")
        # Capture alone first: it must not create a CUDA context.
        experiment = project.create_experiment("capture-only", capture=False)
        sampler = Sampler(experiment, 0.05, [GpuMonitor()], record=False).start()
        time.sleep(1.0)
        sampler.stop()
        row("CUDA context created by sampling", str(torch.cuda.is_initialized()), "False", "", not torch.cuda.is_initialized())
        logs = {log.name: log for log in experiment.list_logs()}
        for name in sorted(logs):
            data = logs[name].data
            last = {series: values["values"][-1] for series, values in data.items()}
            row(name, ", ".join(f"{s}={v:.1f}" for s, v in last.items()))
        row("GPU logs present", str(len(logs)), ">= 3", "", len(logs) >= 3)
        results = {"off": [], "on": []}
        syncs = {"off": [], "on": []}
        for round_ in range(3):
            for mode in ("off", "on"):
                run = project.create_experiment(f"{mode}-{round_}", capture=False)
                sampler = Sampler(run, 0.05, [GpuMonitor()], record=False).start() if mode == "on" else None
                median, count = loop(run)
                if sampler:
                    sampler.stop()
                results[mode].append(median)
                syncs[mode].append(count)
        off, on = statistics.median(results["off"]), statistics.median(results["on"])
        row("CUDA step, median (sampling every 0.05 s)", ms(on), ms(off), f"{on / off:.2f}x", on / off < 1.10)
        row("host-device syncs in the loop", str(syncs["on"]), str(syncs["off"]), "equal", syncs["on"] == syncs["off"])
    print_table()


if __name__ == "__main__":
    main()
