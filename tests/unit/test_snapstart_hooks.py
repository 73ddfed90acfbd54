"""SnapStart's hooks (flowgen.snapstart): clients closed and forgotten before the snapshot,
`random` reseeded and the function's objects rebuilt after each restore, in Lambda's order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import snapshot_restore_py

from flowgen import snapstart, wiring
from flowgen.settings import ModelSettings


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[list[Any], list[Any]]]:
    """Empty hook registries for this test (the runtime's module is process-wide)."""
    before: list[Any] = []
    after: list[Any] = []
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", before)
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", after)
    yield before, after
    wiring.reset()


def _run(hooks: list[Any]) -> None:
    for function, args, kwargs in hooks:
        function(*args, **kwargs)


def test_before_the_snapshot_every_client_is_closed_and_the_next_build_is_a_new_one(
    registries: tuple[list[Any], list[Any]],
) -> None:
    before, _ = registries
    assert snapstart.rebuild_after_restore(lambda: None)
    cfg = ModelSettings(openai_api_key="test-key", openai_base_url="http://127.0.0.1:9/v1")
    snapshotted = wiring.model(cfg)
    assert wiring.model(cfg) is snapshotted  # one client per container, until the snapshot
    _run(list(reversed(snapshot_restore_py.get_before_snapshot())))
    assert snapshotted.client.is_closed()  # type: ignore[attr-defined]
    restored = wiring.model(cfg)
    assert restored is not snapshotted and not restored.client.is_closed()  # type: ignore[attr-defined]
    assert [hook for hook, _, _ in before] == [wiring.close_clients]


def test_after_a_restore_random_is_reseeded_then_the_function_rebuilds(
    registries: tuple[list[Any], list[Any]],
) -> None:
    order: list[str] = []
    snapstart.rebuild_after_restore(lambda: order.append(f"built after {random.random():.17f}"))  # noqa: S311
    random.seed(27)
    drawn_in_the_snapshot = random.random()  # noqa: S311
    random.seed(27)  # every restore resumes the snapshot's random state
    _run(snapshot_restore_py.get_after_restore())
    assert order and order[0] != f"built after {drawn_in_the_snapshot:.17f}"  # reseeded first, then built
    random.seed(27)
    _run(snapshot_restore_py.get_after_restore())
    assert order[1] != order[0]  # two restores of one snapshot draw differently


def test_an_override_survives_the_snapshot(registries: tuple[list[Any], list[Any]]) -> None:
    fake = object()
    wiring.override(model=fake)
    wiring.close_clients()
    assert wiring.model(None) is fake  # type: ignore[arg-type]
