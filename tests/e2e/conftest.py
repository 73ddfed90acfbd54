"""The web app's stack and a browser: `web_stack` is a running stack (tests.conftest's
`running_stack`) with video suggestions from a fake YouTube. One
Chromium per test session (per xdist worker); each test opens its own pages or context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from flowgen_local.fake_openai import FakeOpenAI
from flowgen_local.stack import WEB_DIST, LocalStack
from tests.conftest import SharedStack
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.youtube import FakeYouTube

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def web_stack(shared_stack: SharedStack, fake_model: FakeOpenAI, youtube: FakeYouTube) -> LocalStack:
    assert (WEB_DIST / "index.html").is_file(), "the web app is not built: run `make web` (make test does)"
    fake_model.faults.latency_seconds = 0.4  # slow enough to see every state
    youtube.status = 200
    return shared_stack(running=True, YOUTUBE_API_KEY="yt-test", YOUTUBE_BASE_URL=youtube.url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
