"""Tiers: a user's tier comes from the token's namespaced claim (https://flowgen.dev/tier, set by
an Auth0 Action), with DefaultTier for a token without it; the tier sets the per-user limits and
budgets (template parameters per tier). One user's tier never changes another's limits."""

from __future__ import annotations

from flowgen.adapters.jwt_verifier import TIER_CLAIM
from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import LocalStack
from tests.conftest import SharedStack
from tests.helpers import User


def _user(stack: LocalStack, sub: str, tier: str | None = None) -> User:
    user = User(stack, sub)
    if tier is not None:
        user.token = stack.token(sub, **{TIER_CLAIM: tier})
    return user


def test_a_tier_sets_its_users_limits(shared_stack: SharedStack, fake_model: FakeOpenAI) -> None:
    parameters = {"UserRequestsPerMinute": "3", "ProRequestsPerMinute": "50", "ProCoursesPerHour": "5"}
    stack = shared_stack(parameters)
    free, pro, unknown = _user(stack, "fran"), _user(stack, "priya", "pro"), _user(stack, "gus", "gold")
    assert [free.call("GET", "/courses").status for _ in range(4)] == [200, 200, 200, 429]
    assert [unknown.call("GET", "/courses").status for _ in range(4)] == [200, 200, 200, 429]  # default tier
    answers = [pro.call("GET", "/courses") for _ in range(10)]
    assert {a.status for a in answers} == {200}
    assert answers[0].headers["ratelimit-policy"].startswith('"requests";q=50;w=60')
    created = pro.call("POST", "/courses", {"prompt": "Tiers in practice"})
    assert created.status == 202
    assert '"courses-hour";q=5;w=3600' in created.headers["ratelimit-policy"]


def test_the_default_tier_is_a_parameter(shared_stack: SharedStack) -> None:
    stack = shared_stack({"DefaultTier": "pro", "UserRequestsPerMinute": "2", "ProRequestsPerMinute": "9"})
    no_claim = _user(stack, "nadia")
    assert no_claim.call("GET", "/courses").headers["ratelimit-policy"] == '"requests";q=9;w=60'
    assert _user(stack, "fred", "free").call("GET", "/courses").headers["ratelimit-policy"] == '"requests";q=2;w=60'
