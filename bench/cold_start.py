"""Cold-start import cost of each handler module, as a ratio to importing boto3 (which every
Lambda pays anyway), measured in fresh interpreters in this run. Median of N runs.

    .venv/bin/python bench/cold_start.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ["api", "authorizer", "course_worker", "lesson_worker", "reconciler"]

TIMER = """
import time, importlib.util, sys
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""
LOAD = """spec = importlib.util.spec_from_file_location("handler", {path!r})
m = importlib.util.module_from_spec(spec); sys.modules["handler"] = m; spec.loader.exec_module(m)"""


def measure(body: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(body=body)], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    baseline = measure("import boto3", runs)
    print(f"baseline: import boto3 = {baseline * 1000:.0f} ms (median of {runs})")
    for name in FUNCTIONS:
        seconds = measure(LOAD.format(path=str(ROOT / "functions" / name / "app.py")), runs)
        print(f"{name:<14} {seconds * 1000:6.0f} ms  = {seconds / baseline:4.1f}x boto3")


if __name__ == "__main__":
    main()
