"""Unit tests touch no network: every socket (even loopback) is refused (pytest-socket)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket

from flowgen.observability import metrics
from flowgen.tracing import tracer  # noqa: F401 - the X-Ray SDK opens its UDP socket on import: before sockets close


def pytest_runtest_setup(item: pytest.Item) -> None:
    disable_socket(allow_unix_socket=True)  # asyncio's self-pipe on some platforms


@pytest.fixture(autouse=True)
def _no_metrics_carried_over() -> Iterator[None]:
    """Handlers flush metrics per invocation; use cases called directly do not, and Powertools
    flushes by itself at 100 (failing without a namespace), so each test starts with none."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
