"""SnapStart's hooks (flowgen.snapstart): clients closed and forgotten before the snapshot,
`random` reseeded and the function's objects rebuilt after each restore, in Lambda's order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import snapshot_restore_py

from flowgen import snapstart, wiring
from flowgen.settings import ModelSettings, MongoSettings
from flowgen_local.in_process import PLACEHOLDER_API_ENVIRONMENT, load_function


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


def test_the_lesson_worker_registers_the_rebuild_of_its_generator(registries: tuple[list[Any], list[Any]]) -> None:
    at_init, after_restore = object(), object()
    wiring.reset()
    wiring.override(lesson_generator=at_init)
    module = load_function("lesson_worker", {**PLACEHOLDER_API_ENVIRONMENT, "POWERTOOLS_METRICS_DISABLED": "true"})
    assert module.generator is at_init
    wiring.override(lesson_generator=after_restore)  # what the rebuilt wiring now builds
    _run(list(reversed(snapshot_restore_py.get_before_snapshot())))
    _run(snapshot_restore_py.get_after_restore())
    assert module.generator is after_restore


def test_a_restored_store_does_not_create_its_indexes_again(
    registries: tuple[list[Any], list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot's init created them; a restore has 10 s for its hooks and a learner waiting."""
    import mongomock

    from flowgen.adapters import mongo_client, mongo_store

    created: list[object] = []
    monkeypatch.setattr(mongo_client, "connect", lambda uri, db: mongomock.MongoClient()[db])
    monkeypatch.setattr(mongo_store.MongoCourseStore, "ensure_indexes", lambda store: created.append(store))
    cfg = MongoSettings(mongo_uri="mongodb://db")
    snapshotted = wiring.store(cfg)
    wiring.close_clients()
    restored = wiring.store(cfg)
    assert restored is not snapshotted and created == [snapshotted]
    wiring.reset()  # a new container
    fresh = wiring.store(cfg)
    assert created == [snapshotted, fresh]


def test_secrets_are_read_afresh_after_a_restore(registries: tuple[list[Any], list[Any]]) -> None:
    """Powertools keeps the secrets it read, and the Secrets Manager client it read them with."""
    import aws_lambda_powertools.utilities.parameters  # noqa: F401 - loaded, as resolve_secret loads it
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    DEFAULT_PROVIDERS["secrets"] = object()  # what get_secret left at init
    wiring.close_clients()
    assert "secrets" not in DEFAULT_PROVIDERS
