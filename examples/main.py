"""The quick start's main job: train tiny models with each adapter, then open the dashboard.

    python examples/main.py            # logs to ./.trackboard (or TRACKBOARD_DIR), then `trackboard ui`
    python examples/main.py --no-ui    # only train and log

Each example trains a small classifier on synthetic data on the CPU (no downloads).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = ["quickstart.py", "lightning_example.py", "keras_example.py", "transformers_example.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ui", action="store_true", help="do not start the dashboard afterwards")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()

    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    for script in EXAMPLES:
        print(f"--- {script}", flush=True)
        result = subprocess.run([sys.executable, str(HERE / script)], env=env)
        if result.returncode != 0:
            print(f"{script} failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
    if args.no_ui:
        return 0
    return subprocess.call([sys.executable, "-m", "trackboard.cli", "ui", "--port", str(args.port)], env=env)


if __name__ == "__main__":
    sys.exit(main())
