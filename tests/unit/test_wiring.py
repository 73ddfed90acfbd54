"""The wiring: cheap to import, every factory overridable, handlers parse settings at cold start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowgen import wiring
from flowgen.settings import ConfigurationError
from flowgen_local.in_process import load_function
from tests.fakes.ports import ScriptedModel

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("redis", "boto3", "openai", "pymongo", "jwt", "flowgen.adapters")


def test_importing_the_wiring_pulls_in_no_client_library() -> None:
    code = f"import sys, flowgen.wiring\nheavy = [m for m in {HEAVY!r} if m in sys.modules]\nassert not heavy, heavy\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_an_override_replaces_a_factory_until_reset() -> None:
    fake = ScriptedModel()
    wiring.override(model=fake)
    try:
        assert wiring.model(None) is fake  # type: ignore[arg-type]  # an override needs no settings
    finally:
        wiring.reset()
    with pytest.raises(ValueError, match="no factory"):
        wiring.override(modle=fake)


@pytest.mark.parametrize("function", ["api", "course_worker", "lesson_worker", "reconciler"])
def test_a_handler_fails_at_cold_start_naming_the_missing_variable(
    function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGO_URI", "mongodb://db")
    monkeypatch.setenv("REDIS_URL", "redis://r")
    for name in ("COURSE_QUEUE_URL", "LESSON_HIGH_QUEUE_URL", "LESSON_LOW_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    wiring.reset()
    with pytest.raises(ConfigurationError, match="COURSE_QUEUE_URL: Field required"):
        load_function(function, {})
    wiring.reset()
