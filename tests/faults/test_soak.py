"""The soak's bounded part (issue 28; `make soak` runs it for 20 minutes): `flowgen local` under
steady traffic with model faults, then `kill -9` and a restart on its data. Nothing stalls,
nothing answers 5xx, every requested lesson ends GENERATED or FAILED, and every write the stack
acknowledged is there after the restart."""

from __future__ import annotations

import pytest

from flowgen_faults.soak import run_soak

pytestmark = [pytest.mark.e2e, pytest.mark.system]


def test_a_short_soak_then_kill_9_loses_no_acknowledged_write() -> None:
    report = run_soak(0.25, users=2, fault_rate=0.1)
    print(f"\n{report.render()}")
    assert report.courses >= 2 and report.lessons_requested >= 2 and report.acknowledged_writes >= 4
    assert report.stalls == 0, report.slow
    assert not [status for status in report.by_status if status.startswith("5")], report.by_status
    assert report.not_terminal == 0
    assert report.lost_acknowledged_writes == 0, report.lost
