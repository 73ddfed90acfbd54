"""Unit tests touch no network: every socket (even loopback) is refused (pytest-socket)."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


def pytest_runtest_setup(item: pytest.Item) -> None:
    disable_socket(allow_unix_socket=True)  # asyncio's self-pipe on some platforms
