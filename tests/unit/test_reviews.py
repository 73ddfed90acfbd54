"""Spaced review (issue 23): stable card ids, the ReviewStore contract (the in-memory fake and the
MongoDB adapter held to the same behaviour), FSRS through the `fsrs` package, idempotent and
owner-scoped reviews, a rewrite keeping the history of the cards it keeps, mastery, the Anki CSV,
and the due query at 10,000 cards."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler

from flowgen.adapters.mongo_reviews import COURSE_DUE_INDEX, DUE_INDEX, DUE_ORDER, MongoReviewStore, due_filter
from flowgen.cards import CardState, ReviewCard, ReviewRating, card_id, new_card
from flowgen.clock import utcnow
from flowgen.content import Flashcard
from flowgen.errors import IdempotencyKeyReused, NotFound
from flowgen.generation import Outcome
from flowgen.ports import ReviewStore
from flowgen.requests import RegenerateLessonRequest
from flowgen.reviews import ReviewService
from tests.fakes.mongomock_db import mongomock_database
from tests.fakes.reviews import MemoryReviewStore
from tests.fakes.world import FIRST, World, ids_of, job_for
from tests.narrow import present

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=utcnow().tzinfo)
C1, C2 = "a" * 32, "b" * 32


def _mongo() -> MongoReviewStore:
    store = MongoReviewStore(mongomock_database())
    store.ensure_indexes()
    return store


@pytest.fixture(params=["memory", "mongo"])
def cards(request: pytest.FixtureRequest) -> ReviewStore:
    return MemoryReviewStore() if request.param == "memory" else _mongo()


def _card(
    front: str, *, owner: str = "alice", course: str = C1, lesson: str = "m01-l01", at: datetime = T0
) -> ReviewCard:
    return new_card(owner, course, lesson, Flashcard(front=front, back=f"{front} back", block=0), at)


# ---- stable ids -----------------------------------------------------------------------------------


def test_a_cards_id_follows_its_front_as_read_not_as_typed() -> None:
    same = card_id("alice", C1, "m01-l01", "What is  a borrow?")
    assert (
        same
        == card_id("alice", C1, "m01-l01", "what is a borrow")
        == card_id("alice", C1, "m01-l01", " WHAT IS A BORROW ?\n")
    )
    assert (
        same
        != card_id("alice", C1, "m01-l02", "What is a borrow?")
        != card_id("alice", C2, "m01-l01", "What is a borrow?")
    )
    assert (
        same != card_id("alice", C1, "m01-l01", "What is a move?") != card_id("bob", C1, "m01-l01", "What is a borrow?")
    )


# ---- the store's contract: the fake and MongoDB ---------------------------------------------------


def test_due_cards_are_the_owners_oldest_due_first_with_the_count(cards: ReviewStore) -> None:
    for n in range(5):
        cards.sync_lesson(
            "alice", C1, f"m01-l0{n + 1}", [_card(f"q{n}", lesson=f"m01-l0{n + 1}", at=T0 + timedelta(minutes=5 - n))]
        )
    cards.sync_lesson("alice", C2, "m01-l01", [_card("other course", course=C2, at=T0 - timedelta(days=1))])
    cards.sync_lesson("bob", C1, "m01-l01", [_card("bob's", owner="bob", at=T0 - timedelta(days=2))])
    now = T0 + timedelta(minutes=3)
    due = cards.due("alice", now, 10)
    assert [c.front for c in due] == ["other course", "q4", "q3", "q2"]  # q1, q0 not yet due; never bob's
    assert cards.count_due("alice", now) == 4 and cards.count_due("alice", now, C1) == 3
    assert [c.front for c in cards.due("alice", now, 2)] == ["other course", "q4"]
    assert [c.front for c in cards.due("alice", now, 10, C1)] == ["q4", "q3", "q2"]
    assert cards.get("bob", due[0].id) is None and present(cards.get("alice", due[0].id)).front == "other course"


def test_a_sync_keeps_the_state_of_the_cards_it_keeps_and_retires_the_others(cards: ReviewStore) -> None:
    kept, dropped = _card("kept"), _card("dropped")
    cards.sync_lesson("alice", C1, "m01-l01", [kept, dropped])
    later = kept.model_copy(update={"reps": 1, "due": T0 + timedelta(days=3)})
    later.fsrs["due"] = (T0 + timedelta(days=3)).isoformat()
    assert cards.apply_review(kept, later)
    rewritten = _card(" KEPT", at=T0 + timedelta(hours=1)).model_copy(update={"back": "new back"})
    cards.sync_lesson("alice", C1, "m01-l01", [rewritten, _card("new", at=T0 + timedelta(hours=1))])
    stored = {c.front.strip().lower(): c for c in cards.list_course("alice", C1)}
    assert (
        stored["kept"].reps == 1 and stored["kept"].due == T0 + timedelta(days=3) and stored["kept"].back == "new back"
    )
    assert stored["dropped"].retired and stored["dropped"].due is None
    assert [c.front for c in cards.due("alice", T0 + timedelta(days=30), 10)] == ["new", " KEPT"]
    cards.sync_lesson("alice", C1, "m01-l01", [_card("dropped"), rewritten])  # back again: its state with it
    back = present(cards.get("alice", dropped.id))
    assert not back.retired and back.due == T0 and back.created_at == T0


def test_a_review_applies_only_to_the_state_it_was_computed_from(cards: ReviewStore) -> None:
    card = _card("q")
    cards.sync_lesson("alice", C1, "m01-l01", [card])
    first = card.model_copy(update={"reps": 1})
    assert cards.apply_review(card, first)
    assert not cards.apply_review(card, card.model_copy(update={"reps": 1}))  # a stale review
    assert not cards.apply_review(card.model_copy(update={"owner_id": "bob"}), first)


def test_the_log_keeps_one_entry_per_idempotency_key_and_goes_with_the_course(cards: ReviewStore) -> None:
    from flowgen.cards import ReviewEntry

    card = _card("q")
    cards.sync_lesson("alice", C1, "m01-l01", [card])
    entry = ReviewEntry(
        owner_id="alice", card_id=card.id, course_id=C1, idempotency_key="k1", rating=ReviewRating.GOOD,
        reviewed_at=T0, reps=1, due=T0,
    )  # fmt: skip
    cards.log_review(entry)
    cards.log_review(entry.model_copy(update={"rating": ReviewRating.EASY}))  # the same key: ignored
    assert present(cards.find_review("alice", "k1")).rating == ReviewRating.GOOD
    assert cards.find_review("bob", "k1") is None and len(cards.history("alice", card.id)) == 1
    cards.delete_course("bob", C1)
    assert cards.get("alice", card.id) is not None
    cards.delete_course("alice", C1, ["m01-l02"])
    assert cards.get("alice", card.id) is not None
    cards.delete_course("alice", C1)
    assert cards.get("alice", card.id) is None and cards.history("alice", card.id) == []
    assert cards.count_due("alice", T0 + timedelta(days=1)) == 0


# ---- FSRS, idempotency and ownership through the service -----------------------------------------


def _written(world: World) -> tuple[str, str, ReviewService]:
    course = world.ready_course()
    target = ids_of(course)[0]
    assert world.generator.write_lesson(job_for(course, target), FIRST) == Outcome.DONE
    return course.id, target, ReviewService(world.store, world.generator.cards)  # type: ignore[arg-type]


@pytest.fixture
def world() -> World:
    world = World()
    world.generator = replace(world.generator, cards=MemoryReviewStore())
    return world


def test_a_written_lesson_brings_its_cards_due_now(world: World) -> None:
    course_id, lesson_id, reviews = _written(world)
    due = reviews.due("alice", utcnow(), 100)
    assert 3 <= due.due == len(due.cards) <= 8
    assert {c.lesson_id for c in due.cards} == {lesson_id} and {c.state for c in due.cards} == {CardState.NEW}
    assert reviews.due("bob", utcnow(), 100).due == 0
    with pytest.raises(NotFound):
        reviews.due("bob", utcnow(), 10, course_id)  # someone else's course is a 404


def test_due_times_are_what_fsrs_computes_for_the_same_history(world: World) -> None:
    _, _, reviews = _written(world)
    card = reviews.due("alice", utcnow(), 1).cards[0]
    history = [
        (ReviewRating.GOOD, Rating.Good, 0),
        (ReviewRating.GOOD, Rating.Good, 15),
        (ReviewRating.AGAIN, Rating.Again, 60 * 24 * 3),
        (ReviewRating.EASY, Rating.Easy, 60 * 24 * 4),
    ]
    expected = Card(card_id=1, due=T0)
    scheduler = Scheduler(enable_fuzzing=False)
    for rating, fsrs_rating, minutes in history:
        at = T0 + timedelta(minutes=minutes)
        after = reviews.review("alice", card.id, rating, at)
        expected, _ = scheduler.review_card(expected, fsrs_rating, review_datetime=at)
        assert after.fsrs_due == expected.due and after.fsrs["stability"] == pytest.approx(expected.stability)
    first_at = T0
    assert reviews.cards.history("alice", card.id)[0].due == first_at + timedelta(minutes=10)  # FSRS's learning step


def test_the_first_review_of_a_new_card_follows_the_learning_steps(world: World) -> None:
    _, _, reviews = _written(world)
    ids = [c.id for c in reviews.due("alice", utcnow(), 4).cards]
    again = reviews.review("alice", ids[0], ReviewRating.AGAIN, T0)
    good = reviews.review("alice", ids[1], ReviewRating.GOOD, T0)
    easy = reviews.review("alice", ids[2], ReviewRating.EASY, T0)
    assert again.fsrs_due == T0 + timedelta(minutes=1) and good.fsrs_due == T0 + timedelta(minutes=10)
    assert easy.state == CardState.REVIEW and easy.fsrs_due >= T0 + timedelta(days=1)  # learned at once
    assert again.state == good.state == CardState.LEARNING


def test_a_retried_review_with_its_key_reviews_once(world: World) -> None:
    _, _, reviews = _written(world)
    card_id_ = reviews.due("alice", utcnow(), 1).cards[0].id
    first = reviews.review("alice", card_id_, ReviewRating.GOOD, T0, "key-1")
    again = reviews.review("alice", card_id_, ReviewRating.GOOD, T0 + timedelta(seconds=5), "key-1")
    assert again.reps == first.reps == 1 and again.fsrs_due == first.fsrs_due
    assert len(reviews.cards.history("alice", card_id_)) == 1
    with pytest.raises(IdempotencyKeyReused):
        reviews.review("alice", card_id_, ReviewRating.EASY, T0, "key-1")
    assert reviews.review("alice", card_id_, ReviewRating.GOOD, T0 + timedelta(minutes=11), "key-2").reps == 2


def test_a_review_whose_log_entry_was_lost_is_still_recognised_by_its_key(world: World) -> None:
    _, _, reviews = _written(world)
    card_id_ = reviews.due("alice", utcnow(), 1).cards[0].id
    store = reviews.cards
    assert isinstance(store, MemoryReviewStore)
    store.log_review = lambda entry: None  # type: ignore[method-assign]  # the crash: the card written, not the log
    reviews.review("alice", card_id_, ReviewRating.GOOD, T0, "key-1")
    del store.log_review
    assert reviews.review("alice", card_id_, ReviewRating.GOOD, T0 + timedelta(seconds=5), "key-1").reps == 1
    assert len(store.history("alice", card_id_)) == 1  # logged by the retry


def test_another_learners_card_is_a_404_like_an_unknown_one(world: World) -> None:
    _, _, reviews = _written(world)
    card_id_ = reviews.due("alice", utcnow(), 1).cards[0].id
    for owner, cid in (("bob", card_id_), ("alice", "f" * 24)):
        with pytest.raises(NotFound) as missing:
            reviews.review(owner, cid, ReviewRating.GOOD, T0)
        assert missing.value.code == "card_not_found"
    assert present(reviews.cards.get("alice", card_id_)).reps == 0


def test_a_rewritten_lesson_keeps_the_history_of_the_cards_it_keeps(world: World) -> None:
    course_id, lesson_id, reviews = _written(world)
    before = {c.front: c for c in reviews.due("alice", utcnow(), 100).cards}
    for card in before.values():
        reviews.review("alice", card.id, ReviewRating.EASY, T0)
    request = RegenerateLessonRequest(instruction="use a different example")
    world.service.regenerate_lesson("alice", course_id, lesson_id, request, utcnow())
    assert (
        world.generator.write_lesson(job_for(world.service.get_course("alice", course_id), lesson_id), FIRST)
        == Outcome.DONE
    )
    after = {c.front: c for c in reviews.cards.list_course("alice", course_id)}
    kept = [front for front in before if not after[front].retired]
    assert len(kept) == len(before) - 1  # the offline rewrite drops the goal card, keeps the quiz cards
    assert all(after[front].reps == 1 and after[front].id == before[front].id for front in kept)
    new = [c for c in after.values() if c.front not in before]
    assert len(new) == 1 and new[0].reps == 0
    with pytest.raises(NotFound):  # a retired card is not reviewed
        reviews.review("alice", next(c.id for c in after.values() if c.retired), ReviewRating.GOOD, T0)


def test_mastery_counts_learned_cards_and_the_next_review_per_lesson_and_course(world: World) -> None:
    course_id, lesson_id, reviews = _written(world)
    now = utcnow()
    ids = [c.id for c in reviews.due("alice", now, 100).cards]
    reviews.review("alice", ids[0], ReviewRating.EASY, now)  # learned at once: due in days
    reviews.review("alice", ids[1], ReviewRating.GOOD, now)  # learning: due in 10 minutes
    course = present(world.store.get_course("alice", course_id))
    mastery = reviews.mastery(course, now + timedelta(minutes=1))
    assert [entry.lesson_id for entry in mastery.lessons] == [lesson_id]
    assert (mastery.cards, mastery.learned, mastery.due) == (len(ids), 1, len(ids) - 2)
    assert mastery.next_due_at is not None and mastery.next_due_at <= now  # the cards never reviewed
    for card_id_ in ids[2:]:
        reviews.review("alice", card_id_, ReviewRating.GOOD, now)
    later = reviews.mastery(course, now + timedelta(minutes=1))
    assert later.due == 0 and later.next_due_at == now + timedelta(minutes=10)
    assert later.lessons[0].next_due_at == later.next_due_at


def test_a_course_without_synced_cards_gets_them_from_its_written_lessons(world: World) -> None:
    course_id, _, reviews = _written(world)
    lost = ReviewService(world.store, MemoryReviewStore())  # as if the worker's sync had failed
    assert lost.due("alice", utcnow(), 100, course_id).due == reviews.due("alice", utcnow(), 100).due > 0


def test_the_anki_csv_has_a_row_per_live_card_with_its_tags(world: World) -> None:
    course_id, lesson_id, reviews = _written(world)
    text = reviews.export_csv("alice", course_id, utcnow())
    headers = [line for line in text.splitlines() if line.startswith("#")]
    assert headers == ["#separator:comma", "#html:false", "#columns:front,back,tags", "#tags column:3"]
    rows = list(csv.reader(io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#")))))
    live = reviews.cards.list_course("alice", course_id)
    assert [(r[0], r[1]) for r in rows] == [(c.front, c.back) for c in live]
    assert all(r[2].split()[1].endswith(f"::{lesson_id}") and " " not in r[2].split()[0] for r in rows)
    with pytest.raises(NotFound):
        reviews.export_csv("bob", course_id, utcnow())


# ---- at scale -------------------------------------------------------------------------------------


def test_10000_cards_the_due_query_examines_only_what_it_returns() -> None:
    store = MemoryReviewStore()
    for lesson in range(1000):
        lesson_id = f"m{lesson // 10 + 1:02d}-l{lesson % 10 + 1:02d}"
        batch = [
            _card(f"q{lesson}-{n}", lesson=lesson_id, at=T0 + timedelta(minutes=lesson * 10 + n)) for n in range(10)
        ]
        store.sync_lesson("alice", C1, lesson_id, batch)
    assert len(store.cards) == 10_000
    now = T0 + timedelta(minutes=2_500)  # 2,501 due
    found = store.due("alice", now, 50)
    assert len(found) == 50 and store.examined == 50
    assert [c.fsrs_due for c in found] == sorted(c.fsrs_due for c in found) and found[0].due == T0
    assert store.count_due("alice", now) == 2_501 and store.examined == 50  # counted from the keys alone
    assert len(store.due("alice", T0 - timedelta(seconds=1), 50)) == 0 and store.examined == 50


def test_the_mongo_due_query_is_an_index_prefix_and_range_in_index_order() -> None:
    """What makes MongoDB examine only what it returns (an IXSCAN with no in-memory sort or
    filter): equality on a prefix of the index, a range on the next key, the sort its order."""
    for course_id, index in ((None, DUE_INDEX), (C1, COURSE_DUE_INDEX)):
        query = due_filter("alice", T0, course_id)
        keys = [name for name, _ in index]
        assert list(query) == keys[: len(query)] and set(query["due"]) == {"$lte"}
        assert index[len(query) - 1 :] == DUE_ORDER
