"""The one metrics object works in processes the template does not configure (issue 28: a
restart of `flowgen local` with more than 100 stranded jobs to re-send failed on the 100th)."""

import os
import subprocess
import sys

ADD_101_METRICS = """
from flowgen.observability import metrics
for _ in range(101):  # Powertools serialises the set when one metric reaches 100 values
    metrics.add_metric(name="LessonJobsLow", unit="Count", value=1)
print(metrics.provider.namespace)
"""


def test_a_process_without_the_templates_namespace_can_add_more_than_100_metrics() -> None:
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_METRICS_NAMESPACE"}
    done = subprocess.run([sys.executable, "-c", ADD_101_METRICS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "FlowGen"


def test_the_templates_namespace_wins_when_set() -> None:
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "Elsewhere"}
    done = subprocess.run([sys.executable, "-c", ADD_101_METRICS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Elsewhere"
