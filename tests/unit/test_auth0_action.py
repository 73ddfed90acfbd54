"""The Auth0 tier Action (deploy/auth0/tier-action.js, issue 21), run in node as Auth0 runs a
Post Login Action: the claims it sets are what the authorizer reads (jwt_verifier.TIER_CLAIM)
and the tiers the api knows (settings.TIERS)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from flowgen.adapters.jwt_verifier import TIER_CLAIM, _tier
from flowgen.settings import TIERS
from flowgen_local.template import ROOT

ACTION = ROOT / "deploy" / "auth0" / "tier-action.js"
AUDIENCE = "https://api.acme.dev"

# One node process runs every case: the Action with a recording `api`, as Auth0 calls it.
RUNNER = """
const action = require(process.argv[1]);
const cases = JSON.parse(process.argv[2]);
(async () => {
  const out = [];
  for (const event of cases) {
    const claims = {};
    const api = { accessToken: { setCustomClaim: (name, value) => { claims[name] = value; } } };
    await action.onExecutePostLogin(event, api);
    out.push(claims);
  }
  console.log(JSON.stringify({ claim: action.TIER_CLAIM, tiers: action.TIERS, claims: out }));
})();
"""


def login(tier: Any = None, *, audience: str | None = AUDIENCE, secret: str | None = AUDIENCE) -> dict[str, Any]:
    app_metadata = {} if tier is None else {"flowgen_tier": tier}
    return {
        "user": {"user_id": "auth0|alice", "app_metadata": app_metadata, "user_metadata": {"flowgen_tier": "pro"}},
        "resource_server": {"identifier": audience} if audience else None,
        "secrets": {"FLOWGEN_AUDIENCE": secret} if secret else {},
    }


CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("pro in app_metadata", login("pro"), "pro"),
    ("free in app_metadata", login("free"), "free"),
    ("written in capitals", login("PRO"), "pro"),
    ("a tier the api does not know", login("gold"), None),
    ("not a string", login(1), None),
    ("no tier: user_metadata (which users edit) is never read", login(), None),
    ("a token for another API", login("pro", audience="https://other.example"), None),
    ("an ID token only (no resource server)", login("pro", audience=None), None),
    ("no FLOWGEN_AUDIENCE secret: every token", login("pro", audience="https://other.example", secret=None), "pro"),
]


@pytest.fixture(scope="module")
def ran() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (make test installs it for the web app)")
    done = subprocess.run(
        [node, "-e", RUNNER, str(ACTION), json.dumps([event for _, event, _ in CASES])],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def test_the_action_names_the_claim_and_tiers_the_stack_reads(ran: dict[str, Any]) -> None:
    assert ran["claim"] == TIER_CLAIM
    assert tuple(ran["tiers"]) == TIERS


@pytest.mark.parametrize(
    ("index", "expected"), [(i, want) for i, (_, _, want) in enumerate(CASES)], ids=[c[0] for c in CASES]
)
def test_the_tier_claim_set_on_each_login(ran: dict[str, Any], index: int, expected: str | None) -> None:
    claims = ran["claims"][index]
    assert claims == ({TIER_CLAIM: expected} if expected else {})
    assert _tier(claims) == (expected or "")  # what the authorizer then takes from the token
