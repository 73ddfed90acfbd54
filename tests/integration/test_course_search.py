"""Search in a course (issue 26) through the real api handler, the local stack's MongoDB stand-in
and the real store adapter: a written lesson is found by a word of its text, with a snippet whose
offsets point at the word; an unwritten lesson is not; another user's course is a 404; a bad query
a 400 in the error envelope; every status it answered is one the OpenAPI document lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from flowgen_local.stack import LocalStack
from tests.helpers import User, lesson_ids

pytestmark = pytest.mark.usefixtures("every_status_documented")  # each answer's status is in the document


def _search(user: User, course_id: str, q: str) -> Any:
    return user.call("GET", f"/courses/{course_id}/search", query=f"q={quote(q)}")


def _a_word_of(lesson: dict[str, Any]) -> str:
    text = str(next(b["markdown"] for b in lesson["content"]["blocks"] if b["type"] == "markdown"))
    words: list[str] = re.findall(r"[A-Za-z]{6,}", text)
    return max(words, key=len)


def test_written_lessons_are_found_by_their_words_and_only_by_their_owner(stack: LocalStack) -> None:
    alice, bob = User(stack, "alice-search"), User(stack, "bob-search")
    course = alice.ready_course("Rust ownership for C++ programmers", size="short")
    ids = lesson_ids(course)
    written = alice.written_lesson(course["id"], ids[0])
    word = _a_word_of(written)

    response = _search(alice, course["id"], word.upper())  # case does not matter
    assert response.status == 200, response.body
    found = response.json()
    assert found["query"] == word.upper()
    assert [r["lessonId"] for r in found["results"]] == [ids[0]]  # the others are not written yet
    result = found["results"][0]
    assert result["lessonTitle"] == written["title"]
    assert result["moduleTitle"] == course["modules"][0]["title"]
    assert result["matchCount"] >= 1
    first = result["matches"][0]
    assert result["snippet"][first["start"] : first["end"]].casefold() == word.casefold()

    assert _search(alice, course["id"], "zyxwvutsrq").json()["results"] == []
    not_yours = _search(bob, course["id"], word)
    assert not_yours.status == 404 and not_yours.json()["error"]["code"] == "course_not_found"
    assert _search(alice, "0" * 32, word).status == 404
    for bad in ("", "   ", "x" * 101):
        refused = _search(alice, course["id"], bad)
        assert refused.status == 400, (bad, refused.body)
        assert refused.json()["error"]["code"] in {"invalid_request", "invalid_query"}
    missing = alice.call("GET", f"/courses/{course['id']}/search")
    assert missing.status == 400 and missing.json()["error"]["code"] == "invalid_request"
