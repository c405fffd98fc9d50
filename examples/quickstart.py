"""Every snippet of trackboard's API, on the embedded store (./.trackboard or TRACKBOARD_DIR).

    python examples/quickstart.py && trackboard ui
"""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

import numpy as np

from trackboard import Client, LogType


def main() -> str:
    client = Client()  # embedded store in ./.trackboard (no server)
    project = client.get_or_create_project("My awesome Project")
    # No name: a new run each time the script runs, named like W&B's ("brave-otter-3").
    with project.create_experiment(description="quick start", parameters={"lr": 1e-3}) as experiment:
        # LINE: a list appends points at steps 0, 1, 2...; later calls continue from the last step.
        experiment.log("TotalLoss", [3, 1.25, 1.4, 0.35, 0.95], LogType.LINE)
        experiment.log("TotalLoss", 0.3, LogType.LINE)
        # Several series in one chart, at explicit steps, with the epoch of each point.
        for step in range(0, 200, 10):
            experiment.log("train/losses", {"steps": step, "epochs": step // 50,
                                            "box_loss": 2 * math.exp(-step / 60) + random.random() * 0.05,
                                            "cls_loss": math.exp(-step / 80) + random.random() * 0.05}, "line")
        experiment.log("val/accuracy", {"steps": [50, 100, 150], "values": [0.71, 0.83, 0.88]}, LogType.LINE)

        experiment.log("accuracy", 0.95, LogType.VALUE)  # latest wins; shown in the summary
        experiment.log("best_epoch", 3, "value")
        experiment.log_parameters({"batch_size": 32, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}})
        experiment.log("dataset", {"data": [[800, 100], [120, 30]], "rows": ["train", "val"],
                                   "columns": ["images", "objects"]}, LogType.TABLE)
        experiment.log("class_distribution", {"x": ["cat", "dog", "bird"], "y": [120, 98, 45]}, LogType.BAR)
        experiment.log("labelmap", ["cat", "dog", "bird"], LogType.LABELMAP)
        experiment.log("confusion", {"categories": ["cat", "dog", "bird"],
                                     "values": [[50, 3, 1, 2], [4, 40, 2, 1], [0, 1, 30, 3], [1, 2, 0, 0]]},
                       LogType.HEATMAP)  # (N+1) x (N+1): the last row/column are FP/FN
        gradient = np.linspace(0, 1, 64 * 96 * 3).reshape(64, 96, 3)
        experiment.log("sample", gradient, LogType.IMAGE)
        experiment.log("evaluation", {
            "split": "val",
            "metrics": {"accuracy": 0.88, "f1": 0.86},
            "per_class": {"cat": {"precision": 0.9, "recall": 0.89}, "dog": {"precision": 0.87, "recall": 0.85}},
            "samples": [{"id": "img_001", "ground_truth": "cat", "prediction": "cat", "score": 0.97},
                        {"id": "img_002", "ground_truth": "dog", "prediction": "cat", "score": 0.55}],
        }, LogType.EVALUATION)

        with tempfile.TemporaryDirectory() as tmp:
            weights = Path(tmp) / "model.txt"
            weights.write_text("tiny model weights")
            experiment.store("model", weights)

        experiment.flush()
        assert experiment.get_log("TotalLoss").data["values"][-1] == 0.3
        print(f"logged {len(experiment.list_logs())} logs to experiment {experiment.name!r} ({experiment.id})")
    return experiment.id


if __name__ == "__main__":
    main()
