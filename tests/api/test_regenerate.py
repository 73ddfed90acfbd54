"""Regenerating a lesson through the api: what is refused (409) and what is invalid (400)."""

from __future__ import annotations

from typing import Any

from flowgen.requests import INSTRUCTION_MAX_CHARS
from flowgen_local.stack import ApiResponse
from tests.api.conftest import InProcessApi
from tests.helpers import User, lesson_ids


def _regenerate(user: User, course_id: str, lesson_id: str, body: dict[str, Any]) -> ApiResponse:
    return user.call("POST", f"/courses/{course_id}/lessons/{lesson_id}/regenerate", body)


def test_conflicts_are_409s_and_bad_instructions_400s(api: InProcessApi) -> None:
    alice, bob = User(api, "alice"), User(api, "bob")
    course = alice.ready_course()
    cid, ids = course["id"], lesson_ids(course)
    not_written = _regenerate(alice, cid, ids[-1], {"instruction": "simpler"})
    assert not_written.status == 409 and not_written.json()["error"]["code"] == "not_generated"

    alice.written_lesson(cid, ids[0])
    stale = _regenerate(alice, cid, ids[0], {"instruction": "simpler", "version": 7})
    assert stale.status == 409 and stale.json()["error"]["code"] == "version_conflict"
    assert _regenerate(alice, cid, ids[0], {"instruction": "simpler"}).status == 202
    twice = _regenerate(alice, cid, ids[0], {"instruction": "simpler still"})  # while it is written
    assert twice.status == 409 and twice.json()["error"]["code"] == "not_generated"
    switching = alice.call("PUT", f"/courses/{cid}/lessons/{ids[0]}/version", {"version": 1})
    assert switching.status == 409 and switching.json()["error"]["code"] == "being_written"
    api.drain("HighPriorityLessons")
    missing = alice.call("PUT", f"/courses/{cid}/lessons/{ids[0]}/version", {"version": 9})
    assert missing.status == 404 and missing.json()["error"]["code"] == "version_not_found"

    for body in ({"instruction": ""}, {"instruction": "   "}, {"instruction": "x" * (INSTRUCTION_MAX_CHARS + 1)}, {}):
        invalid = _regenerate(alice, cid, ids[0], body)
        assert invalid.status == 400, (body, invalid.body)
        assert invalid.json()["error"]["details"][0]["field"] == "instruction"
    assert _regenerate(alice, cid, ids[0], {"instruction": "x" * INSTRUCTION_MAX_CHARS}).status == 202
    api.drain("HighPriorityLessons")

    assert _regenerate(bob, cid, ids[0], {"instruction": "simpler"}).status == 404
    assert bob.call("PUT", f"/courses/{cid}/lessons/{ids[0]}/version", {"version": 1}).status == 404
