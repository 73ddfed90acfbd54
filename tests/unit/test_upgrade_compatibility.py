"""What docs/deploy.md (Upgrades) promises when two versions run side by side during a deploy
(issue 21): jobs and stored records ignore fields they do not know and fill the ones they lack
from defaults, jobs refuse a missing required field, and request bodies stay strict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowgen.messages import CourseJob, LessonJob
from flowgen.records import Course
from flowgen.requests import CreateCourseRequest


def test_a_job_from_the_next_version_with_a_field_this_one_does_not_know_is_read() -> None:
    job = LessonJob.model_validate_json(
        '{"courseId": "c1", "lessonId": "m01-l01", "ownerId": "alice", "deferrals": 1, "addedLater": true}'
    )
    assert (job.course_id, job.lesson_id, job.owner_id, job.deferrals) == ("c1", "m01-l01", "alice", 1)


def test_a_job_from_the_previous_version_without_a_later_optional_field_is_read() -> None:
    job = CourseJob.model_validate_json('{"courseId": "c1", "ownerId": "alice"}')
    assert job.deferrals == 0
    lesson = LessonJob.model_validate_json('{"courseId": "c1", "lessonId": "m01-l01", "ownerId": "alice"}')
    assert lesson.question_id is None and lesson.deferrals == 0


def test_a_job_without_a_required_field_is_refused() -> None:
    with pytest.raises(ValidationError):
        LessonJob.model_validate_json('{"courseId": "c1", "ownerId": "alice"}')


def test_a_stored_record_written_by_another_version_is_read() -> None:
    """A newer version's field is ignored; an older version's document, without the fields added
    since (tier, version, attempts, ...), gets their defaults."""
    older = {
        "_id": "c1",
        "id": "c1",
        "ownerId": "alice",
        "prompt": "Rust ownership",
        "status": "READY",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    course = Course.model_validate({**older, "addedLater": {"nested": [1, 2]}})
    assert (course.id, course.owner_id, course.tier, course.version, course.attempts) == ("c1", "alice", "free", 1, 0)


def test_request_bodies_stay_strict_so_the_previous_web_app_must_not_send_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        CreateCourseRequest.model_validate({"prompt": "Rust ownership", "addedLater": True})
