"""The fault suite: scenarios that break one thing at a time under a running local stack and
count what came out (see docs/faults.md). `python -m flowgen_faults` runs them."""

from flowgen_faults.harness import CI, FULL, Counts, Services, Size
from flowgen_faults.scenarios import SCENARIOS

__all__ = ["CI", "FULL", "SCENARIOS", "Counts", "Services", "Size"]
