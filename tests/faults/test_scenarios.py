"""The fault suite's bounded part (`make faults` runs every scenario at full size): a few
scenarios at the CI size, each on a running stack of its own over the session's services.

Each must end with every requested lesson GENERATED, or FAILED with a reason and brought back
by a retry; none unchanged for longer than the bound (visibility + one attempt + a reconciler
period); no lesson or outline paid for twice; no course lost or duplicated."""

from __future__ import annotations

import pytest

from flowgen_faults import CI, SCENARIOS, Services
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.lambda_pool import LambdaHost
from flowgen_local.services import AwsServer

pytestmark = [pytest.mark.e2e, pytest.mark.system]

# Deterministic ones: the Redis scenarios fail now and then on the defects pinned in
# test_domain_faults.py (xfail), so they run in `make faults`, not here.
CI_SCENARIOS = ["model-500", "duplicates", "stranded", "worker-timeout"]


@pytest.fixture
def services(
    redis_url: str, aws: AwsServer, mongo_server: str, lambda_host: LambdaHost, fake_model_server: FakeOpenAI
) -> Services:
    return Services(redis_url, aws, mongo_server, lambda_host, fake_model_server)


@pytest.mark.parametrize("name", CI_SCENARIOS)
def test_scenario(name: str, services: Services) -> None:
    counts = SCENARIOS[name](services, CI)
    print(f"\n{counts.HEADER}\n{counts.line()}")
    assert counts.ok, f"{counts.line()}\n{counts.notes}\n{counts.problems}"
    assert counts.requested >= 3
