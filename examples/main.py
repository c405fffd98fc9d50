"""The quick start's main job: train tiny models with each adapter, then open the dashboard.

    python examples/main.py              # logs to ./.trackboard (or TRACKBOARD_DIR), then `trackboard ui`
    python examples/main.py --no-ui      # only train and log
    python examples/main.py --port 8090  # the dashboard on another port

Each example trains a small classifier on synthetic data on the CPU (no downloads), into a project
of its own: "lightning" (a sweep of three learning rates), "keras", "transformers", and the quick
start's "My awesome Project". Ctrl-C stops it at any point.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = ["quickstart.py", "lightning_example.py", "keras_example.py", "transformers_example.py"]
# Runs a script as `python SCRIPT` does, but a Ctrl-C that reaches it (during an import too) ends it
# without a traceback: the exit status still says SIGINT, and a run it had started is marked FAILED.
QUIET_CTRL_C = """
import runpy, sys
default_hook = sys.excepthook
sys.excepthook = lambda kind, value, tb: None if issubclass(kind, KeyboardInterrupt) else default_hook(kind, value, tb)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ui", action="store_true", help="do not start the dashboard afterwards")
    parser.add_argument("--port", type=int, default=8080, help="the dashboard's port (default 8080)")
    args = parser.parse_args()

    if not args.no_ui:  # before training, not a minute later
        from trackboard.errors import TrackboardError
        from trackboard.server.serve import check_port_free

        try:
            check_port_free("127.0.0.1", args.port)
        except TrackboardError as error:
            print(f"examples/main.py: {error} (or --no-ui)", file=sys.stderr)
            return 1
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    for script in EXAMPLES:
        print(f"--- {script}", flush=True)
        code = run([sys.executable, "-c", QUIET_CTRL_C, str(HERE / script)], env)
        if code != 0:
            if code != 130:
                print(f"{script} failed with exit code {code}", file=sys.stderr)
            return code
    if args.no_ui:
        return 0
    print("--- the dashboard: open the project \"lightning\" to compare its three runs (the best is starred)",
          flush=True)
    return run([sys.executable, "-m", "trackboard.cli", "ui", "--port", str(args.port)], env)


def run(command: list[str], env: dict) -> int:
    """Run ``command`` to its end; on Ctrl-C let it stop cleanly (it got the SIGINT too) and return 130.

    ``subprocess.call`` would kill the child on KeyboardInterrupt, before it could save its state.
    """
    child = subprocess.Popen(command, env=env)
    interrupted = forwarded = False
    while True:
        try:
            code = child.wait(timeout=5 if interrupted and not forwarded else None)
            break
        except KeyboardInterrupt:  # a terminal's Ctrl-C reaches the child too: let it stop by itself
            interrupted = True
        except subprocess.TimeoutExpired:  # only this process was signalled: pass it on
            forwarded = True
            child.send_signal(signal.SIGINT)
    return 130 if interrupted or code in (130, -signal.SIGINT) else code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # between two children
        sys.exit(130)
