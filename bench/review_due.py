"""The due-cards query at scale (issue 23): one learner with N cards, `GET /reviews/due`'s two
store calls (the page of due cards and the count) through MongoReviewStore.

    .venv/bin/python bench/review_due.py [cards] [queries]        # default 10000 cards, 50 queries
    MONGO_URI=mongodb://... .venv/bin/python bench/review_due.py  # a real MongoDB: with explain

Prints, for 100 and for N cards (a quarter of them due), the median and p95 time of a page of 20
due cards and of the count, and their ratio to the 100-card baseline of the same run. Against a
real MongoDB (MONGO_URI) it also prints the query plan's keys and documents examined (explain):
the (ownerId, due) index makes both equal to what is returned whatever N. Without MONGO_URI it
runs on the MongoDB stand-in, which has no range index (it scans, as mongomock does): its ratio
is the cost of a scan and says nothing of MongoDB; the in-memory fake's indexed walk (the one the
10,000-card test counts) is timed beside it."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo

from flowgen.adapters.mongo_reviews import DUE_ORDER, MongoReviewStore, _doc, due_filter
from flowgen.cards import new_card
from flowgen.content import Flashcard
from flowgen.ports import ReviewStore
from flowgen_stand_in.launcher import MongoStandIn
from tests.fakes.reviews import MemoryReviewStore

T0 = datetime(2026, 12, 1, tzinfo=UTC)
COURSE = "c" * 32


def _lesson(n: int) -> str:
    return f"m{n // 990 + 1:02d}-l{n // 10 % 99 + 1:02d}"


def fill(store: ReviewStore, owner: str, count: int) -> datetime:
    """`count` cards, one a minute from T0, in lessons of 10; returns a `now` with a quarter due.
    MongoDB gets them in one insert_many (the fill is not what is measured), the fake by lesson."""
    cards = [
        new_card(owner, COURSE, _lesson(n), Flashcard(front=f"q{n}", back="a", block=0), T0 + timedelta(minutes=n))
        for n in range(count)
    ]  # fmt: skip
    if isinstance(store, MongoReviewStore):
        store.cards.insert_many([_doc(card) for card in cards])
    else:
        for start in range(0, count, 10):
            batch = cards[start : start + 10]
            store.sync_lesson(owner, COURSE, batch[0].lesson_id, batch)
    return T0 + timedelta(minutes=count // 4)


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(name: str, store: ReviewStore, count: int, runs: int, explain: Any = None) -> tuple[float, float]:
    owner = f"bench-{name}-{count}"
    now = fill(store, owner, count)
    page, page95 = timed(lambda: store.due(owner, now, 20), runs)
    total, total95 = timed(lambda: store.count_due(owner, now), runs)
    line = f"{name:10} {count:6} cards: page of 20 {page:7.2f} ms (p95 {page95:7.2f}), "
    line += f"count {total:7.2f} ms (p95 {total95:7.2f})"
    if explain is not None:
        stats = explain(owner, now)
        line += f"; explain: {stats['totalKeysExamined']} keys, {stats['totalDocsExamined']} documents examined, "
        line += f"{stats['nReturned']} returned"
    print(line, flush=True)
    return page, total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    uri = os.environ.get("MONGO_URI")
    standin = None if uri else MongoStandIn().start()
    try:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri or standin.uri, tz_aware=True)  # type: ignore[union-attr]
        db = client["flowgen_bench_reviews"]
        db.drop_collection("cards")
        mongo = MongoReviewStore(db)
        mongo.ensure_indexes()

        def explain(owner: str, now: datetime) -> dict[str, Any]:
            plan = db.command(
                "explain",
                {"find": "cards", "filter": due_filter(owner, now, None), "sort": dict(DUE_ORDER), "limit": 20},
                verbosity="executionStats",
            )
            stats: dict[str, Any] = plan["executionStats"]
            return stats

        label = "mongodb" if uri else "stand-in"
        base = measure(label, mongo, 100, runs, explain if uri else None)
        big = measure(label, mongo, count, runs, explain if uri else None)
        print(f"{label}: {count} cards / 100 cards: page x{big[0] / base[0]:.1f}, count x{big[1] / base[1]:.1f}")
        memory = MemoryReviewStore()
        base = measure("memory", memory, 100, runs)
        big = measure("memory", memory, count, runs)
        print(
            f"memory (indexed walk): {count} cards / 100 cards: "
            f"page x{big[0] / base[0]:.1f}, count x{big[1] / base[1]:.1f}"
        )
        db.drop_collection("cards")
    finally:
        if standin is not None:
            standin.stop()


if __name__ == "__main__":
    main()
